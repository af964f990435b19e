package record_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// spoolStore is a memory store with a spool in a temporary directory.
func spoolStore(t *testing.T) (*record.Store, *memory.Backend, string) {
	t.Helper()
	b := memory.New()
	st := record.NewStore(b)
	dir := t.TempDir()
	record.SetSpool(st, dir, "mem://spool-test")
	t.Cleanup(func() { st.Close(context.Background()) })
	return st, b, dir
}

var errDown = fmt.Errorf("connection refused: %w", record.ErrUnavailable)

// steps returns the stored steps of loss, failing on a duplicate.
func storedSteps(t *testing.T, st *record.Store, id string) map[int64]bool {
	t.Helper()
	snap, err := st.Get(t.Context(), "c", id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for pts, err := range snap.Series(t.Context(), "loss") {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			if seen[p.Step] {
				t.Fatalf("step %d stored twice", p.Step)
			}
			seen[p.Step] = true
		}
	}
	return seen
}

// A store that never answers again: Close returns by its deadline with a
// *SpoolError that says where the points are; Sync after the store is back
// stores every point and the seal exactly once, and a second Sync stores
// nothing.
func TestUnreachableStoreSpoolsAndSyncs(t *testing.T) {
	ctx := t.Context()
	st, b, dir := spoolStore(t)
	rec, err := st.Create(ctx, "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	const n = 10_000
	for i := range n / 2 {
		rec.Log(int64(i), record.Metrics{"loss": float64(i) / 2})
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The first batch after the outage starts is applied but its
	// acknowledgement is lost; then the store is gone.
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailAfter, Err: errDown, Times: 1})
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailBefore, Err: errDown})
	for i := n / 2; i < n; i++ {
		v := float64(i) / 2
		if i == n-3 {
			v = math.NaN()
		}
		rec.Log(int64(i), record.Metrics{"loss": v})
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	err = rec.Close(cctx, nil)
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("Close took %v with a 5s deadline", took)
	}
	var se *record.SpoolError
	if !errors.As(err, &se) || !errors.Is(err, record.ErrUnavailable) || !errors.Is(err, errDown) {
		t.Fatalf("Close with the store gone = %v, want a *SpoolError matching ErrUnavailable and the cause", err)
	}
	if rel, err := filepath.Rel(dir, se.Path); err != nil || filepath.IsAbs(rel) || rel[0] == '.' {
		t.Fatalf("spool path %q is not under %q", se.Path, dir)
	}
	if _, err := os.Stat(se.Path); err != nil {
		t.Fatalf("the spool file: %v", err)
	}
	if se.Points == 0 || se.Points > n/2 {
		t.Errorf("SpoolError.Points = %d, want 1..%d", se.Points, n/2)
	}
	rec.Log(n, record.Metrics{"loss": 1})
	if err := rec.Flush(ctx); !errors.Is(err, record.ErrSealed) {
		t.Errorf("Flush after Log after Close = %v, want ErrSealed", err)
	}

	b.Clear()
	rep, err := st.Sync(ctx)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Journals != 1 || rep.Points != se.Points {
		t.Errorf("Sync report %+v, want 1 journal and %d points", rep, se.Points)
	}
	if got := storedSteps(t, st, rec.ID()); len(got) != n {
		t.Fatalf("%d distinct steps stored, want %d", len(got), n)
	}
	snap, _ := st.Get(ctx, "c", rec.ID())
	if snap.Status() != record.StatusCompleted {
		t.Errorf("status after Sync = %q, want completed", snap.Status())
	}
	if c, _ := snap.Int64("metrics.loss.count"); c != n {
		t.Errorf("metrics.loss.count = %d, want %d", c, n)
	}
	if c, _ := snap.Int64("metrics.loss.nans"); c != 1 {
		t.Errorf("metrics.loss.nans = %d, want 1", c)
	}
	if _, err := os.Stat(se.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal is still there after Sync: %v", err)
	}
	rep, err = st.Sync(ctx)
	if err != nil || rep.Journals != 0 || rep.Points != 0 {
		t.Errorf("second Sync = %+v, %v; want nothing shipped", rep, err)
	}
}

