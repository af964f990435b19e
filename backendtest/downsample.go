package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
	"github.com/recordlab/go-record/record"
)

// downsampleBatches are the sizes of the AppendSeries calls of the
// downsample data: around the block size of per-chunk summaries (64) and
// around typical chunk sizes (1000, 1024), so that blocks and chunks end
// at every kind of place.
var downsampleBatches = []int{1, 63, 64, 65, 1000, 1023, 1025, 7, 2500, 3}

// downsampleData appends the test series of (coll, "r1"): "hostile", with
// NaN, ±Inf, ±MaxFloat64, -0 and subnormals among ordinary values, steps
// mostly rising with repeats and a few going back; "smooth", multiples of
// 1/4 whose sums are exact in any order; "extreme", steps at both ends of
// int64. It returns the points in append order.
func downsampleData(t *testing.T, ss backend.SeriesStore) map[string][]backend.Point {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	out := map[string][]backend.Point{}
	step := int64(-100)
	for bi, n := range downsampleBatches {
		var hostile, smooth []backend.Point
		for i := range n {
			switch {
			case bi == 5 && i < 40:
				step -= 3 // a resumed run writing steps again
			case rng.IntN(10) == 0:
				// the same step again
			default:
				step++
			}
			at := base.Add(time.Duration(step*7+int64(i%3)) * time.Millisecond)
			v := rng.NormFloat64() * 10
			if rng.IntN(20) == 0 {
				v = specials[rng.IntN(len(specials))]
			}
			hostile = append(hostile, backend.Point{Step: step, Value: v, Time: at})
			smooth = append(smooth, backend.Point{Step: step, Value: float64(rng.IntN(4001)-2000) / 4, Time: at})
		}
		for name, pts := range map[string][]backend.Point{"hostile": hostile, "smooth": smooth} {
			if err := ss.AppendSeries(t.Context(), coll, "r1", name, pts); err != nil {
				t.Fatalf("AppendSeries(%s, %d points): %v", name, len(pts), err)
			}
			out[name] = append(out[name], pts...)
		}
	}
	extreme := []backend.Point{
		{Step: math.MaxInt64, Value: 1, Time: base},
		{Step: math.MinInt64, Value: -1, Time: base},
		{Step: 0, Value: math.NaN(), Time: base},
		{Step: math.MinInt64, Value: math.Inf(-1), Time: base.Add(time.Millisecond)},
		{Step: math.MaxInt64 - 1, Value: math.MaxFloat64, Time: base},
	}
	if err := ss.AppendSeries(t.Context(), coll, "r1", "extreme", extreme); err != nil {
		t.Fatalf("AppendSeries(extreme): %v", err)
	}
	out["extreme"] = extreme
	return out
}

// downsampleQueries are the queries every series is asked.
var downsampleQueries = []backend.Downsample{
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 2},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 7},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 64},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1000},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 20000},
	{StepRange: backend.StepRange{From: 0, To: 999}, Buckets: 10},
	{StepRange: backend.StepRange{From: 37, To: 37}, Buckets: 5},
	{StepRange: backend.StepRange{From: 1000, To: 1030}, Buckets: 3},
	{StepRange: backend.StepRange{From: -1 << 40, To: -1 << 39}, Buckets: 3}, // no point there
	{StepRange: backend.StepRange{From: math.MinInt64, To: 0}, Buckets: 3},
	{StepRange: backend.StepRange{From: 0, To: math.MaxInt64}, Buckets: 3},
}

