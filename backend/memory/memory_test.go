package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/backendtest"
)

var stores atomic.Int64

func harness() backendtest.Harness {
	return backendtest.Harness{
		New: func(testing.TB) backend.Backend { return memory.New() },
		NewDSN: func(testing.TB) string {
			return fmt.Sprintf("mem://conformance-%d", stores.Add(1))
		},
		Unsupported: map[backendtest.Feature]string{
			backendtest.MultiProcess: "memory is private to one process",
		},
	}
}

func TestConformance(t *testing.T) {
	backendtest.RunConformanceTests(t, harness())
}

// TestConformanceDSNOnly runs the suite the way a harness that has not
// moved to New yet runs it: every Backend opened from NewDSN.
func TestConformanceDSNOnly(t *testing.T) {
	h := harness()
	h.New = nil
	backendtest.RunConformanceTests(t, h)
}

func BenchmarkBackend(b *testing.B) {
	backendtest.RunBenchmarks(b, harness())
}

func TestOpen(t *testing.T) {
	ctx := t.Context()
	for _, dsn := range []string{"mem://", "MEM://", "mem:", "mem://?", "mem://#frag"} {
		b, err := memory.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if err := b.Insert(ctx, "c", "r", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		// Each unnamed Open is private.
		other, _ := memory.Open(ctx, dsn)
		if _, err := other.Get(ctx, "c", "r"); !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("Open(%q) twice shares data: %v", dsn, err)
		}
	}
	for _, dsn := range []string{"", "mem", "memory://", "sqlite://x", "mem://?x-table=t", "mem://?x-nope=1"} {
		if _, err := memory.Open(ctx, dsn); !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", dsn, err)
		}
	}
}

