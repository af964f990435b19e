package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
)

// FerretDBBinEnv names the FerretDB binary that scripts/services/ferretdb.sh
// builds (it prints the export line). The hung-server tests start their
// own server with it, so that freezing it disturbs no other test.
const FerretDBBinEnv = "RECORD_TEST_FERRETDB_BIN"

// ownFerretDB is a FerretDB process started by one test, which the test
// may freeze (SIGSTOP), thaw (SIGCONT) and kill.
type ownFerretDB struct {
	proc *os.Process
	dsn  string // mongodb://127.0.0.1:PORT/
	log  string // its log file
}

// startFerretDB starts $RECORD_TEST_FERRETDB_BIN on a free port with a
// data directory of its own and waits until it answers. t.Cleanup thaws
// and kills it whatever happened. Without the variable the test is
// skipped, or fails when RECORD_TEST_REQUIRE names mongo.
func startFerretDB(t *testing.T) *ownFerretDB {
	t.Helper()
	bin := os.Getenv(FerretDBBinEnv)
	if bin == "" {
		backendtest.Unavailable(t, "mongo", "set "+FerretDBBinEnv+" (scripts/services/ferretdb.sh start prints it)")
	}
	dir := t.TempDir()
	f := &ownFerretDB{log: filepath.Join(dir, "ferretdb.log")}
	logf, err := os.Create(f.log)
	if err != nil {
		t.Fatal(err)
	}
	uriFile := filepath.Join(dir, "uri")
	// Port 0: the server picks a free port and writes its URI to uriFile
	// once it accepts connections.
	cmd := exec.Command(bin, "-dir", filepath.Join(dir, "data"), "-addr", "127.0.0.1:0", "-uri-file", uriFile, "-log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	f.proc = cmd.Process
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = f.proc.Signal(syscall.SIGCONT)
		_ = f.proc.Kill()
		<-exited
		logf.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if data, err := os.ReadFile(uriFile); err == nil && len(data) > 0 {
			f.dsn = strings.TrimSpace(string(data))
			break
		}
		select {
		case <-exited:
			t.Fatalf("FerretDB exited at start; its log:\n%s", f.tail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("FerretDB did not start in 60 s; its log:\n%s", f.tail())
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(f.dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	if err := c.Ping(ctx, nil); err != nil {
		t.Fatalf("FerretDB at %s does not answer: %v; its log:\n%s", f.dsn, err, f.tail())
	}
	return f
}

func (f *ownFerretDB) signal(t *testing.T, s syscall.Signal) {
	t.Helper()
	if err := f.proc.Signal(s); err != nil {
		t.Fatalf("signal %v to FerretDB (pid %d): %v", s, f.proc.Pid, err)
	}
}

func (f *ownFerretDB) freeze(t *testing.T) { t.Helper(); f.signal(t, syscall.SIGSTOP) }
func (f *ownFerretDB) thaw(t *testing.T)   { t.Helper(); f.signal(t, syscall.SIGCONT) }

// tail returns the end of the server's log.
func (f *ownFerretDB) tail() string {
	data, _ := os.ReadFile(f.log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// bounded runs call in a goroutine and waits for it at most limit; it
// returns call's error, whether it returned in time, and the time taken
// (limit when it did not). A late call keeps running: done is closed when
// it ends, so the test can wait for it after thawing the server.
func bounded(limit time.Duration, call func() error) (err error, inTime bool, took time.Duration, done <-chan struct{}) {
	ch := make(chan struct{})
	var callErr error
	start := time.Now()
	go func() { callErr = call(); close(ch) }()
	select {
	case <-ch:
		return callErr, true, time.Since(start), ch
	case <-time.After(limit):
		return nil, false, limit, ch
	}
}

// TestApplyBatchHungServer: with the server frozen, ApplyBatch returns by
// its deadline; the retry after the thaw stores the batch exactly once
// (the frozen attempt may have been applied when the server woke up: the
// lost acknowledgement); with the server dead, ApplyBatch is
// ErrUnavailable.
func TestApplyBatchHungServer(t *testing.T) {
	f := startFerretDB(t)
	ctx := t.Context()
	b, err := recmongo.Open(ctx, f.dsn+"hung?serverSelectionTimeoutMS=2000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	const id = "rec-hung"
	if err := b.Insert(ctx, coll, id, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := b.ApplyBatch(ctx, coll, id, counterBatch("w", 1, "loss", hostilePoints(0, 1000), nil)); err != nil {
		t.Fatal(err)
	}
	bt2 := counterBatch("w", 2, "loss", hostilePoints(1000, 1000), nil)

	f.freeze(t)
	err, inTime, took, _ := bounded(2*time.Second, func() error {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return b.ApplyBatch(dctx, coll, id, bt2)
	})
	f.thaw(t)
	t.Logf("ApplyBatch on the frozen server: %v after %v (DeadlineExceeded %v, ErrUnavailable %v)",
		err, took.Round(time.Millisecond), errors.Is(err, context.DeadlineExceeded), errors.Is(err, backend.ErrUnavailable))
	switch {
	case !inTime:
		t.Errorf("ApplyBatch with a 1 s deadline on a frozen server did not return in 2 s")
	case !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, backend.ErrUnavailable):
		t.Errorf("ApplyBatch on a frozen server = %v after %v, want DeadlineExceeded or ErrUnavailable", err, took)
	}
	if err := b.ApplyBatch(ctx, coll, id, bt2); err != nil {
		t.Fatalf("ApplyBatch after the thaw: %v", err)
	}
	if err := samePoints(readSeries(t, b, coll, id, "loss"), hostilePoints(0, 2000)); err != nil {
		t.Errorf("series: %v", err)
	}
	if n := lookupInt(t, b, id, "metrics", "loss", "count"); n != 2000 {
		t.Errorf("count = %d, want 2000", n)
	}

	if err := f.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	err, inTime, took, _ = bounded(15*time.Second, func() error {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return b.ApplyBatch(dctx, coll, id, counterBatch("w", 3, "loss", hostilePoints(2000, 10), nil))
	})
	if !inTime || !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("ApplyBatch on a dead server = %v after %v, want ErrUnavailable within the 2 s server selection", err, took)
	}
}

// TestRecordHungServer: through package record, with the server frozen in
// the middle of a run, Flush and Close return within their deadlines plus
// one second, and once the server is back (and the run is resumed and
// closed by a new Store if it was not sealed, after that Store shipped
// the spool with Sync) every logged step is stored
// exactly once and the summary's count equals the stored points.
func TestRecordHungServer(t *testing.T) {
	f := startFerretDB(t)
	t.Setenv("RECORD_SPOOL_DIR", t.TempDir())
	ctx := t.Context()
	dsn := f.dsn + "hungrecord"
	const metric = "train/loss"
	value := func(step int64) float64 { return hostileFloats[step%int64(len(hostileFloats))] }

	st, err := record.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	stClosed := false
	t.Cleanup(func() {
		if !stClosed {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = st.Close(cctx)
		}
	})
	r, err := st.Create(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	id := r.ID()
	logSteps := func(from, to int64) {
		for s := from; s < to; s++ {
			r.Log(s, record.Metrics{metric: value(s)})
		}
	}
	logSteps(0, 3000)
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush with the server up: %v", err)
	}
	logSteps(3000, 3500)

	f.freeze(t)
	thawed := false
	defer func() {
		if !thawed {
			f.thaw(t)
		}
	}()
	flushErr, inTime, took, flushDone := bounded(4*time.Second, func() error {
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return r.Flush(fctx)
	})
	if !inTime {
		t.Errorf("Flush with a 3 s deadline on a frozen server did not return in 4 s")
	} else {
		t.Logf("Flush on the frozen server: %v after %v", flushErr, took.Round(time.Millisecond))
	}
	logSteps(3500, 4000)
	closeErr, inTime, took, closeDone := bounded(6*time.Second, func() error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return r.Close(cctx, nil)
	})
	if !inTime {
		t.Errorf("Close with a 5 s deadline on a frozen server did not return in 6 s")
	} else {
		t.Logf("Close on the frozen server: %v after %v", closeErr, took.Round(time.Millisecond))
	}

	f.thaw(t)
	thawed = true
	for _, done := range []<-chan struct{}{flushDone, closeDone} {
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("Flush or Close still blocked 3 minutes after the thaw")
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = st.Close(cctx)
	cancel()
	stClosed = true
	t.Logf("Store.Close after the thaw: %v", err)

	st2, err := record.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close(context.Background())
	// What the frozen server did not take waits in the spool (Close said
	// so): ship it, as `record sync` would.
	rep, err := st2.Sync(ctx)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	t.Logf("Sync: %+v", rep)
	snap, err := st2.Get(ctx, coll, id)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status() == record.StatusRunning || snap.Status() == record.StatusCrashed {
		r2, err := st2.Resume(ctx, coll, id)
		if err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if err := r2.Close(ctx, nil); err != nil {
			t.Fatalf("Close of the resumed record: %v", err)
		}
		if snap, err = st2.Get(ctx, coll, id); err != nil {
			t.Fatal(err)
		}
	}
	series, err := snap.LoadSeries(ctx, metric)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int64]int, 4000)
	var problems []string
	for i, s := range series.Steps {
		seen[s]++
		v := series.Values[i]
		if math.Float64bits(v) != math.Float64bits(value(s)) && !(math.IsNaN(v) && math.IsNaN(value(s))) {
			problems = append(problems, fmt.Sprintf("step %d value %v, want %v", s, v, value(s)))
		}
	}
	for s := range int64(4000) {
		if seen[s] != 1 {
			problems = append(problems, fmt.Sprintf("step %d stored %d times", s, seen[s]))
		}
	}
	if len(seen) != 4000 {
		problems = append(problems, fmt.Sprintf("%d distinct steps stored, want 4000", len(seen)))
	}
	if len(problems) > 0 {
		t.Errorf("%d points stored, %d problems, first: %s", len(series.Steps), len(problems), strings.Join(problems[:min(len(problems), 10)], "; "))
	}
	count, err := snap.Int64("metrics." + metric + ".count")
	if err != nil || count != int64(len(series.Steps)) {
		t.Errorf("metrics.%s.count = %d, %v; want the %d stored points", metric, count, err, len(series.Steps))
	}
	t.Logf("status %s, %d points stored", snap.Status(), len(series.Steps))
}
