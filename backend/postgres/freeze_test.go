package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/record"
)

// frozenDSN returns the DSN of the cluster that freeze stops, with a table
// of the test's own (dropped when the test ends). Only the second cluster
// of scripts/services/postgres.sh is frozen, never the one of dsnEnv,
// which the tests of other packages use meanwhile.
func frozenDSN(t *testing.T) string {
	t.Helper()
	serverDSN(t)
	dsn := os.Getenv(restartDSNEnv)
	if dsn == "" {
		t.Skipf("set %s to a PostgreSQL cluster of its own that the test may freeze (scripts/services/postgres.sh exports it)", restartDSNEnv)
	}
	table := uniqueName("t_")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `drop table if exists `+pgx.Identifier{table}.Sanitize()+`, `+pgx.Identifier{table + "_series"}.Sanitize()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_, _ = conn.Exec(ctx, `delete from record_migrations where table_name = $1`, table)
	})
	return withOptions(dsn, "x-table="+table)
}

// dataDirFlag finds the data directory in the restart command of
// scripts/services/postgres.sh (pg_ctl -D DIR ...).
var dataDirFlag = regexp.MustCompile(`-D\s+(\S+)`)

// freeze stops the cluster of RECORD_TEST_POSTGRES_RESTART_DSN with
// SIGSTOP: its postmaster (the first line of DATADIR/postmaster.pid), then
// the postmaster's children (pgrep -P), found by process id, never by
// name. The server then accepts TCP connections (the kernel does) but
// answers nothing, like a hung host. thaw sends SIGCONT to all of them;
// it runs at the latest when the test ends, and may be called again.
func freeze(t *testing.T) (thaw func()) {
	t.Helper()
	dsn := os.Getenv(restartDSNEnv)
	if dsn == "" {
		t.Fatalf("freeze: %s is not set", restartDSNEnv)
	}
	var dir string
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		err = conn.QueryRow(ctx, `show data_directory`).Scan(&dir)
		conn.Close(ctx)
		if err != nil {
			t.Logf("freeze: show data_directory: %v", err)
		}
	}
	if dir == "" {
		m := dataDirFlag.FindStringSubmatch(os.Getenv(restartEnv))
		if m == nil {
			t.Fatalf("freeze: cannot find the data directory of %s", restartDSNEnv)
		}
		dir = m[1]
	}
	data, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatalf("freeze: %v", err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || postmaster <= 1 {
		t.Fatalf("freeze: %s/postmaster.pid: bad pid %q", dir, first)
	}
	var (
		mu     sync.Mutex
		frozen = []int{postmaster}
		done   bool
	)
	// The postmaster first: stopped, it forks no new child.
	if err := syscall.Kill(postmaster, syscall.SIGSTOP); err != nil {
		t.Fatalf("freeze: SIGSTOP postmaster %d: %v", postmaster, err)
	}
	thaw = func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		done = true
		for _, pid := range frozen {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		// Children listed now too, should one have escaped the list.
		for _, pid := range children(t, postmaster) {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)
	kids := children(t, postmaster)
	mu.Lock()
	defer mu.Unlock()
	for _, pid := range kids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			frozen = append(frozen, pid)
		}
	}
	// A watchdog in a session of its own thaws the server should this
	// process die first (a test timeout runs no Cleanup); thaw ends it.
	ids := make([]string, len(frozen))
	for i, pid := range frozen {
		ids[i] = strconv.Itoa(pid)
	}
	watchdog := exec.Command("sh", "-c", "sleep "+strconv.Itoa(int(freezeLimit/time.Second))+"; kill -CONT "+strings.Join(ids, " "))
	watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := watchdog.Start(); err != nil {
		t.Errorf("freeze: watchdog: %v", err)
	} else {
		go func() { _ = watchdog.Wait() }()
		unfreeze := thaw
		thaw = func() {
			unfreeze()
			// Its process group (its own session): the shell and its sleep.
			_ = syscall.Kill(-watchdog.Process.Pid, syscall.SIGKILL)
		}
		t.Cleanup(thaw)
	}
	t.Logf("froze postmaster %d and %d children", postmaster, len(frozen)-1)
	return thaw
}

// freezeLimit is how long the watchdog of freeze lets the server stay
// frozen if the test process dies without thawing it.
const freezeLimit = 120 * time.Second

// children returns the ids of the processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(pid)).Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) { // 1: none
		t.Errorf("pgrep -P %d: %v", pid, err)
	}
	var pids []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// markedBatch is a batch of writer "w" numbered seq, applied once: Update
