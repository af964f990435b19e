package backendtest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// writersMetric is the one metric that every writer of the Writers test
// logs into the one record.
const writersMetric = "loss"

// writerPoint is the i-th of n points that writer w of the Writers test
// logs: its steps are w, w+of, w+2*of, ... so no two writers share a step,
// and its values are multiples of 0.5 (sums of thousands of them are
// exact in any order), negative ones, NaN, +Inf and -Inf; the point of
// the greatest step of all is -Inf.
func writerPoint(w, of, n, i int) (int64, float64) {
	step := int64(i*of + w)
	switch {
	case w == of-1 && i == n-1:
		return step, math.Inf(-1)
	case i%97 == 13:
		return step, math.NaN()
	case i%101 == 7:
		return step, math.Inf(1)
	case i%103 == 5:
		return step, math.Inf(-1)
	}
	return step, float64((i*31+w*17)%2001-1000) * 0.5
}

// summaryKeys are the fields of metrics.<m> that must equal the aggregate
// of the stored points exactly.
var summaryKeys = []string{"count", "sum", "min", "max", "mean", "last", "last_nonfinite", "last_step", "nans", "infs", "neg_infs", "finite"}

// aggregate is what metrics.<m> must hold for pts: count, finite, nans,
// infs, neg_infs; sum, min, max and mean over the finite values; last,
// the value of the point with the greatest step (ties: the later time,
// then the greater value), null when not finite and then named in
// last_nonfinite. Every point here has a finite value somewhere.
func aggregate(pts []record.Point) map[string]any {
	var count, finite, nans, infs, negInfs int64
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	var last record.Point
	for i, p := range pts {
		count++
		switch v := p.Value; {
		case math.IsNaN(v):
			nans++
		case math.IsInf(v, 1):
			infs++
		case math.IsInf(v, -1):
			negInfs++
		default:
			finite++
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
		if i == 0 || cmp.Or(cmp.Compare(p.Step, last.Step), p.Time.Compare(last.Time), cmp.Compare(p.Value, last.Value)) > 0 {
			last = p
		}
	}
	want := map[string]any{
		"count": count, "finite": finite, "nans": nans, "infs": infs, "neg_infs": negInfs,
		"last_step": last.Step, "last": finiteOrNil(last.Value),
	}
	if nf := nonFinite(last.Value); nf != "" {
		want["last_nonfinite"] = nf
	}
	if finite > 0 {
		want["sum"], want["min"], want["max"], want["mean"] = sum, lo, hi, sum/float64(finite)
	}
	return want
}

func finiteOrNil(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return ""
}

// storedPoints reads every stored point of a metric of a record.
func storedPoints(t *testing.T, snap *record.Snapshot, metric string) []record.Point {
	t.Helper()
	var all []record.Point
	for pts, err := range snap.Series(t.Context(), metric) {
		if err != nil {
			t.Fatalf("read series %s: %v", metric, err)
		}
		all = append(all, pts...)
	}
	return all
}

// wantSummary fails t unless metrics.<metric> of snap is the aggregate of
// pts. mean is checked where the record keeps it.
func wantSummary(t *testing.T, snap *record.Snapshot, metric string, pts []record.Point) {
	t.Helper()
	got, err := snap.Map("metrics." + metric)
	if err != nil {
		t.Fatalf("summary of %s: %v", metric, err)
	}
	want := aggregate(pts)
	seen := map[string]any{}
	for _, k := range summaryKeys {
		if v, ok := got[k]; ok {
			seen[k] = v
		}
	}
	if _, ok := got["mean"]; !ok {
		delete(want, "mean")
	}
	if diff := Diff(want, seen); diff != "" {
		t.Fatalf("metrics.%s is not the aggregate of its %d stored points (-points +summary):\n%s", metric, len(pts), diff)
	}
}

// wantLogged fails t unless the stored points are exactly the logged
// ones, each once: the same steps and bit-identical values (any order).
func wantLogged(t *testing.T, stored, logged []record.Point) {
	t.Helper()
	byStep := func(a, b record.Point) int { return cmp.Compare(a.Step, b.Step) }
	got := slices.SortedFunc(slices.Values(stored), byStep)
	want := slices.SortedFunc(slices.Values(logged), byStep)
	for i := 1; i < len(got); i++ {
		if got[i].Step == got[i-1].Step {
			t.Fatalf("step %d is stored twice (values %v and %v)", got[i].Step, got[i-1].Value, got[i].Value)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d points stored, %d logged", len(got), len(want))
	}
	for i := range want {
		if got[i].Step != want[i].Step || math.Float64bits(got[i].Value) != math.Float64bits(want[i].Value) {
			t.Fatalf("stored point %d is step %d = %v, logged step %d = %v", i, got[i].Step, got[i].Value, want[i].Step, want[i].Value)
		}
	}
}

func (s *suite) testWriters(t *testing.T) {
	t.Run("HandlesAndProcesses", func(t *testing.T) {
		// N handles of one record in this process (Create, then Resume
		// for the others) and M child processes that Resume it, then all
		// log one metric at once where the backend can merge
		// concurrently, else in turn. The summary must be the aggregate of
		// the stored points, and those exactly the logged ones.
		s.writers(t, true)
	})
	t.Run("ResumeWhileWriting", func(t *testing.T) {
		// The same, but the child processes Resume the record while the
		// handles of this process are writing it: Resume must not undo
		// what they write.
		s.skipUnless(t, ConcurrentMerge)
		s.writers(t, false)
	})
}

// writers runs the Writers tests: gated, every handle is open before any
// logs.
func (s *suite) writers(t *testing.T, gated bool) {
	const handles, procs, n = 4, 3, 1000
	concurrent := true
	if why, ok := s.h.Unsupported[ConcurrentMerge]; ok {
		concurrent = false
		t.Logf("writers take turns: backend declares %q unsupported: %s", ConcurrentMerge, why)
	}
	var st *record.Store
	var dsn string
	m := procs
	_, noReopen := s.h.Unsupported[Reopen]
	_, noProcs := s.h.Unsupported[MultiProcess]
	if noReopen || noProcs {
		m = 0
		t.Logf("no child processes: backend declares %q or %q unsupported", Reopen, MultiProcess)
		st = s.store(t)
	} else {
		dsn = s.newDSN(t)
		st = storeDSN(t, dsn)
	}
	of := handles + m
	ctx := t.Context()
	opts := []record.CreateOption{record.WithBatchSize(64), record.WithFlushInterval(5 * time.Millisecond)}
	first := s.create(t, st, append(opts, record.WithoutHost())...)
	var logged []record.Point
	for w := range of {
		for i := range n {
			step, v := writerPoint(w, of, n, i)
			logged = append(logged, record.Point{Step: step, Value: v})
		}
	}
	// ready is closed when every child has resumed the record; until
	// then the handles of this process log slowly, so that the children
	// resume it while they write.
	ready := make(chan struct{})
	logAll := func(w int, rec *record.Record) error {
		for i := range n {
			select {
			case <-ready:
			default:
				time.Sleep(time.Millisecond)
			}
			step, v := writerPoint(w, of, n, i)
			rec.Log(step, record.Metrics{writersMetric: v})
		}
		return rec.Flush(ctx)
	}
	recs := []*record.Record{first}
	resume := func() *record.Record {
		rec, err := st.Resume(ctx, coll, first.ID(), opts...)
		if err != nil {
			t.Fatalf("Resume: %v", err)
		}
		recs = append(recs, rec)
		return rec
	}
	startChildren := func(ws []int) []*child {
		children := make([]*child, len(ws))
		for i, w := range ws {
			children[i] = startChild(t, childSpec{Role: "writer", DSN: dsn, Coll: coll, ID: first.ID(), Writer: w, Of: of, Points: n, Gate: gated})
		}
		for _, c := range children {
			expectLine(t, c.lines, "READY", time.Minute)
		}
		return children
	}
	waitChildren := func(ws []int, children []*child) {
		for i, c := range children {
			if _, err := c.wait(); err != nil {
				t.Fatalf("writer process %d: %v\n%s", ws[i], err, c.stderr.String())
			}
		}
	}
	if concurrent {
		var ws []int
		for w := handles; w < of; w++ {
			ws = append(ws, w)
		}
		var wg sync.WaitGroup
		errs := make([]error, handles)
		logHere := func(w int, rec *record.Record) { wg.Go(func() { errs[w] = logAll(w, rec) }) }
		var children []*child
		if gated {
			for range handles - 1 {
				resume()
			}
			children = startChildren(ws)
			close(ready)
			for _, c := range children {
				c.send(t, "GO")
			}
			for w, rec := range recs {
				logHere(w, rec)
			}
		} else {
			// The first handle writes while the others resume.
			logHere(0, first)
			for w := 1; w < handles; w++ {
				logHere(w, resume())
			}
			children = startChildren(ws)
			close(ready)
		}
		waitChildren(ws, children)
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("handle %d: Flush: %v", w, err)
			}
		}
	} else {
		close(ready)
		for w := range handles {
			rec := first
			if w > 0 {
				rec = resume()
			}
			if err := logAll(w, rec); err != nil {
				t.Fatalf("handle %d: Flush: %v", w, err)
			}
		}
		for w := handles; w < of; w++ {
			children := startChildren([]int{w})
			if gated {
				children[0].send(t, "GO")
			}
			waitChildren([]int{w}, children)
		}
	}
	for w, rec := range recs[1:] {
		if err := rec.Flush(ctx); err != nil {
			t.Fatalf("handle %d: second Flush: %v", w+1, err)
		}
	}
	if err := first.Close(ctx, nil); err != nil {
		t.Fatalf("Close: %v", err)
	}
	snap, err := st.Get(ctx, coll, first.ID())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status() != record.StatusCompleted {
		t.Fatalf("status = %q after Close, want completed", snap.Status())
	}
	stored := storedPoints(t, snap, writersMetric)
	wantLogged(t, stored, logged)
	wantSummary(t, snap, writersMetric, stored)
	if got := fmt.Sprint(snap.MetricNames()); got != "["+writersMetric+"]" {
		t.Fatalf("metrics = %s, want [%s]", got, writersMetric)
	}
}