// A Sync interrupted half way (its context ends) ships the rest the next
// time, storing nothing twice.
func TestSyncResumable(t *testing.T) {
	ctx := t.Context()
	st, b, _ := spoolStore(t)
	rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(100))
	if err != nil {
		t.Fatal(err)
	}
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailBefore, Err: errDown})
	const n = 5_000
	for i := range n {
		rec.Log(int64(i), record.Metrics{"loss": 1})
	}
	if err := rec.Close(ctx, nil); !errors.Is(err, record.ErrUnavailable) {
		t.Fatalf("Close = %v, want ErrUnavailable", err)
	}
	b.Clear()
	// The 11th batch is applied but its acknowledgement lost, and Sync
	// stops there.
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailAfter, Err: errDown, Times: 1, Skip: 10})
	if _, err := st.Sync(ctx); !errors.Is(err, record.ErrUnavailable) {
		t.Fatalf("interrupted Sync = %v, want ErrUnavailable", err)
	}
	if got := storedSteps(t, st, rec.ID()); len(got) < 11 || len(got) >= n {
		t.Fatalf("after the interrupted Sync %d steps are stored, want 11 batches' worth", len(got))
	}
	rep, err := st.Sync(ctx)
	if err != nil || rep.Journals != 1 {
		t.Fatalf("second Sync = %+v, %v", rep, err)
	}
	if got := storedSteps(t, st, rec.ID()); len(got) != n {
		t.Fatalf("%d steps stored, want %d", len(got), n)
	}
	snap, _ := st.Get(ctx, "c", rec.ID())
	if c, _ := snap.Int64("metrics.loss.count"); c != n || snap.Status() != record.StatusCompleted {
		t.Fatalf("count %d status %s, want %d completed", c, snap.Status(), n)
	}
}

// Beyond the memory bound, points wait in the spool while the store is
// slow; Log never blocks, and all of them arrive once, in order.
func TestMemoryBoundSpills(t *testing.T) {
	ctx := t.Context()
	st, b, _ := spoolStore(t)
	rec, err := st.Create(ctx, "c", record.WithoutHost(), record.WithBatchSize(500),
		record.WithMemoryBound(50_000), record.WithFlushInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.Hang})
	const n = 50_000
	var worst time.Duration
	for i := range n {
		start := time.Now()
		rec.Log(int64(i), record.Metrics{"loss": float64(i)})
		worst = max(worst, time.Since(start))
	}
	time.Sleep(50 * time.Millisecond)
	b.Clear()
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got := storedSteps(t, st, rec.ID())
	if len(got) != n {
		t.Fatalf("%d steps stored, want %d", len(got), n)
	}
	t.Logf("worst Log while the store hung: %v", worst)
}

// Resume ships first what an earlier handle of the record left in the
// spool, so that LastSteps counts it and the resumed run writes no step
// twice.
func TestResumeShipsLeftovers(t *testing.T) {
	ctx := t.Context()
	st, b, dir := spoolStore(t)
	rec, err := st.Create(ctx, "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		rec.Log(int64(i), record.Metrics{"loss": float64(i)})
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailBefore, Err: errDown})
	for i := 300; i < 700; i++ {
		rec.Log(int64(i), record.Metrics{"loss": float64(i)})
	}
	// The process ends without closing the record: the store's Close
	// leaves the points in the spool.
	if err := st.Close(ctx); !errors.Is(err, record.ErrUnavailable) {
		t.Fatalf("Store.Close with the store gone = %v, want ErrUnavailable", err)
	}
	b.Clear()
	st2 := record.NewStore(b)
	record.SetSpool(st2, dir, "mem://spool-test")
	defer st2.Close(ctx)
	again, err := st2.Resume(ctx, "c", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if last := again.LastSteps()["loss"]; last != 699 {
		t.Fatalf("LastSteps after Resume = %d, want 699 (the spooled points shipped first)", last)
	}
	for i := 700; i < 1000; i++ {
		again.Log(int64(i), record.Metrics{"loss": float64(i)})
	}
	if err := again.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := storedSteps(t, st2, rec.ID()); len(got) != 1000 {
		t.Fatalf("%d steps stored, want 1000", len(got))
	}
	snap, _ := st2.Get(ctx, "c", rec.ID())
	if c, _ := snap.Int64("metrics.loss.count"); c != 1000 {
		t.Errorf("count %d, want 1000", c)
	}
}
