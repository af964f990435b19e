package record_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// gatedBackend is a memory backend whose ApplyBatch calls with points
// each wait for the test: a call says how many points it carries on
// calls, then waits for a value on release; once release is closed, calls
// pass.
type gatedBackend struct {
	*memory.Backend
	calls   chan int
	release chan struct{}
}

func (g *gatedBackend) ApplyBatch(ctx context.Context, coll, id string, b backend.Batch) error {
	if len(b.Points) > 0 {
		select {
		case g.calls <- len(b.Points):
		case <-g.release: // closed: the gate is open for good
		}
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Backend.ApplyBatch(ctx, coll, id, b)
}

// hostileValues are logged in turn by the tests of Log's path.
var hostileValues = []float64{
	math.NaN(), math.Float64frombits(0x7ff8_0000_dead_beef), math.Inf(1), math.Inf(-1),
	math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 0.73,
}

func hostileAt(step int64) float64 { return hostileValues[step%int64(len(hostileValues))] }

// When the loop logs faster than the store takes points, what is over the
// memory bound goes to the spool, not the heap, even while the writer
// waits on the store, and the writer catches up from the spool in
// batches larger than the batch size; every point is stored once, bit
// for bit.
func TestLogPathSpillsOverBound(t *testing.T) {
	ctx := t.Context()
	g := &gatedBackend{Backend: memory.New(), calls: make(chan int), release: make(chan struct{})}
	st := record.NewStore(g)
	dir := t.TempDir()
	record.SetSpool(st, dir, "mem://logpath-test")
	t.Cleanup(func() { st.Close(context.Background()) })
	const (
		batch = 100
		bound = 1000 * 24 // 500 points (each counts twice)
		total = 5_150
	)
	rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(batch),
		record.WithMemoryBound(bound), record.WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := record.Metrics{"loss": 0}
	step := int64(0)
	logTo := func(n int64) {
		for ; step < n; step++ {
			m["loss"] = hostileAt(step)
			rec.Log(step, m)
		}
	}
	// The writer, woken by a full batch, sends it and waits in the store
	// while the loop logs 2.5 batches, which it then cuts and sends.
	logTo(batch)
	if first := <-g.calls; first != batch {
		t.Fatalf("first batch of %d points, want %d", first, batch)
	}
	logTo(batch + 250)
	g.release <- struct{}{}
	if second := <-g.calls; second != batch {
		t.Fatalf("second batch of %d points, want %d", second, batch)
	}
	// Meanwhile the loop logs about 10 times the bound's worth. The
	// spiller, woken by Log, spills all but half the bound's worth without
	// waiting for the writer (24 bytes a point in the spool), consecutive
	// batches merged into entries, which come back as one batch each.
	logTo(total)
	want := int64(total-2*batch-500) * 24
	for deadline := time.Now().Add(10 * time.Second); treeBytes(dir) < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got := treeBytes(dir); got < want {
		t.Errorf("spool holds %d bytes after the spill, want at least %d", got, want)
	}
	sent, calls := 2*batch, 0
	for sent < total {
		g.release <- struct{}{}
		next := <-g.calls
		if next <= 0 {
			t.Fatalf("after %d points, a batch of %d", sent, next)
		}
		// (A batch the spiller took while the writer sent it is sent
		// again, and the store recognises it: then sent overshoots and
		// Close ships the rest.)
		sent += next
		calls++
	}
	if calls*batch >= total-2*batch {
		t.Errorf("%d points after the spill came in %d batches: none were merged", total-2*batch, calls)
	}
	close(g.release)
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkHostile(t, st, "c", rec.ID(), "loss", total, nil)
	if left := treeBytes(dir); left != 0 {
		t.Errorf("%d bytes left in the spool after Close", left)
	}
}

// checkHostile fails t unless metric holds steps 0..n-1 except those
// skip says, each once with hostileAt's value bit for bit, times in UTC to
// the millisecond between the record's creation and now, and a summary
// counting them.
func checkHostile(t *testing.T, st *record.Store, coll, id, metric string, n int64, skip func(int64) bool) {
	t.Helper()
	snap, err := st.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatal(err)
	}
	created, err := snap.Time("created")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	seen := map[int64]bool{}
	for pts, err := range snap.Series(t.Context(), metric) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			if p.Step < 0 || p.Step >= n || seen[p.Step] || (skip != nil && skip(p.Step)) {
				t.Fatalf("%s: step %d stored twice or never logged", metric, p.Step)
			}
			seen[p.Step] = true
			if w := hostileAt(p.Step); math.Float64bits(p.Value) != math.Float64bits(w) {
				t.Fatalf("%s: step %d stored %v (%#x), logged %v (%#x)", metric, p.Step, p.Value, math.Float64bits(p.Value), w, math.Float64bits(w))
			}
			if p.Time.Location() != time.UTC || !p.Time.Equal(p.Time.Truncate(time.Millisecond)) ||
				p.Time.Before(created.Truncate(time.Millisecond)) || p.Time.After(now) {
				t.Fatalf("%s: step %d time %v: want UTC, to the ms, between %v and %v", metric, p.Step, p.Time, created, now)
			}
		}
	}
	want := int64(0)
	for s := range n {
		if skip == nil || !skip(s) {
			want++
		}
	}
	if int64(len(seen)) != want {
		t.Fatalf("%s: %d steps stored, %d logged", metric, len(seen), want)
	}
	if c, err := snap.Int64("metrics." + metric + ".count"); err != nil || c != want {
		t.Errorf("metrics.%s.count = %d, %v; want %d", metric, c, err, want)
	}
}

