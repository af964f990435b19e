package record_test

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// lostAck is the error of an injected fault: the server is unavailable.
// It counts how often package record looked into it, to tell that the
// fault reached it at all.
type lostAck struct{ seen *atomic.Int64 }

func (e lostAck) Error() string { return "injected: connection reset before the acknowledgement" }

func (e lostAck) Unwrap() error {
	e.seen.Add(1)
	return backend.ErrUnavailable
}

// faultStore opens a private memory store and returns it with its Backend,
// to inject faults into.
func faultStore(t *testing.T) (*record.Store, *memory.Backend) {
	t.Helper()
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	var mb *memory.Backend
	if !st.As(&mb) {
		t.Fatal("Store.As(*memory.Backend) = false on mem://")
	}
	return st, mb
}

// faultValue is the value logged at step: multiples of 0.5 (exact sums),
// and NaN every 101 steps.
func faultValue(step int64) float64 {
	if step%101 == 100 {
		return math.NaN()
	}
	return float64(step%2001-1000) * 0.5
}

// flushUntilNil calls Flush until it returns nil, at most tries times.
func flushUntilNil(t *testing.T, rec *record.Record, tries int) {
	t.Helper()
	var err error
	for i := range tries {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err = rec.Flush(ctx)
		cancel()
		if err == nil {
			return
		}
		t.Logf("Flush %d: %v", i+1, err)
	}
	t.Fatalf("Flush still fails after %d tries: %v", tries, err)
}

// wantOnce fails t unless the record's metric holds steps 0..n-1, each
// once with faultValue's value, and its summary counts them.
func wantOnce(t *testing.T, st *record.Store, coll, id, metric string, n int64) {
	t.Helper()
	snap, err := st.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int64]int, n)
	dups, total := 0, 0
	for pts, err := range snap.Series(t.Context(), metric) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			total++
			if seen[p.Step]++; seen[p.Step] > 1 {
				dups++
			}
			if math.Float64bits(p.Value) != math.Float64bits(faultValue(p.Step)) {
				t.Fatalf("step %d = %v, logged %v", p.Step, p.Value, faultValue(p.Step))
			}
		}
	}
	if dups > 0 {
		t.Fatalf("%d duplicate points among %d stored", dups, total)
	}
	for step := range n {
		if seen[step] == 0 {
			t.Fatalf("step %d was logged but is not stored (%d of %d stored)", step, total, n)
		}
	}
	if int64(total) != n {
		t.Fatalf("%d points stored, %d logged", total, n)
	}
	var nans int64
	for step := range n {
		if math.IsNaN(faultValue(step)) {
			nans++
		}
	}
	for path, want := range map[string]int64{"count": n, "last_step": n - 1, "nans": nans, "finite": n - nans} {
		if got, err := snap.Int64("metrics." + metric + "." + path); err != nil || got != want {
			t.Errorf("metrics.%s.%s = %d, %v; want %d", metric, path, got, err, want)
		}
	}
}

func TestExactlyOnceAfterLostAcknowledgements(t *testing.T) {
	// The store applies a batch and the acknowledgement is lost, three
	// times (FailAfter), or the request is lost (FailBefore): the writer
	// retries, and no point is stored twice or lost.
	for _, kind := range []memory.FaultKind{memory.FailAfter, memory.FailBefore} {
		t.Run(kind.String(), func(t *testing.T) {
			st, mb := faultStore(t)
			ctx := t.Context()
			rec, err := st.Create(ctx, "runs", record.WithoutHost(), record.WithBatchSize(100), record.WithFlushInterval(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			var seen atomic.Int64
			mb.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: kind, Err: fmt.Errorf("apply batch: %w", lostAck{&seen}), Times: 3})
			const n = 10_000
			for step := range int64(n) {
				rec.Log(step, record.Metrics{"loss": faultValue(step)})
				if (step+1)%1000 == 0 {
					flushUntilNil(t, rec, 10)
				}
			}
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if seen.Load() == 0 {
				t.Fatal("the injected fault never reached package record: does its writer call ApplyBatch?")
			}
			wantOnce(t, st, "runs", rec.ID(), "loss", n)
		})
	}
}

func TestFlushDeadlineWithHungStore(t *testing.T) {
	// Every ApplyBatch hangs: Flush returns by its deadline (500 ms, with
	// a margin of 1 s) with an error. After the store answers again
	// (Clear releases the hung calls, which then apply their batches), a
	// later Flush and Close store every point once.
	st, mb := faultStore(t)
	ctx := t.Context()
	rec, err := st.Create(ctx, "runs", record.WithoutHost(), record.WithBatchSize(100), record.WithFlushInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	step := int64(0)
	logN := func(n int) {
		for range n {
			rec.Log(step, record.Metrics{"loss": faultValue(step)})
			step++
		}
	}
	logN(1000)
	flushUntilNil(t, rec, 1)
	mb.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.Hang})
	logN(1000)
	for round := range 2 {
		fctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		start := time.Now()
		err := rec.Flush(fctx)
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Fatalf("round %d: Flush returned nil while every write hangs", round)
		}
		if took > 1500*time.Millisecond {
			t.Fatalf("round %d: Flush with a 500 ms deadline returned after %v", round, took)
		}
		t.Logf("round %d: Flush returned after %v: %v", round, took.Round(time.Millisecond), err)
		logN(500)
	}
	mb.Clear()
	logN(1000)
	flushUntilNil(t, rec, 5)
	logN(10)
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatalf("Close after the store answers again: %v", err)
	}
	wantOnce(t, st, "runs", rec.ID(), "loss", step)
}
