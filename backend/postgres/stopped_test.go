package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/internal/spool"
	"github.com/recordlab/go-record/record"
)

// stoppedChildEnv carries a stoppedSpec to a child process of
// TestStoppedServer.
const stoppedChildEnv = "RECORD_TEST_POSTGRES_STOPPED_CHILD"

// stoppedSpec tells a child of TestStoppedServer what to log where.
type stoppedSpec struct {
	DSN   string // with x-spool
	Coll  string
	Steps int // points logged before and again after the gate
}

// stoppedResult is what a child prints on its "CLOSE " line.
type stoppedResult struct {
	ID          string
	Err         string
	Unavailable bool // errors.Is(err, record.ErrUnavailable)
	Spooled     bool // errors.As(err, **record.SpoolError)
	Path        string
	Points      int
	TookMS      int64
	// Flushes are the results of the Flush calls (3 s deadline) made
	// while the server was stopped.
	Flushes []stoppedFlush
}

// stoppedFlush is one Flush of a child with the server stopped.
type stoppedFlush struct {
	Err         string
	Unavailable bool
	TookMS      int64
}

// stoppedValues are the values the children log, in turn.
var stoppedValues = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 0.25, 5e-324}

// pgCtl derives the commands that stop (-m immediate) and start the
// cluster of RECORD_TEST_POSTGRES_RESTART_DSN from its restart command
// (scripts/services/postgres.sh: pg_ctl ... -m fast -w -t 30 restart).
// The start command is the restart command itself: on a stopped server
// pg_ctl restart starts it with the options of its last start
// (DATADIR/postmaster.opts: port, socket directory, ...), which a plain
// pg_ctl start would lose.
func pgCtl(t *testing.T) (stop, start string) {
	t.Helper()
	cmd := os.Getenv(restartEnv)
	restartWord := regexp.MustCompile(`\brestart\b`)
	if cmd == "" || !strings.Contains(cmd, "pg_ctl") || !restartWord.MatchString(cmd) || !dataDirFlag.MatchString(cmd) {
		t.Skipf("%s is not a pg_ctl ... restart command from which stop and start can be derived: %q", restartEnv, cmd)
	}
	mode := regexp.MustCompile(`\s-m\s+\S+`)
	stop = restartWord.ReplaceAllString(mode.ReplaceAllString(cmd, ""), "-m immediate stop")
	return stop, cmd
}