func (s *suite) testDownsample(t *testing.T) {
	ranger := func(t *testing.T) (backend.Backend, backend.SeriesStore, backend.SeriesRanger) {
		t.Helper()
		b, ss := s.seriesStore(t)
		sr, ok := b.(backend.SeriesRanger)
		if !ok {
			t.Skip("backend does not implement SeriesRanger")
		}
		mustInsert(t, b, coll, "r1", map[string]any{})
		return b, ss, sr
	}
	t.Run("Buckets", func(t *testing.T) {
		_, ss, sr := ranger(t)
		data := downsampleData(t, ss)
		for _, name := range []string{"hostile", "smooth", "extreme"} {
			stored, err := readAll(t.Context(), ss, coll, "r1", name)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != len(data[name]) {
				t.Fatalf("%s: %d points stored, %d appended", name, len(stored), len(data[name]))
			}
			for _, q := range downsampleQueries {
				want := referenceBuckets(t, q, stored)
				got, err := sr.DownsampleSeries(t.Context(), coll, "r1", name, q)
				if err != nil {
					t.Fatalf("%s %v: %v", name, q, err)
				}
				compareBuckets(t, fmt.Sprintf("%s from %d to %d in %d", name, q.From, q.To, q.Buckets), want, got, name == "smooth")
			}
		}
	})
	t.Run("Range", func(t *testing.T) {
		_, ss, sr := ranger(t)
		data := downsampleData(t, ss)
		for _, name := range []string{"hostile", "extreme"} {
			for _, r := range []backend.StepRange{
				{From: math.MinInt64, To: math.MaxInt64}, {From: 0, To: 999}, {From: 37, To: 37},
				{From: 1000, To: 1030}, {From: -1 << 40, To: -1 << 39}, {From: math.MaxInt64, To: math.MaxInt64},
			} {
				var want []backend.Point
				for _, p := range data[name] {
					if p.Step >= r.From && p.Step <= r.To {
						want = append(want, p)
					}
				}
				var got []backend.Point
				for pts, err := range sr.ReadSeriesRange(t.Context(), coll, "r1", name, r) {
					if err != nil {
						t.Fatalf("ReadSeriesRange(%s, %v): %v", name, r, err)
					}
					got = append(got, pts...)
				}
				if len(want) == 0 {
					want = nil
				}
				if len(got) == 0 {
					got = nil
				}
				if !slices.EqualFunc(want, got, samePoint) {
					t.Fatalf("ReadSeriesRange(%s, %d..%d): %d points, want %d (append order, exact)", name, r.From, r.To, len(got), len(want))
				}
			}
		}
	})
	t.Run("EarlyStop", func(t *testing.T) {
		_, ss, sr := ranger(t)
		pts := points(20000, 0, func(i int) float64 { return float64(i) })
		if err := ss.AppendSeries(t.Context(), coll, "r1", "long", pts); err != nil {
			t.Fatal(err)
		}
		for got, err := range sr.ReadSeriesRange(t.Context(), coll, "r1", "long", backend.StepRange{From: 10, To: 19999}) {
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || got[0].Step != 10 {
				t.Fatalf("first batch starts at %v", got[:min(1, len(got))])
			}
			break
		}
		// the store is still usable after the early stop
		if _, err := sr.DownsampleSeries(t.Context(), coll, "r1", "long", backend.Downsample{StepRange: backend.StepRange{From: 0, To: 1}, Buckets: 1}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		_, _, sr := ranger(t)
		got, err := sr.DownsampleSeries(t.Context(), coll, "r1", "none", backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 10})
		if err != nil || len(got) != 0 {
			t.Fatalf("DownsampleSeries of a missing series = %v, %v; want nothing", got, err)
		}
		for pts, err := range sr.ReadSeriesRange(t.Context(), "nocoll", "r1", "none", backend.StepRange{From: 0, To: 10}) {
			t.Fatalf("ReadSeriesRange of a missing series yielded %v, %v", pts, err)
		}
	})
	t.Run("Deleted", func(t *testing.T) {
		b, ss, sr := ranger(t)
		d, ok := b.(backend.Deleter)
		if !ok {
			t.Skip("backend does not implement Deleter")
		}
		downsampleData(t, ss)
		if err := d.Delete(t.Context(), coll, "r1"); err != nil {
			t.Fatal(err)
		}
		mustInsert(t, b, coll, "r1", map[string]any{})
		all := backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 10}
		if got, err := sr.DownsampleSeries(t.Context(), coll, "r1", "hostile", all); err != nil || len(got) != 0 {
			t.Fatalf("after Delete: %d buckets, %v; want none", len(got), err)
		}
		pts := points(3, 5, func(i int) float64 { return float64(i) })
		if err := ss.AppendSeries(t.Context(), coll, "r1", "hostile", pts); err != nil {
			t.Fatal(err)
		}
		got, err := sr.DownsampleSeries(t.Context(), coll, "r1", "hostile", all)
		if err != nil {
			t.Fatal(err)
		}
		compareBuckets(t, "after Delete and a new append", referenceBuckets(t, all, pts), got, true)
	})
	t.Run("Record", func(t *testing.T) {
		// Points written by record's writer (ApplyBatch where the backend
		// has it) are summarized like those of AppendSeries, and
		// Snapshot.Downsample and SeriesRange give the backend's answers.
		st := s.store(t)
		ctx := t.Context()
		rec, err := st.Create(ctx, coll, record.WithBatchSize(700))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5000 {
			v := math.Sin(float64(i) / 50)
			if i%997 == 0 {
				v = specials[(i/997)%len(specials)]
			}
			rec.Log(int64(i), record.Metrics{"loss": v})
		}
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
		snap, err := st.Get(ctx, coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		var stored []backend.Point
		for pts, err := range snap.Series(ctx, "loss") {
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, pts...)
		}
		for _, n := range []int{1, 100, 640, 5000} {
			got, err := snap.Downsample(ctx, "loss", n)
			if err != nil {
				t.Fatal(err)
			}
			q := backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: n}
			compareBuckets(t, fmt.Sprintf("Snapshot.Downsample(%d)", n), referenceBuckets(t, q, stored), got, false)
		}
		var got []backend.Point
		for pts, err := range snap.SeriesRange(ctx, "loss", 990, 1010) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, pts...)
		}
		if !slices.EqualFunc(stored[990:1011], got, samePoint) {
			t.Fatalf("SeriesRange(990, 1010) = %d points, want the 21 stored", len(got))
		}
		for _, bad := range []func() error{
			func() error { _, err := snap.Downsample(ctx, "loss", 0); return err },
			func() error { _, err := snap.Downsample(ctx, "loss", record.MaxBuckets+1); return err },
			func() error { _, err := snap.DownsampleRange(ctx, "loss", 5, 4, 10); return err },
			func() error { _, err := snap.Downsample(ctx, "a.b", 10); return err },
			func() error {
				for _, err := range snap.SeriesRange(ctx, "loss", 1, 0) {
					return err
				}
				return nil
			},
		} {
			var ie *record.InvalidError
			if err := bad(); !errors.Is(err, record.ErrInvalid) || !errors.As(err, &ie) {
				t.Errorf("bad downsample argument: %v; want a *record.InvalidError", err)
			}
		}
	})
}

// referenceBuckets is rollup.Fold over the stored points.
func referenceBuckets(t *testing.T, q backend.Downsample, pts []backend.Point) []backend.Bucket {
	t.Helper()
	want, err := rollup.Fold(q, func(yield func([]backend.Point) bool) error {
		yield(pts)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// compareBuckets fails t unless got has want's buckets, bit for bit
// (Sum only when withSum: its rounding depends on the order of addition).
func compareBuckets(t *testing.T, what string, want, got []backend.Bucket, withSum bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d buckets, want %d", what, len(got), len(want))
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for i, w := range want {
		g := got[i]
		ok := g.From == w.From && g.To == w.To && g.Count == w.Count && g.NaNs == w.NaNs &&
			same(g.Min, w.Min) && same(g.Max, w.Max) && samePoint(g.First, w.First) && samePoint(g.Last, w.Last)
		if withSum && !same(g.Sum, w.Sum) {
			ok = false
		}
		if !ok {
			t.Fatalf("%s: bucket %d\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

func samePoint(a, b backend.Point) bool {
	return a.Step == b.Step && math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Time.Equal(b.Time)
}
