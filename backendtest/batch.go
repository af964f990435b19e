package backendtest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
)

// batchStore returns a fresh Backend and its BatchStore, or skips t.
func (s *suite) batchStore(t *testing.T) (backend.Backend, backend.BatchStore) {
	t.Helper()
	b := s.backend(t)
	bs, ok := b.(backend.BatchStore)
	if !ok {
		t.Skip("backend does not implement BatchStore (package record then writes with Get and Merge)")
	}
	return b, bs
}

// counter reads an integer the way a stored number may come back: int64,
// or float64 from a backend that keeps numbers as doubles.
func counter(doc map[string]any, path ...string) (int64, bool) {
	v, ok := backend.Lookup(doc, path)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), x == math.Trunc(x)
	}
	return 0, false
}

// markedBatch returns the Batch that package record's writer sends, in
// miniature: Update applies it only if batches.<writer> is below seq, and
// then sets that mark and increments the guard counter "applied" along
// with the given ops.
func markedBatch(writer string, seq int64, metric string, pts []backend.Point, ops ...backend.Op) backend.Batch {
	return backend.Batch{
		Writer: writer, Seq: seq, Metric: metric, Points: pts,
		Reads: [][]string{{"batches", writer}, {"applied"}},
		Guard: []string{"applied"},
		Update: func(doc map[string]any) ([]backend.Op, bool, error) {
			if mark, ok := counter(doc, "batches", writer); ok && mark >= seq {
				return nil, false, nil
			}
			n, _ := counter(doc, "applied")
			return append(slices.Clip(ops),
				set(seq, "batches", writer),
				set(n+1, "applied"),
			), true, nil
		},
	}
}

// storedState describes everything a record holds: its document and every
// point of every series SeriesNames reports, to tell whether a call
// changed anything.
func storedState(t *testing.T, b backend.Backend, bs backend.BatchStore, c, id string) (map[string]any, map[string][]backend.Point) {
	t.Helper()
	doc := mustGet(t, b, c, id)
	names, err := bs.SeriesNames(t.Context(), c, id)
	if err != nil {
		t.Fatalf("SeriesNames: %v", err)
	}
	series := map[string][]backend.Point{}
	for _, name := range names {
		pts, err := readAll(t.Context(), bs, c, id, name)
		if err != nil {
			t.Fatalf("ReadSeries(%s): %v", name, err)
		}
		series[name] = pts
	}
	return doc, series
}

// wantUnchanged fails t if the record differs from the state taken before.
func wantUnchanged(t *testing.T, b backend.Backend, bs backend.BatchStore, c, id string, doc map[string]any, series map[string][]backend.Point) {
	t.Helper()
	gotDoc, gotSeries := storedState(t, b, bs, c, id)
	if diff := Diff(doc, gotDoc); diff != "" {
		t.Fatalf("document changed (-before +after):\n%s", diff)
	}
	if diff := Diff(seriesAsAny(series), seriesAsAny(gotSeries)); diff != "" {
		t.Fatalf("series changed (-before +after):\n%s", diff)
	}
}

func seriesAsAny(series map[string][]backend.Point) map[string]any {
	out := map[string]any{}
	for name, pts := range series {
		l := make([]any, len(pts))
		for i, p := range pts {
			l[i] = []any{p.Step, p.Value, p.Time}
		}
		out[name] = l
	}
	return out
}

func applyBatch(t *testing.T, bs backend.BatchStore, c, id string, bt backend.Batch) {
	t.Helper()
	if err := bs.ApplyBatch(t.Context(), c, id, bt); err != nil {
		t.Fatalf("ApplyBatch(%s, %d): %v", bt.Writer, bt.Seq, err)
	}
}