// Log's fast path (the same names as the metrics so far) and its slow
// path (new names, some missing, invalid ones, an empty or nil map) store
// each point once, whatever the mix.
func TestLogPathNameSets(t *testing.T) {
	ctx := t.Context()
	for _, spool := range []bool{false, true} {
		t.Run(map[bool]string{false: "spool=off", true: "spool=on"}[spool], func(t *testing.T) {
			st := record.NewStore(memory.New())
			if spool {
				record.SetSpool(st, t.TempDir(), "mem://logpath-names")
			}
			t.Cleanup(func() { st.Close(context.Background()) })
			rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(7), record.WithMemoryBound(24*20))
			if err != nil {
				t.Fatal(err)
			}
			// Which metrics each step logs, cycling: the same set, a set of
			// the same size with a new name, fewer, more, an invalid name,
			// none.
			sets := [][]string{
				{"a", "b"}, {"a", "b"}, {"a", "c"}, {"b"}, {"a", "b", "c"}, {"a", "b", "c"},
				{"c", "a", "x.y"}, {}, nil, {"d\x00"}, {"b", "c", "a"}, {"\xff"}, {"a", "b", "c", " ", "q\"\\"},
			}
			const n = 2_000
			logged := map[string]map[int64]bool{}
			m := record.Metrics{}
			for step := range int64(n) {
				set := sets[step%int64(len(sets))]
				var mm record.Metrics
				if set != nil {
					clear(m)
					for _, name := range set {
						m[name] = hostileAt(step)
					}
					mm = m
				}
				rec.Log(step, mm)
				for _, name := range set {
					if logged[name] == nil {
						logged[name] = map[int64]bool{}
					}
					logged[name][step] = true
				}
			}
			err = rec.Close(ctx, nil)
			var ie *record.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, record.ErrInvalid) {
				t.Fatalf("Close = %v, want the invalid metric name reported", err)
			}
			for _, name := range []string{"a", "b", "c", " ", "q\"\\"} {
				checkHostile(t, st, "c", rec.ID(), name, n, func(s int64) bool { return !logged[name][s] })
			}
			snap, err := st.Get(ctx, "c", rec.ID())
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"x.y", "d\x00", "\xff"} {
				for pts, err := range snap.Series(ctx, bad) {
					if err == nil && len(pts) > 0 {
						t.Errorf("invalid metric %q stored %d points", bad, len(pts))
					}
				}
			}
		})
	}
}

// A Log after Close stores nothing and is reported, not a panic.
func TestLogPathAfterClose(t *testing.T) {
	ctx := t.Context()
	st := record.NewStore(memory.New())
	t.Cleanup(func() { st.Close(context.Background()) })
	rec, err := st.Create(ctx, "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	rec.Log(0, record.Metrics{"loss": math.NaN()})
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rec.Log(1, record.Metrics{"loss": 1})
	checkHostile(t, st, "c", rec.ID(), "loss", 1, nil)
}

// WithBatchSize(1<<30) costs memory for the points logged, not for the
// batch size: a few points of three metrics allocate well under a MiB.
func TestLogPathHugeBatchSize(t *testing.T) {
	ctx := t.Context()
	st := record.NewStore(memory.New())
	t.Cleanup(func() { st.Close(context.Background()) })
	rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := record.Metrics{"loss": 0, "acc": 0, "lr": 0}
	for step := range int64(10) {
		for k := range m {
			m[k] = hostileAt(step)
		}
		rec.Log(step, m)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("30 points logged with WithBatchSize(1<<30) allocated %d bytes", grew)
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"loss", "acc", "lr"} {
		checkHostile(t, st, "c", rec.ID(), name, 10, nil)
	}
}

// Many goroutines logging into one record at once lose nothing and store
// nothing twice (run with -race).
func TestLogPathConcurrent(t *testing.T) {
	ctx := t.Context()
	st := record.NewStore(memory.New())
	record.SetSpool(st, t.TempDir(), "mem://logpath-concurrent")
	t.Cleanup(func() { st.Close(context.Background()) })
	rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(50), record.WithMemoryBound(24*300))
	if err != nil {
		t.Fatal(err)
	}
	const workers, per = 4, 3_000
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			m := record.Metrics{"loss": 0}
			for i := range int64(per) {
				step := i*workers + int64(w)
				m["loss"] = hostileAt(step)
				rec.Log(step, m)
				if i%500 == 0 {
					if err := rec.Flush(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkHostile(t, st, "c", rec.ID(), "loss", workers*per, nil)
}

// An offline run that logs far past the memory bound spills to the spool
// as it goes (each spill fsynced, since an offline Flush returns once its
// points are spooled), Flush and Close succeed, and Sync later stores
// every point once, bit for bit, with hostile values and metric names.
func TestLogPathOfflineOverBound(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	db := filepath.Join(dir, "runs.db")
	off, err := record.Open(ctx, "sqlite://"+db+"?x-offline=true&x-spool="+spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := off.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(50), record.WithMemoryBound(48*400))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"loss", "q\"\\ \x01\u2028"}
	const n = 20_000
	m := record.Metrics{}
	for step := range int64(n) {
		for _, name := range names {
			m[name] = hostileAt(step)
		}
		rec.Log(step, m)
		if step == n/2 {
			if err := rec.Flush(ctx); err != nil {
				t.Fatalf("offline Flush: %v", err)
			}
		}
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatalf("offline Close: %v", err)
	}
	if err := off.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := record.Open(ctx, "sqlite://"+db+"?x-spool="+spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	if _, err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		checkHostile(t, st, "c", rec.ID(), name, n, nil)
	}
	if left := treeBytes(spoolDir); left != 0 {
		t.Errorf("%d bytes left in the spool after Sync", left)
	}
}