// skips it when the document's mark batches.w is at seq or beyond, else
// adds one to the counter n and moves the mark. onUpdate runs in Update.
func markedBatch(seq int64, pts []backend.Point, onUpdate func()) backend.Batch {
	return backend.Batch{
		Writer: "w", Seq: seq, Metric: "m", Points: pts,
		Reads: [][]string{{"batches", "w"}},
		Guard: []string{"n"},
		Update: func(doc map[string]any) ([]backend.Op, bool, error) {
			if onUpdate != nil {
				onUpdate()
			}
			marks, _ := doc["batches"].(map[string]any)
			if mark, _ := marks["w"].(int64); mark >= seq {
				return nil, false, nil
			}
			n, _ := doc["n"].(int64)
			return []backend.Op{
				{Kind: backend.Set, Path: []string{"n"}, Value: n + 1},
				{Kind: backend.Set, Path: []string{"batches", "w"}, Value: seq},
			}, true, nil
		},
	}
}

// TestFrozenApplyBatch freezes the server between the locking read and
// the write of a batch (inside Update): ApplyBatch returns by its
// deadline, so does another call on the frozen server, and after SIGCONT
// a retry of the same batch stores it exactly once, whether or not the
// server went on to commit the abandoned attempt.
func TestFrozenApplyBatch(t *testing.T) {
	dsn := frozenDSN(t)
	ctx := t.Context()
	b, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustInsert(t, b, "c", "1", map[string]any{})
	if err := b.ApplyBatch(ctx, "c", "1", markedBatch(1, points(0, 10), nil)); err != nil {
		t.Fatal(err)
	}
	var thaw func()
	first := markedBatch(2, points(10, 10), func() {
		if thaw == nil {
			thaw = freeze(t)
		}
	})
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	start := time.Now()
	frozenErr := b.ApplyBatch(dctx, "c", "1", first)
	took := time.Since(start)
	cancel()
	if thaw == nil {
		t.Fatalf("Update was not called: %v", frozenErr)
	}
	if took > 3*time.Second || !errors.Is(frozenErr, context.DeadlineExceeded) {
		t.Errorf("ApplyBatch on a server frozen mid-batch, 2 s deadline: %v after %v, want context.DeadlineExceeded within 3 s", frozenErr, took)
	}
	// A new call on the frozen server: its connection hangs in the startup.
	dctx, cancel = context.WithTimeout(ctx, time.Second)
	start = time.Now()
	err = b.ApplyBatch(dctx, "c", "1", markedBatch(3, points(20, 10), nil))
	took2 := time.Since(start)
	cancel()
	if took2 > 2*time.Second || err == nil {
		t.Errorf("ApplyBatch on a frozen server, 1 s deadline: %v after %v, want an error within 2 s", err, took2)
	}
	thaw()
	// Retry until the server answers again; the retry of batch 2 must not
	// store it twice. Then batch 3.
	committed := false
	retry := markedBatch(2, points(10, 10), nil)
	update := retry.Update
	retry.Update = func(doc map[string]any) ([]backend.Op, bool, error) {
		ops, apply, err := update(doc)
		committed = !apply
		return ops, apply, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err = b.ApplyBatch(ctx, "c", "1", retry); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("retry after SIGCONT: %v", err)
	}
	if err := b.ApplyBatch(ctx, "c", "1", markedBatch(3, points(20, 10), nil)); err != nil {
		t.Fatal(err)
	}
	t.Logf("frozen mid-batch: returned after %v (%v); new call after %v; the abandoned attempt was committed by the server: %v", took.Round(time.Millisecond), frozenErr, took2.Round(time.Millisecond), committed)
	if n := mustGet(t, b, "c", "1")["n"]; n != int64(3) {
		t.Errorf("counter %v after 3 batches, want 3", n)
	}
	samePoints(t, "series after the freeze", points(0, 30), readAll(t, b, "c", "1", "m"))
}

