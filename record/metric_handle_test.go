package record_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// Handles from Record.Metric, used from several goroutines and mixed with
// Record.Log of the same metric, over the memory bound (so points spill),
// store every point once, bit for bit, with hostile values and names; a
// handle of a bad name stores nothing and is reported by Close, as
// Record.Log reports one; a Log through a handle after Close is refused.
func TestMetricHandle(t *testing.T) {
	ctx := t.Context()
	st := record.NewStore(memory.New())
	record.SetSpool(st, t.TempDir(), "mem://metric-handle")
	t.Cleanup(func() { st.Close(context.Background()) })
	rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(64), record.WithMemoryBound(24*500))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"loss", "q\"\\ \u2028", "ünï"}
	bad := rec.Metric("x.y")
	const workers, per = 4, 2_500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			handles := make([]*record.Metric, len(names))
			for i, name := range names {
				handles[i] = rec.Metric(name) // each goroutine its own handles
			}
			m := record.Metrics{}
			for i := range int64(per) {
				step := i*workers + int64(w)
				if step%3 == 0 { // every third step through Record.Log
					for _, name := range names {
						m[name] = hostileAt(step)
					}
					rec.Log(step, m)
				} else {
					for _, h := range handles {
						h.Log(step, hostileAt(step))
					}
				}
				if w == 0 && i%400 == 0 {
					bad.Log(step, 1)
				}
			}
		})
	}
	wg.Wait()
	err = rec.Close(ctx, nil)
	var ie *record.InvalidError
	if !errors.As(err, &ie) || ie.Path != "x.y" {
		t.Fatalf("Close = %v; want the invalid metric x.y reported", err)
	}
	for _, name := range names {
		checkHostile(t, st, "c", rec.ID(), name, workers*per, nil)
	}
	rec.Metric("loss").Log(workers*per, 1)
	if err := rec.Flush(ctx); !errors.Is(err, record.ErrSealed) {
		t.Errorf("Flush after a Log through a handle after Close = %v", err)
	}
	checkHostile(t, st, "c", rec.ID(), "loss", workers*per, nil)
	snap, err := st.Get(ctx, "c", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	for pts, err := range snap.Series(ctx, "x.y") {
		if err == nil && len(pts) > 0 {
			t.Errorf("the invalid metric stored %d points", len(pts))
		}
	}
}
