package postgres_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docops"
)

// countingBatch is counterBatch("loss", pts) with Reads "n" and "note",
// counting the calls of Update and remembering the "note" it saw last.
func countingBatch(pts []backend.Point, calls *int, note *any) backend.Batch {
	bt := counterBatch("loss", pts)
	update := bt.Update
	bt.Reads = [][]string{{"n"}, {"note"}}
	bt.Update = func(doc map[string]any) ([]backend.Op, bool, error) {
		*calls++
		*note = doc["note"]
		return update(doc)
	}
	return bt
}

// After one batch, the next batch of the same record is applied on the
// document that the first one left (one call of Update, one statement);
// when someone else changed a read path meanwhile, that guess is refused
// by the server and the batch is applied, on the stored document, under
// the row lock: nothing lost, nothing stale.
func TestApplyBatchGuess(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	mustInsert(t, b, "c", "guess", map[string]any{"n": int64(0), "note": "start"})
	var calls int
	var note any
	all := points(0, 2500)
	apply := func(from, to int) {
		t.Helper()
		calls = 0
		if err := b.ApplyBatch(ctx, "c", "guess", countingBatch(all[from:to], &calls, &note)); err != nil {
			t.Fatalf("ApplyBatch(%d..%d): %v", from, to, err)
		}
	}
	apply(0, 10)
	apply(10, 1200) // two chunks
	if calls != 1 {
		t.Errorf("the batch after a batch called Update %d times, want 1 (applied on the guess)", calls)
	}
	// Another writer changes a path that Update reads, with every hostile
	// string in turn: the guess is stale and must be refused.
	for i, s := range append(hostileStrings, nulValue) {
		if err := b.Merge(ctx, "c", "guess", []backend.Op{{Kind: backend.Set, Path: []string{"note"}, Value: s}}); err != nil {
			t.Fatal(err)
		}
		apply(1200+i, 1201+i)
		if calls != 2 || note != s {
			t.Fatalf("after a Merge of note = %q: Update called %d times, last saw note = %#v; want 2 calls, the stored note", s, calls, note)
		}
	}
	// And the guard itself, changed behind the handle's back.
	if err := b.Merge(ctx, "c", "guess", []backend.Op{{Kind: backend.Set, Path: []string{"n"}, Value: int64(100)}}); err != nil {
		t.Fatal(err)
	}
	apply(1300, 2500)
	doc, err := b.Get(ctx, "c", "guess")
	if err != nil {
		t.Fatal(err)
	}
	if doc["n"] != int64(101) {
		t.Fatalf("n = %#v after a Merge to 100 and one batch, want 101", doc["n"])
	}
	var got []backend.Point
	for pts, err := range b.ReadSeries(ctx, "c", "guess", "loss") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pts...)
	}
	want := append(append([]backend.Point{}, all[:1200+len(hostileStrings)+1]...), all[1300:]...)
	if diff := backendtest.Diff(pointsAny(want), pointsAny(got)); diff != "" {
		t.Fatalf("stored points (-want +got):\n%s", diff)
	}
}

// pointsAny turns points into document values for backendtest.Diff, which
// compares floats bit for bit.
func pointsAny(pts []backend.Point) []any {
	out := make([]any, len(pts))
	for i, p := range pts {
		out[i] = map[string]any{"step": p.Step, "value": p.Value, "time": p.Time}
	}
	return out
}

// The document change of a batch, however it is written (the merge
// function, or the concatenations of a fast merge, under the row lock or
// in the one statement of a guess), equals the ops applied in Go, for
// hostile keys and values, parents known and unknown.
func TestApplyBatchFastMerge(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	start := map[string]any{
		"n":       int64(0),
		"metrics": map[string]any{"a": map[string]any{"count": int64(1)}},
		"batches": map[string]any{"w": int64(0)},
		"scalar":  "text",
		"tagged":  math.NaN(),
	}
	mustInsert(t, b, "c", "fast", start)
	want := docops.CopyDoc(start)
	reads := [][]string{{"n"}, {"metrics", "a"}, {"batches"}, {"scalar"}, {"tagged"}}
	for round := range 6 {
		var ops []backend.Op
		for i, k := range append(slices.Clip(hostileStrings), fmt.Sprint(round)) {
			v := any(hostileFloats[(i+round)%len(hostileFloats)])
			switch i % 4 {
			case 1:
				v = nulValue + k
			case 2:
				v = map[string]any{k: []any{int64(i), math.Inf(-1), nil, time.Date(2026, 11, 26, 1, 2, 3, 4e6, time.UTC)}}
			}
			ops = append(ops,
				backend.Op{Kind: backend.Set, Path: []string{"batches", k}, Value: v},
				backend.Op{Kind: backend.Set, Path: []string{"metrics", k + "m"}, Value: v},
				backend.Op{Kind: backend.Set, Path: []string{"top" + k}, Value: v},
			)
		}
		if round%2 == 1 {
			// A parent that may be missing: the merge function creates it.
			ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"new" + fmt.Sprint(round), "x", "y"}, Value: int64(round)})
		}
		ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"n"}, Value: int64(round + 1)})
		bt := backend.Batch{
			Metric: "loss", Points: points(int64(round*10), 10), Reads: reads, Guard: []string{"n"},
			Update: func(map[string]any) ([]backend.Op, bool, error) { return ops, true, nil },
		}
		if err := b.ApplyBatch(ctx, "c", "fast", bt); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := docops.Apply(want, ops); err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(ctx, "c", "fast")
		if err != nil {
			t.Fatal(err)
		}
		if diff := backendtest.Diff(want, got); diff != "" {
			t.Fatalf("round %d: document (-ops applied in Go +stored):\n%s", round, diff)
		}
	}
	// A Set through a scalar or a tagged value is refused, whatever path
	// the write takes, and changes nothing.
	for _, parent := range []string{"scalar", "tagged"} {
		bt := backend.Batch{
			Metric: "loss", Points: points(100, 3), Reads: reads, Guard: []string{"n"},
			Update: func(map[string]any) ([]backend.Op, bool, error) {
				return []backend.Op{{Kind: backend.Set, Path: []string{parent, "x"}, Value: int64(1)}, {Kind: backend.Set, Path: []string{"n"}, Value: int64(99)}}, true, nil
			},
		}
		if err := b.ApplyBatch(ctx, "c", "fast", bt); !errors.Is(err, backend.ErrInvalid) {
			t.Fatalf("Set through %s: %v, want ErrInvalid", parent, err)
		}
	}
	got, err := b.Get(ctx, "c", "fast")
	if err != nil {
		t.Fatal(err)
	}
	if diff := backendtest.Diff(want, got); diff != "" {
		t.Fatalf("after refused batches (-want +stored):\n%s", diff)
	}
}
