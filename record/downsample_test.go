package record_test

import (
	"context"
	"iter"
	"math"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// seriesOnly is a backend with SeriesStore but not SeriesRanger, so that
// record folds the points itself.
type seriesOnly struct {
	backend.Backend
	ss backend.SeriesStore
}

func (b seriesOnly) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	return b.ss.AppendSeries(ctx, coll, id, name, pts)
}

func (b seriesOnly) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return b.ss.ReadSeries(ctx, coll, id, name)
}

// TestDownsampleFallback checks that a backend without SeriesRanger gives
// the buckets and ranges of one that has it.
func TestDownsampleFallback(t *testing.T) {
	ctx := t.Context()
	mem := memory.New()
	with := record.NewStore(mem)
	without := record.NewStore(seriesOnly{Backend: mem, ss: mem})
	rec, err := with.Create(ctx, "ds")
	if err != nil {
		t.Fatal(err)
	}
	hostile := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1)}
	for i := range 20000 {
		v := float64(i%97) / 4
		if i%1001 == 0 {
			v = hostile[(i/1001)%len(hostile)]
		}
		rec.Log(int64(i)-500, record.Metrics{"loss": v})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	a, err := with.Get(ctx, "ds", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	b, err := without.Get(ctx, "ds", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		from, to int64
		n        int
	}{{math.MinInt64, math.MaxInt64, 1}, {math.MinInt64, math.MaxInt64, 333}, {-10, 10, 4}, {1e6, 2e6, 3}} {
		x, err := a.DownsampleRange(ctx, "loss", q.from, q.to, q.n)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.DownsampleRange(ctx, "loss", q.from, q.to, q.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(x) != len(y) {
			t.Fatalf("%+v: %d buckets with SeriesRanger, %d without", q, len(x), len(y))
		}
		for i := range x {
			if x[i].Count != y[i].Count || x[i].NaNs != y[i].NaNs || x[i].From != y[i].From ||
				math.Float64bits(x[i].Min) != math.Float64bits(y[i].Min) || math.Float64bits(x[i].Max) != math.Float64bits(y[i].Max) ||
				math.Float64bits(x[i].Sum) != math.Float64bits(y[i].Sum) || !samePt(x[i].First, y[i].First) || !samePt(x[i].Last, y[i].Last) {
				t.Fatalf("%+v bucket %d:\n with    %+v\n without %+v", q, i, x[i], y[i])
			}
		}
		if q.n == 1 && len(x) == 1 && (x[0].Count != 20000 || x[0].NaNs != 4) {
			t.Fatalf("one bucket: %+v", x[0])
		}
	}
	var n int
	for pts, err := range b.SeriesRange(ctx, "loss", 0, 99) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pts {
			if p.Step < 0 || p.Step > 99 {
				t.Fatalf("step %d outside 0..99", p.Step)
			}
		}
		n += len(pts)
	}
	if n != 100 {
		t.Fatalf("SeriesRange(0, 99) without SeriesRanger: %d points, want 100", n)
	}
}

func samePt(a, b record.Point) bool {
	return a.Step == b.Step && math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Time.Equal(b.Time)
}