// stopServer stops the second cluster with pg_ctl stop -m immediate (like
// a host that dies) and returns start, which starts it again and waits
// until it answers. start runs when the test ends at the latest, and a
// watchdog in a session of its own starts the cluster should this
// process die first.
func stopServer(t *testing.T) (start func()) {
	t.Helper()
	stopCmd, startCmd := pgCtl(t)
	dsn := os.Getenv(restartDSNEnv)
	started := false
	var watchdog *exec.Cmd
	start = func() {
		if started {
			return
		}
		started = true
		if watchdog != nil {
			_ = syscall.Kill(-watchdog.Process.Pid, syscall.SIGKILL)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "sh", "-c", startCmd).CombinedOutput(); err != nil {
			t.Errorf("start the cluster again: %v: %s", err, out)
		}
		for {
			conn, err := pgx.Connect(ctx, dsn)
			if err == nil {
				conn.Close(ctx)
				return
			}
			if ctx.Err() != nil {
				t.Errorf("the cluster does not answer after start: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Cleanup(start)
	watchdog = exec.Command("sh", "-c", fmt.Sprintf("sleep %d; %s", int(stopLimit/time.Second), startCmd))
	watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := watchdog.Start(); err != nil {
		t.Errorf("stop: watchdog: %v", err)
		watchdog = nil
	} else {
		go func() { _ = watchdog.Wait() }()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sh", "-c", stopCmd).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v: %s", err, out)
	}
	return start
}

// stopLimit is how long the watchdog of stopServer lets the cluster stay
// stopped if the test process dies without starting it.
const stopLimit = 180 * time.Second

// TestStoppedServer: two child processes each log 20,000 points through
// package record into the second cluster, flushed and acknowledged; then
// the server is stopped (pg_ctl stop -m immediate) for the rest of their
// run: each logs 20,000 more and closes the record with a 5 s deadline.
// Close returns within 6 s with a *record.SpoolError (ErrUnavailable) that
// names a journal, and after the child exits the acknowledged points and
// the journal together hold every step. Once the server is back, the
// spool of one child is shipped by Store.Sync and that of the other by
// the `record sync` binary (--dsn and RECORD_SPOOL_DIR): each record is
// completed, holds its 40,000 steps exactly once with
// metrics.loss.count = 40,000, and a second sync ships no batch.
func TestStoppedServer(t *testing.T) {
	if spec := os.Getenv(stoppedChildEnv); spec != "" {
		stoppedChild(spec)
		return
	}
	if testing.Short() {
		t.Skip("stops a server and builds the record binary")
	}
	dsn := frozenDSN(t)
	pgCtl(t) // skip early if the cluster cannot be stopped and started
	const steps = 20_000
	coll := "stopped"
	bin := filepath.Join(t.TempDir(), "record")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/recordlab/go-record/cmd/record").CombinedOutput(); err != nil {
		t.Fatalf("go build record: %v\n%s", err, out)
	}

	type kid struct {
		spoolDir string
		cmd      *exec.Cmd
		stdin    io.WriteCloser
		lines    chan string
		stderr   strings.Builder
		acked    int
	}
	kids := make([]*kid, 2)
	for i := range kids {
		k := &kid{spoolDir: t.TempDir(), lines: make(chan string, 1024)}
		kids[i] = k
		spec, _ := json.Marshal(stoppedSpec{DSN: withOptions(dsn, "x-spool="+k.spoolDir), Coll: coll, Steps: steps})
		k.cmd = exec.Command(os.Args[0], "-test.run=^TestStoppedServer$", "-test.count=1", "-test.timeout=5m")
		k.cmd.Env = append(os.Environ(), stoppedChildEnv+"="+string(spec))
		k.cmd.Stderr = &k.stderr
		out, err := k.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if k.stdin, err = k.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := k.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(k.lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				k.lines <- sc.Text()
			}
		}()
		t.Cleanup(func() {
			_ = k.stdin.Close()
			_ = k.cmd.Process.Kill()
			for range k.lines {
			}
			_ = k.cmd.Wait()
			if t.Failed() && k.stderr.Len() > 0 {
				t.Logf("child %d stderr:\n%s", i, k.stderr.String())
			}
		})
	}
	// next returns the next line of a child that is not an ACK (ACKs are
	// counted), failing after limit.
	next := func(i int, limit time.Duration) string {
		k := kids[i]
		timeout := time.After(limit)
		for {
			select {
			case line, ok := <-k.lines:
				if !ok {
					t.Fatalf("child %d ended early; stderr:\n%s", i, k.stderr.String())
				}
				var n int
				if _, err := fmt.Sscanf(line, "ACK %d", &n); err == nil {
					k.acked = n
					continue
				}
				return line
			case <-timeout:
				t.Fatalf("child %d said nothing for %v", i, limit)
			}
		}
	}
	ids := make([]string, len(kids))
	for i := range kids {
		if line := next(i, 2*time.Minute); !strings.HasPrefix(line, "GATE ") {
			t.Fatalf("child %d: %q, want GATE <id>", i, line)
		} else {
			ids[i] = strings.TrimPrefix(line, "GATE ")
		}
		if kids[i].acked != steps {
			t.Fatalf("child %d acknowledged %d steps before the stop, want %d", i, kids[i].acked, steps)
		}
	}

	start := stopServer(t)
	t.Log("server stopped (pg_ctl stop -m immediate)")
	for _, k := range kids {
		if _, err := io.WriteString(k.stdin, "GO\n"); err != nil {
			t.Fatal(err)
		}
	}
	results := make([]stoppedResult, len(kids))
	for i, k := range kids {
		line := next(i, 2*time.Minute)
		text, ok := strings.CutPrefix(line, "CLOSE ")
		if !ok {
			t.Fatalf("child %d: %q, want CLOSE {...}", i, line)
		}
		if err := json.Unmarshal([]byte(text), &results[i]); err != nil {
			t.Fatalf("child %d: %q: %v", i, line, err)
		}
		for range k.lines {
		}
		if err := k.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, k.stderr.String())
		}
	}

	// With the server still stopped and the children gone: the spool
	// holds every step that was not acknowledged.
	for i, res := range results {
		if len(res.Flushes) != 4 {
			t.Errorf("child %d made %d flushes with the server stopped, want 4", i, len(res.Flushes))
		}
		for j, f := range res.Flushes {
			t.Logf("child %d: flush %d with the server stopped: %d ms, ErrUnavailable %v", i, j, f.TookMS, f.Unavailable)
			if f.TookMS > 4000 || !f.Unavailable {
				t.Errorf("child %d: flush %d with a 3 s deadline on a stopped server: %q after %d ms, want ErrUnavailable within 4 s", i, j, f.Err, f.TookMS)
			}
		}
		t.Logf("child %d: Close took %d ms: %s", i, res.TookMS, res.Err)
		if res.TookMS > 6000 {
			t.Errorf("child %d: Close with a 5 s deadline on a stopped server took %d ms, want within 6 s", i, res.TookMS)
		}
		if !res.Unavailable || !res.Spooled || !strings.Contains(res.Err, "spool") {
			t.Fatalf("child %d: Close = %q (ErrUnavailable %v, *SpoolError %v), want a spool error", i, res.Err, res.Unavailable, res.Spooled)
		}
		if rel, err := filepath.Rel(kids[i].spoolDir, res.Path); err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("child %d: SpoolError.Path %q is not under the spool directory %s", i, res.Path, kids[i].spoolDir)
		}
		infos, err := spool.Scan(kids[i].spoolDir)
		if err != nil || len(infos) != 1 || infos[0].Path != res.Path {
			t.Fatalf("child %d: the spool holds %+v (%v), want the one journal %s", i, infos, err, res.Path)
		}
		j, err := spool.Open(res.Path)
		if err != nil {
			t.Fatalf("child %d: open the journal after the child exited: %v", i, err)
		}
		inSpool := map[int64]bool{}
		points, sealed := 0, false
		for off := j.Start(); ; {
			e, nextOff, err := j.Read(off)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("child %d: read the journal: %v", i, err)
			}
			for _, p := range e.Points {
				inSpool[p.Step] = true
			}
			points += len(e.Points)
			for _, op := range e.Ops {
				if len(op.Path) == 1 && op.Path[0] == "status" && op.Value == record.StatusCompleted {
					sealed = true
				}
			}
			off = nextOff
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for s := int64(kids[i].acked); s < 2*steps; s++ {
			if !inSpool[s] {
				missing++
			}
		}
		t.Logf("child %d: %d steps acknowledged, %d points in the journal (SpoolError.Points %d), seal spooled: %v", i, kids[i].acked, points, res.Points, sealed)
		if missing != 0 || !sealed {
			t.Fatalf("child %d: %d unacknowledged steps missing from the spool, seal in the spool: %v; want 0 and true", i, missing, sealed)
		}
		if res.Points != points {
			t.Errorf("child %d: SpoolError.Points = %d, the journal holds %d", i, res.Points, points)
		}
	}

	start()
	t.Log("server started again")
	ctx := t.Context()

	// Child 0's spool: Store.Sync.
	st, err := record.Open(ctx, withOptions(dsn, "x-spool="+kids[0].spoolDir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	rep, err := st.Sync(ctx)
	t.Logf("Store.Sync: %+v, %v", rep, err)
	if err != nil || rep.Journals != 1 || rep.Points != results[0].Points {
		t.Fatalf("Store.Sync = %+v, %v; want 1 journal, %d points", rep, err, results[0].Points)
	}
	if rep, err = st.Sync(ctx); err != nil || rep.Journals != 0 || rep.Batches != 0 {
		t.Errorf("second Store.Sync = %+v, %v; want 0 batches", rep, err)
	}

	// Child 1's spool: the binary, the spool named by RECORD_SPOOL_DIR.
	sync := func() string {
		cmd := exec.CommandContext(ctx, bin, "sync", "--dsn", dsn)
		cmd.Env = append(os.Environ(), "RECORD_SPOOL_DIR="+kids[1].spoolDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("record sync: %v\n%s", err, out)
		}
		return string(out)
	}
	out := sync()
	t.Logf("record sync: %s", strings.TrimSpace(out))
	if !regexp.MustCompile(fmt.Sprintf(`^synced 1 journals: [1-9]\d* batches, %d points\n$`, results[1].Points)).MatchString(out) {
		t.Errorf("record sync printed %q, want \"synced 1 journals: N batches, %d points\"", out, results[1].Points)
	}
	if out := sync(); out != "synced 0 journals: 0 batches, 0 points\n" {
		t.Errorf("second record sync printed %q, want 0 journals, 0 batches", out)
	}
	for i, k := range kids {
		if infos, err := spool.Scan(k.spoolDir); err != nil || len(infos) != 0 {
			t.Errorf("child %d: the spool still holds %+v (%v) after sync", i, infos, err)
		}
	}

	for i, id := range ids {
		snap, err := st.Get(ctx, coll, id)
		if err != nil {
			t.Fatal(err)
		}
		ser, err := snap.LoadSeries(ctx, "loss")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]int{}
		dups, bad := 0, 0
		for j, s := range ser.Steps {
			if seen[s]++; seen[s] == 2 {
				dups++
			}
			if s < 0 || s >= 2*steps {
				t.Fatalf("child %d: stored step %d was never logged", i, s)
			}
			want := stoppedValues[s%int64(len(stoppedValues))]
			if got := ser.Values[j]; math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				bad++
			}
		}
		count, cerr := snap.Int64("metrics.loss.count")
		t.Logf("child %d: status %s, %d points stored, %d distinct, %d twice, %d values changed, metrics.loss.count %d", i, snap.Status(), len(ser.Steps), len(seen), dups, bad, count)
		if snap.Status() != record.StatusCompleted {
			t.Errorf("child %d: status %q, want %q", i, snap.Status(), record.StatusCompleted)
		}
		if len(ser.Steps) != 2*steps || len(seen) != 2*steps || dups != 0 || bad != 0 {
			t.Errorf("child %d: %d points, %d distinct steps, %d twice, %d values changed; want %d, %d, 0, 0", i, len(ser.Steps), len(seen), dups, bad, 2*steps, 2*steps)
		}
		if cerr != nil || count != 2*steps {
			t.Errorf("child %d: metrics.loss.count = %d (%v), want %d", i, count, cerr, 2*steps)
		}
	}
}