func (s *suite) testBatch(t *testing.T) {
	t.Run("UpdateSeesDocument", func(t *testing.T) {
		b, bs := s.batchStore(t)
		stored := map[string]any{
			"applied": int64(7),
			"batches": map[string]any{"w": int64(3), "other": int64(9)},
			"metrics": map[string]any{"loss": map[string]any{"count": int64(12), "max": 0.5, "last": nil}},
			"text":    `quote " backslash \ tab` + "\t",
		}
		mustInsert(t, b, coll, "r", stored)
		reads := [][]string{{"batches", "w"}, {"metrics", "loss"}, {"text"}, {"applied"}}
		var seen []map[string]any
		bt := func(ops ...backend.Op) backend.Batch {
			return backend.Batch{
				Writer: "w", Seq: 4, Reads: reads, Guard: []string{"applied"},
				Update: func(doc map[string]any) ([]backend.Op, bool, error) {
					seen = append(seen, docops.CopyDoc(doc))
					return ops, true, nil
				},
			}
		}
		applyBatch(t, bs, coll, "r", bt(set(int64(8), "applied"), set(int64(4), "batches", "w"), set(1.5, "metrics", "loss", "max")))
		// A second batch sees what the first one left.
		seen = nil
		applyBatch(t, bs, coll, "r", bt())
		want := docops.CopyDoc(stored)
		want["applied"] = int64(8)
		want["batches"].(map[string]any)["w"] = int64(4)
		want["metrics"].(map[string]any)["loss"].(map[string]any)["max"] = 1.5
		if len(seen) == 0 {
			t.Fatal("ApplyBatch did not call Update")
		}
		for _, doc := range seen {
			for _, path := range reads {
				w, _ := backend.Lookup(want, path)
				g, ok := backend.Lookup(doc, path)
				if !ok {
					t.Fatalf("Update's document lacks %v, one of Reads: %v", path, doc)
				}
				if diff := Diff(w, g); diff != "" {
					t.Fatalf("Update saw %v (-stored +seen):\n%s", path, diff)
				}
			}
		}
		wantDoc(t, b, coll, "r", want)
	})
	t.Run("NotAppliedChangesNothing", func(t *testing.T) {
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"applied": int64(1), "batches": map[string]any{"w": int64(1)}})
		applyBatch(t, bs, coll, "r", markedBatch("w", 1, "loss", points(3, 0, float64Of)))
		doc, series := storedState(t, b, bs, coll, "r")
		calls := 0
		err := bs.ApplyBatch(t.Context(), coll, "r", backend.Batch{
			Writer: "w", Seq: 1, Metric: "loss", Points: points(5, 0, float64Of),
			Reads: [][]string{{"batches", "w"}}, Guard: []string{"applied"},
			Update: func(map[string]any) ([]backend.Op, bool, error) {
				calls++
				// Ops returned with apply=false are not applied either.
				return []backend.Op{set("changed", "x"), set(int64(99), "applied")}, false, nil
			},
		})
		if err != nil {
			t.Fatalf("ApplyBatch with apply=false: %v", err)
		}
		if calls == 0 {
			t.Fatal("ApplyBatch did not call Update")
		}
		wantUnchanged(t, b, bs, coll, "r", doc, series)
	})
	t.Run("SameBatchTwice", func(t *testing.T) {
		// A retry after a lost acknowledgement sends the same (Writer,
		// Seq): Update sees the mark and the points are stored once.
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{})
		p1 := points(4, 0, float64Of)
		p2 := points(3, 4, float64Of)
		q1 := points(2, 100, float64Of)
		for _, step := range []struct {
			writer string
			seq    int64
			pts    []backend.Point
		}{{"w1", 1, p1}, {"w1", 1, p1}, {"w2", 1, q1}, {"w1", 2, p2}, {"w1", 2, p2}, {"w1", 1, p1}, {"w2", 1, q1}} {
			applyBatch(t, bs, coll, "r", markedBatch(step.writer, step.seq, "loss", step.pts))
		}
		wantPoints(t, bs, coll, "r", "loss", slices.Concat(p1, q1, p2))
		doc := mustGet(t, b, coll, "r")
		if n, _ := counter(doc, "applied"); n != 3 {
			t.Fatalf("applied = %v, want 3 batches applied", doc["applied"])
		}
	})
	t.Run("ConflictIsAtomic", func(t *testing.T) {
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"s": "scalar", "arr": []any{int64(1)}, "obj": map[string]any{"k": "v"}})
		applyBatch(t, bs, coll, "r", markedBatch("w", 1, "loss", points(2, 0, float64Of)))
		doc, series := storedState(t, b, bs, coll, "r")
		for name, ops := range map[string][]backend.Op{
			"SetThroughScalar":   {set(int64(1), "ok"), set(int64(2), "s", "x")},
			"SetThroughArray":    {set(int64(1), "ok"), set(int64(2), "arr", "x")},
			"AppendToScalar":     {set(int64(1), "ok"), push([]any{int64(2)}, "s")},
			"AppendToObject":     {push([]any{int64(2)}, "obj"), set(int64(1), "ok")},
			"ConflictFirstOfTwo": {set(int64(2), "s", "deep", "x"), set(int64(1), "ok")},
		} {
			t.Run(name, func(t *testing.T) {
				err := bs.ApplyBatch(t.Context(), coll, "r", markedBatch("w", 2, "loss", points(5, 2, float64Of), ops...))
				wantErr(t, "ApplyBatch with a conflicting op", err, backend.ErrInvalid)
				wantUnchanged(t, b, bs, coll, "r", doc, series)
				// Nor a series of a new metric.
				err = bs.ApplyBatch(t.Context(), coll, "r", markedBatch("w", 2, "fresh", points(5, 2, float64Of), ops...))
				wantErr(t, "ApplyBatch with a conflicting op", err, backend.ErrInvalid)
				wantUnchanged(t, b, bs, coll, "r", doc, series)
			})
		}
	})
	t.Run("UpdateError", func(t *testing.T) {
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"a": int64(1)})
		applyBatch(t, bs, coll, "r", markedBatch("w", 1, "loss", points(2, 0, float64Of)))
		doc, series := storedState(t, b, bs, coll, "r")
		refused := errors.New("backendtest: update refused")
		err := bs.ApplyBatch(t.Context(), coll, "r", backend.Batch{
			Writer: "w", Seq: 2, Metric: "loss", Points: points(3, 2, float64Of),
			Reads: [][]string{{"a"}}, Guard: []string{"applied"},
			Update: func(map[string]any) ([]backend.Op, bool, error) {
				return []backend.Op{set(int64(2), "a")}, true, fmt.Errorf("wrapped: %w", refused)
			},
		})
		wantErr(t, "ApplyBatch whose Update fails", err, refused)
		wantUnchanged(t, b, bs, coll, "r", doc, series)
	})
	t.Run("NotFound", func(t *testing.T) {
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "present", map[string]any{})
		for _, ref := range [][2]string{{coll, "absent"}, {"no-such-collection", "present"}} {
			err := bs.ApplyBatch(t.Context(), ref[0], ref[1], markedBatch("w", 1, "loss", points(3, 0, float64Of)))
			wantErr(t, "ApplyBatch on an absent record", err, backend.ErrNotFound)
			wantPoints(t, bs, ref[0], ref[1], "loss", nil)
			names, err := bs.SeriesNames(t.Context(), ref[0], ref[1])
			if err != nil || len(names) != 0 {
				t.Fatalf("SeriesNames of an absent record = %q, %v; want none", names, err)
			}
			if _, err := b.Get(t.Context(), ref[0], ref[1]); !errors.Is(err, backend.ErrNotFound) {
				t.Fatalf("ApplyBatch on an absent record created it: Get = %v", err)
			}
		}
	})
	t.Run("PointsOnly", func(t *testing.T) {
		b, bs := s.batchStore(t)
		stored := map[string]any{"a": int64(1)}
		mustInsert(t, b, coll, "r", stored)
		pts := points(10, 0, float64Of)
		for i, ops := range [][]backend.Op{nil, {}} {
			applyBatch(t, bs, coll, "r", backend.Batch{
				Writer: "w", Seq: int64(i + 1), Metric: "loss", Points: pts,
				Update: func(map[string]any) ([]backend.Op, bool, error) { return ops, true, nil },
			})
		}
		wantPoints(t, bs, coll, "r", "loss", slices.Concat(pts, pts))
		wantDoc(t, b, coll, "r", stored)
	})
	t.Run("OpsOnly", func(t *testing.T) {
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{})
		applyBatch(t, bs, coll, "r", markedBatch("w", 1, "", nil, set("v", "x", "y"), push([]any{int64(1)}, "l")))
		applyBatch(t, bs, coll, "r", markedBatch("w", 2, "loss", []backend.Point{}, push([]any{int64(2)}, "l")))
		wantDoc(t, b, coll, "r", map[string]any{
			"x": map[string]any{"y": "v"}, "l": []any{int64(1), int64(2)},
			"applied": int64(2), "batches": map[string]any{"w": int64(2)},
		})
		names, err := bs.SeriesNames(t.Context(), coll, "r")
		if err != nil || len(names) != 0 {
			t.Fatalf("SeriesNames after batches without points = %q, %v; want none", names, err)
		}
		wantPoints(t, bs, coll, "r", "loss", nil)
	})
	t.Run("HostileNamesAndValues", func(t *testing.T) {
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{})
		values := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
			math.Copysign(0, -1), 0, 5e-324, -5e-324, 2.2250738585072014e-308, 0.1 + 0.2, -1e-300, 1}
		names := []string{"loss", "train/loss", `'); drop table records; --`, `a"b`, `back\slash`, "with space",
			"日本語", "🔥", "tab\tname", "new\nline", "a$b", "_id", "A", "a", "Z", "0", "-", "x[0]", "\u2028", "\x7f", "\x01"}
		want := map[string][]backend.Point{}
		for i, name := range names {
			pts := points(len(values), int64(i), func(j int) float64 { return values[(i+j)%len(values)] })
			pts[0].Step, pts[len(pts)-1].Step = math.MinInt64, math.MaxInt64
			pts[1].Time = time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
			pts[2].Time = time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
			// In two batches, the second by another writer.
			applyBatch(t, bs, coll, "r", markedBatch("w", int64(i+1), name, pts[:5]))
			applyBatch(t, bs, coll, "r", markedBatch(name, 1, name, pts[5:]))
			want[name] = pts
		}
		for name, pts := range want {
			wantPoints(t, bs, coll, "r", name, pts)
		}
		got, err := bs.SeriesNames(t.Context(), coll, "r")
		if err != nil {
			t.Fatalf("SeriesNames: %v", err)
		}
		sorted := slices.Sorted(slices.Values(names))
		if diff := Diff(anySlice(sorted), anySlice(got)); diff != "" {
			t.Fatalf("SeriesNames, sorted by bytes (-want +got):\n%s", diff)
		}
		// Another record's names are its own.
		mustInsert(t, b, coll, "other", map[string]any{})
		applyBatch(t, bs, coll, "other", markedBatch("w", 1, "only", points(1, 0, float64Of)))
		if got, err := bs.SeriesNames(t.Context(), coll, "other"); err != nil || !slices.Equal(got, []string{"only"}) {
			t.Fatalf("SeriesNames(other) = %q, %v; want [only]", got, err)
		}
	})
	t.Run("ConcurrentBatches", func(t *testing.T) {
		s.skipUnless(t, ConcurrentMerge)
		b, bs := s.batchStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"n": int64(0)})
		const goroutines, batches = 16, 50
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*batches)
		for g := range goroutines {
			wg.Go(func() {
				for i := range batches {
					step := int64(g*batches + i)
					pts := []backend.Point{{Step: step, Value: float64(step) / 2, Time: time.UnixMilli(step).UTC()}}
					errs <- bs.ApplyBatch(t.Context(), coll, "r", backend.Batch{
						Writer: fmt.Sprintf("g%02d", g), Seq: int64(i + 1), Metric: "loss", Points: pts,
						Reads: [][]string{{"n"}}, Guard: []string{"n"},
						Update: func(doc map[string]any) ([]backend.Op, bool, error) {
							n, ok := counter(doc, "n")
							if !ok {
								return nil, false, fmt.Errorf("n is %v", doc["n"])
							}
							return []backend.Op{set(n+1, "n")}, true, nil
						},
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent ApplyBatch: %v", err)
			}
		}
		if n, _ := counter(mustGet(t, b, coll, "r"), "n"); n != goroutines*batches {
			t.Fatalf("counter = %d after %d concurrent batches: updates were lost", n, goroutines*batches)
		}
		got, err := readAll(t.Context(), bs, coll, "r", "loss")
		if err != nil {
			t.Fatal(err)
		}
		steps := map[int64]bool{}
		for _, p := range got {
			if steps[p.Step] || p.Value != float64(p.Step)/2 {
				t.Fatalf("point %+v duplicated or wrong", p)
			}
			steps[p.Step] = true
		}
		if len(steps) != goroutines*batches {
			t.Fatalf("%d points stored, want %d", len(steps), goroutines*batches)
		}
	})
}

func float64Of(i int) float64 { return float64(i) }

func anySlice(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