func TestNamedStoreOutlivesClose(t *testing.T) {
	ctx := t.Context()
	b, err := backend.Open(ctx, "mem://named-outlives")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Insert(ctx, "c", "r", map[string]any{"v": int64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := backend.Open(ctx, "mem://named-outlives?")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	doc, err := again.Get(ctx, "c", "r")
	if err != nil || doc["v"] != int64(1) {
		t.Fatalf("Get after reopen = %v, %v", doc, err)
	}
}

func TestCancelledChangesNothing(t *testing.T) {
	b := memory.New()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b.Inject(memory.Fault{Kind: memory.FailBefore})
	if err := b.Insert(ctx, "c", "r", map[string]any{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Insert with a cancelled context = %v", err)
	}
	b.Clear()
	if _, err := b.Get(t.Context(), "c", "r"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("a cancelled Insert stored its document: %v", err)
	}
}

// call runs one method of b by its Op and reports its error.
func call(ctx context.Context, b *memory.Backend, op memory.Op) error {
	switch op {
	case memory.OpInsert:
		return b.Insert(ctx, "c", "new", map[string]any{"v": int64(1)})
	case memory.OpMerge:
		return b.Merge(ctx, "c", "r", []backend.Op{{Kind: backend.Set, Path: []string{"merged"}, Value: true}})
	case memory.OpGet:
		_, err := b.Get(ctx, "c", "r")
		return err
	case memory.OpDrop:
		return b.Drop(ctx, "gone")
	case memory.OpDelete:
		return b.Delete(ctx, "c", "del")
	case memory.OpCollections:
		_, err := b.Collections(ctx)
		return err
	case memory.OpList:
		for _, err := range b.List(ctx, "c", backend.Query{}) {
			if err != nil {
				return err
			}
		}
		return nil
	case memory.OpPing:
		return b.Ping(ctx)
	case memory.OpAppendSeries:
		return b.AppendSeries(ctx, "c", "r", "loss", []backend.Point{{Step: 1, Value: 1, Time: time.UnixMilli(0).UTC()}})
	case memory.OpReadSeries:
		for _, err := range b.ReadSeries(ctx, "c", "r", "loss") {
			if err != nil {
				return err
			}
		}
		return nil
	}
	panic("unknown op")
}

var allOps = []memory.Op{
	memory.OpInsert, memory.OpMerge, memory.OpGet, memory.OpDrop, memory.OpDelete,
	memory.OpCollections, memory.OpList, memory.OpPing, memory.OpAppendSeries, memory.OpReadSeries,
}

// fixture returns a backend holding c/r (with one point of loss), c/del
// and gone/r.
func fixture(t *testing.T) *memory.Backend {
	t.Helper()
	b := memory.New()
	ctx := t.Context()
	for _, ref := range [][2]string{{"c", "r"}, {"c", "del"}, {"gone", "r"}} {
		if err := b.Insert(ctx, ref[0], ref[1], map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AppendSeries(ctx, "c", "r", "loss", []backend.Point{{Step: 0, Value: 0, Time: time.UnixMilli(0).UTC()}}); err != nil {
		t.Fatal(err)
	}
	return b
}

// state summarizes what a backend stores, to tell whether a call changed it.
func state(t *testing.T, b *memory.Backend) string {
	t.Helper()
	ctx := t.Context()
	names, err := b.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprint(names)
	for _, c := range names {
		for it, err := range b.List(ctx, c, backend.Query{}) {
			if err != nil {
				t.Fatal(err)
			}
			s += fmt.Sprintf(" %s/%s=%v", c, it.ID, it.Doc)
		}
	}
	n := 0
	for pts, err := range b.ReadSeries(ctx, "c", "r", "loss") {
		if err != nil {
			t.Fatal(err)
		}
		n += len(pts)
	}
	return s + fmt.Sprintf(" points=%d", n)
}

func TestFault(t *testing.T) {
	boom := errors.New("boom")
	for _, op := range allOps {
		t.Run(op.String(), func(t *testing.T) {
			t.Run("FailBefore", func(t *testing.T) {
				b := fixture(t)
				before := state(t, b)
				b.Inject(memory.Fault{Op: op, Kind: memory.FailBefore, Err: boom})
				if err := call(t.Context(), b, op); !errors.Is(err, boom) {
					t.Fatalf("%s = %v, want %v", op, err, boom)
				}
				b.Clear()
				if after := state(t, b); after != before {
					t.Fatalf("FailBefore changed the store:\nbefore %s\nafter  %s", before, after)
				}
				if err := call(t.Context(), b, op); err != nil {
					t.Fatalf("%s after Clear: %v", op, err)
				}
			})
			t.Run("FailAfter", func(t *testing.T) {
				b, want := fixture(t), fixture(t)
				if err := call(t.Context(), want, op); err != nil {
					t.Fatal(err)
				}
				b.Inject(memory.Fault{Op: op, Kind: memory.FailAfter, Err: boom})
				if err := call(t.Context(), b, op); !errors.Is(err, boom) {
					t.Fatalf("%s = %v, want %v", op, err, boom)
				}
				b.Clear()
				if got, want := state(t, b), state(t, want); got != want {
					t.Fatalf("FailAfter did not apply the call:\ngot  %s\nwant %s", got, want)
				}
			})
			t.Run("Hang", func(t *testing.T) {
				b := fixture(t)
				before := state(t, b)
				b.Inject(memory.Fault{Op: op, Kind: memory.Hang})
				start := time.Now()
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
				defer cancel()
				if err := call(ctx, b, op); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%s = %v, want DeadlineExceeded", op, err)
				}
				if d := time.Since(start); d < 20*time.Millisecond {
					t.Fatalf("%s returned after %v, before its deadline", op, d)
				}
				b.Clear()
				if after := state(t, b); after != before {
					t.Fatalf("a hung call changed the store:\nbefore %s\nafter  %s", before, after)
				}
			})
		})
	}
}

func TestFaultOtherOpsUnaffected(t *testing.T) {
	b := fixture(t)
	b.Inject(memory.Fault{Op: memory.OpMerge, Kind: memory.FailBefore})
	for _, op := range allOps {
		err := call(t.Context(), b, op)
		if op == memory.OpMerge {
			if !errors.Is(err, memory.ErrInjected) {
				t.Fatalf("merge = %v, want ErrInjected", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s with a fault on merge: %v", op, err)
		}
	}
}

func TestFaultAnyAndTimes(t *testing.T) {
	b := fixture(t)
	ctx := t.Context()
	first, second := errors.New("first"), errors.New("second")
	b.Inject(memory.Fault{Kind: memory.FailBefore, Err: first, Times: 2})
	b.Inject(memory.Fault{Op: memory.OpGet, Kind: memory.FailBefore, Err: second, Times: 1})
	got := []error{}
	for range 4 {
		_, err := b.Get(ctx, "c", "r")
		got = append(got, err)
	}
	if !errors.Is(got[0], first) || !errors.Is(got[1], first) || !errors.Is(got[2], second) || got[3] != nil {
		t.Fatalf("Get errors = %v, want [first first second <nil>]", got)
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("Ping after the faults expired: %v", err)
	}
}

func TestFaultHangReleasedByClear(t *testing.T) {
	b := fixture(t)
	b.Inject(memory.Fault{Op: memory.OpMerge, Kind: memory.Hang})
	done := make(chan error, 1)
	go func() { done <- call(context.Background(), b, memory.OpMerge) }()
	select {
	case err := <-done:
		t.Fatalf("Merge returned %v while hanging", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.Clear()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Merge after Clear: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Clear did not release the hanging Merge")
	}
	doc, err := b.Get(t.Context(), "c", "r")
	if err != nil || doc["merged"] != true {
		t.Fatalf("the released Merge was not applied: %v, %v", doc, err)
	}
}

func TestInjectInvalidKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Inject with Kind 0 did not panic")
		}
	}()
	memory.New().Inject(memory.Fault{Op: memory.OpGet})
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{memory.OpAny.String(), "any"},
		{memory.OpAppendSeries.String(), "append-series"},
		{memory.OpReadSeries.String(), "read-series"},
		{memory.Op(99).String(), "invalid"},
		{memory.FailBefore.String(), "fail-before"},
		{memory.FailAfter.String(), "fail-after"},
		{memory.Hang.String(), "hang"},
		{memory.FaultKind(0).String(), "invalid"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}