// stoppedChild is the body of a child of TestStoppedServer: it creates a
// record, logs Steps points flushing every 1,000 (printing "ACK <steps>"
// after each flush), prints "GATE <id>", waits for a line on stdin (the
// parent stops the server meanwhile), logs Steps more with a Flush (3 s
// deadline, errors reported, not fatal) every 5,000, closes the record
// with a 5 s deadline and prints "CLOSE <stoppedResult as JSON>". It
// exits 0 unless something before the gate fails.
func stoppedChild(specText string) {
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "stopped child: %s: %v\n", what, err)
		os.Exit(1)
	}
	var spec stoppedSpec
	if err := json.Unmarshal([]byte(specText), &spec); err != nil {
		fail("spec", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := record.Open(ctx, spec.DSN)
	if err != nil {
		fail("open", err)
	}
	rec, err := st.Create(ctx, spec.Coll, record.WithoutHost(), record.WithBatchSize(500))
	if err != nil {
		fail("create", err)
	}
	var flushes []stoppedFlush
	log := func(from int) {
		for s := from; s < from+spec.Steps; s++ {
			rec.Log(int64(s), record.Metrics{"loss": stoppedValues[s%len(stoppedValues)]})
			switch {
			case from == 0 && (s+1)%1000 == 0:
				if err := rec.Flush(ctx); err != nil {
					fail("flush", err)
				}
				fmt.Printf("ACK %d\n", s+1)
			case from > 0 && (s+1)%5000 == 0:
				fctx, fcancel := context.WithTimeout(ctx, 3*time.Second)
				began := time.Now()
				err := rec.Flush(fctx)
				fcancel()
				f := stoppedFlush{TookMS: time.Since(began).Milliseconds(), Unavailable: errors.Is(err, record.ErrUnavailable)}
				if err != nil {
					f.Err = err.Error()
				}
				flushes = append(flushes, f)
			}
		}
	}
	log(0)
	fmt.Printf("GATE %s\n", rec.ID())
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fail("gate", err)
	}
	log(spec.Steps)
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	began := time.Now()
	err = rec.Close(cctx, nil)
	took := time.Since(began)
	ccancel()
	res := stoppedResult{ID: rec.ID(), TookMS: took.Milliseconds(), Unavailable: errors.Is(err, record.ErrUnavailable), Flushes: flushes}
	if err != nil {
		res.Err = err.Error()
	}
	var se *record.SpoolError
	if errors.As(err, &se) {
		res.Spooled, res.Path, res.Points = true, se.Path, se.Points
	}
	text, _ := json.Marshal(res)
	fmt.Printf("CLOSE %s\n", text)
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	_ = st.Close(sctx)
	scancel()
	os.Exit(0)
}