// TestFrozenServerRecord logs through package record into the frozen
// cluster: 3,000 acknowledged points, 1,000 more with the server frozen
// half way, a Flush with a 3 s deadline (returns within 4 s), 1,000 more
// points while frozen, a Close with a 5 s deadline (returns within 6 s).
// After SIGCONT a fresh Store ships the spool (Sync) and finishes the
// record (Resume and Close if it is still running): the series holds each
// acknowledged step exactly once (every step, when Close stored them or
// said they are safe in the spool), no step twice, and metrics.<m>.count
// equals the stored points.
func TestFrozenServerRecord(t *testing.T) {
	dsn := frozenDSN(t)
	t.Setenv("RECORD_SPOOL_DIR", t.TempDir())
	ctx := t.Context()
	st, err := record.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.Create(ctx, "frozen", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	const metric = "loss"
	values := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 0.5, 1e-300}
	var step int64
	logN := func(n int) {
		for range n {
			rec.Log(step, record.Metrics{metric: values[step%int64(len(values))]})
			step++
		}
	}
	for range 6 {
		logN(500)
		if err := rec.Flush(ctx); err != nil {
			t.Fatalf("flush before the freeze: %v", err)
		}
	}
	acked := step // every step below was acknowledged
	// 1,000 more, the server frozen half way, so that some are surely not
	// stored when Flush is called (the writer may have shipped the rest).
	logN(500)
	thaw := freeze(t)
	logN(500)
	fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	start := time.Now()
	flushErr := rec.Flush(fctx)
	flushTook := time.Since(start)
	cancel()
	if flushTook > 4*time.Second {
		t.Errorf("Flush with a 3 s deadline on a frozen server returned after %v (%v), want within 4 s", flushTook.Round(time.Millisecond), flushErr)
	}
	logN(1000)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	start = time.Now()
	closeErr := rec.Close(cctx, nil)
	closeTook := time.Since(start)
	cancel()
	if closeTook > 6*time.Second {
		t.Errorf("Close with a 5 s deadline on a frozen server returned after %v (%v), want within 6 s", closeTook.Round(time.Millisecond), closeErr)
	}
	t.Logf("frozen: Flush returned after %v: %v", flushTook.Round(time.Millisecond), flushErr)
	t.Logf("frozen: Close returned after %v: %v", closeTook.Round(time.Millisecond), closeErr)
	thaw()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if err := st.Close(sctx); err != nil {
		t.Logf("closing the first store after SIGCONT: %v", err)
	}
	cancel()

	// A fresh Store, once the server answers again, ships what the spool
	// holds, then finishes the record if it is still running.
	var st2 *record.Store
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st2, err = record.Open(ctx, dsn); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("open after SIGCONT: %v", err)
	}
	defer st2.Close(context.Background())
	rep, err := st2.Sync(ctx)
	t.Logf("sync after SIGCONT: %+v, %v", rep, err)
	if err != nil {
		t.Errorf("sync after SIGCONT: %v", err)
	}
	snap, err := st2.Get(ctx, "frozen", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status() == record.StatusRunning {
		rec2, err := st2.Resume(ctx, "frozen", rec.ID(), record.WithoutHost())
		if err != nil {
			t.Fatalf("resume after SIGCONT: %v", err)
		}
		if err := rec2.Flush(ctx); err != nil {
			t.Errorf("flush after resume: %v", err)
		}
		if err := rec2.Close(ctx, nil); err != nil {
			t.Errorf("close after resume: %v", err)
		}
		if snap, err = st2.Get(ctx, "frozen", rec.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if snap.Status() != record.StatusCompleted {
		t.Errorf("status %q after SIGCONT and sync, want %q", snap.Status(), record.StatusCompleted)
	}
	// Close either stored everything or said it is safe in the spool: then
	// every logged step was acknowledged.
	var spooled *record.SpoolError
	if closeErr == nil || errors.As(closeErr, &spooled) {
		acked = step
	}
	ser, err := snap.LoadSeries(ctx, metric)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	dups := 0
	for _, s := range ser.Steps {
		if seen[s]++; seen[s] == 2 {
			dups++
		}
		if s < 0 || s >= step {
			t.Errorf("stored step %d was never logged", s)
		}
	}
	missing := 0
	for s := range acked {
		if seen[s] == 0 {
			missing++
		}
	}
	count, err := snap.Int64("metrics." + metric + ".count")
	t.Logf("status %s; %d of %d logged points stored, %d distinct; %d steps twice; %d of %d acknowledged missing; metrics.%s.count %d (%v)",
		snap.Status(), len(ser.Steps), step, len(seen), dups, missing, acked, metric, count, err)
	if dups != 0 || missing != 0 {
		t.Errorf("%d steps stored more than once, %d acknowledged steps missing; want 0 and 0", dups, missing)
	}
	if err != nil || count != int64(len(ser.Steps)) {
		t.Errorf("metrics.%s.count is %d (%v), but %d points are stored", metric, count, err, len(ser.Steps))
	}
}
