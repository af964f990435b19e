package mongo_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
	"github.com/recordlab/go-record/internal/rollup"
)

// rollupSpecials are the hostile values among the test points.
var rollupSpecials = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	math.Copysign(0, -1), 0, 5e-324, -1e-300,
}

// rollupPoints returns n points from step start: steps mostly rising,
// some repeated, some going back; one value in ten hostile.
func rollupPoints(rng *rand.Rand, n int, start int64) []backend.Point {
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	step := start
	for i := range pts {
		switch r := rng.IntN(20); {
		case r == 0:
			step -= int64(rng.IntN(100)) // going back
		case r < 3:
			// the same step again
		default:
			step += int64(1 + rng.IntN(3))
		}
		v := rng.NormFloat64() * 100
		if rng.IntN(10) == 0 {
			v = rollupSpecials[rng.IntN(len(rollupSpecials))]
		}
		pts[i] = backend.Point{Step: step, Value: v, Time: base.Add(time.Duration(step*3+int64(rng.IntN(3))) * time.Millisecond)}
	}
	return pts
}

func openRollup(t *testing.T) *recmongo.Backend {
	t.Helper()
	be, err := recmongo.Open(t.Context(), newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	if err := be.Insert(t.Context(), "c", "r", map[string]any{"n": int64(0)}); err != nil {
		t.Fatal(err)
	}
	return be
}

func samePoint(a, b backend.Point) bool {
	return a.Step == b.Step && math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Time.Equal(b.Time)
}

// checkDownsample fails t unless DownsampleSeries and ReadSeriesRange
// answer q as rollup.Fold and a filter over the stored points do (Sum
// aside: its rounding depends on the order of addition).
func checkDownsample(t *testing.T, be *recmongo.Backend, stored []backend.Point, q backend.Downsample) {
	t.Helper()
	want, err := rollup.Fold(q, func(yield func([]backend.Point) bool) error { yield(stored); return nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := be.DownsampleSeries(t.Context(), "c", "r", "loss", q)
	if err != nil {
		t.Fatalf("DownsampleSeries(%+v): %v", q, err)
	}
	if len(got) != len(want) {
		t.Fatalf("DownsampleSeries(%+v): %d buckets, want %d", q, len(got), len(want))
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for i, w := range want {
		g := got[i]
		if g.From != w.From || g.To != w.To || g.Count != w.Count || g.NaNs != w.NaNs || !same(g.Min, w.Min) || !same(g.Max, w.Max) ||
			!samePoint(g.First, w.First) || !samePoint(g.Last, w.Last) {
			t.Fatalf("DownsampleSeries(%+v) bucket %d\n got %+v\nwant %+v", q, i, g, w)
		}
	}
	var wantPts, gotPts []backend.Point
	for _, p := range stored {
		if p.Step >= q.From && p.Step <= q.To {
			wantPts = append(wantPts, p)
		}
	}
	for pts, err := range be.ReadSeriesRange(t.Context(), "c", "r", "loss", q.StepRange) {
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) == 0 {
			t.Fatalf("ReadSeriesRange(%+v) yielded an empty batch", q.StepRange)
		}
		gotPts = append(gotPts, pts...)
	}
	if !slices.EqualFunc(wantPts, gotPts, samePoint) {
		t.Fatalf("ReadSeriesRange(%d..%d): %d points, want %d (append order, exact)", q.From, q.To, len(gotPts), len(wantPts))
	}
}

// randomQueries returns n queries over and around lo..hi.
func randomQueries(rng *rand.Rand, n int, lo, hi int64) []backend.Downsample {
	qs := []backend.Downsample{
		{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1},
		{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 500},
		{StepRange: backend.StepRange{From: hi + 1, To: math.MaxInt64}, Buckets: 3},
	}
	for range n {
		a := lo - 50 + rng.Int64N(hi-lo+100)
		b := a + rng.Int64N(hi-a+50)
		n := 1 + rng.IntN(2000)
		if rng.IntN(2) == 0 {
			n = 1 + rng.IntN(20) // wide buckets: most blocks fold whole
		}
		qs = append(qs, backend.Downsample{StepRange: backend.StepRange{From: a, To: b}, Buckets: n})
	}
	return qs
}

func stepOrder(a, b backend.Point) int { return int(a.Step - b.Step) }

// TestRollupStored checks that every bucket written by AppendSeries and
// ApplyBatch carries its points' smallest and greatest step and exactly
// rollup.Encode(rollup.Blocks(points)) as binary data.
func TestRollupStored(t *testing.T) {
	be := openRollup(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 63, 64, 65, 1000, 50_001} {
		if err := be.AppendSeries(ctx, "c", "r", "loss", rollupPoints(rng, n, int64(n)*10)); err != nil {
			t.Fatal(err)
		}
	}
	for seq, n := range []int{7, 2100} {
		err := be.ApplyBatch(ctx, "c", "r", backend.Batch{
			Writer: "w", Seq: int64(seq + 1), Metric: "loss", Points: rollupPoints(rng, n, -int64(n)), Guard: []string{"n"},
			Update: func(doc map[string]any) ([]backend.Op, bool, error) {
				return []backend.Op{{Kind: backend.Set, Path: []string{"n"}, Value: int64(seq + 1)}}, true, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	cur, err := rawDB(be).Collection("_series.c").Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close(ctx)
	n := 0
	for cur.Next(ctx) {
		pts, err := decodeRawBucket(cur.Current)
		if err != nil {
			t.Fatal(err)
		}
		lo, okL := cur.Current.Lookup("lo").Int64OK()
		hi, okH := cur.Current.Lookup("hi").Int64OK()
		_, sums, okS := cur.Current.Lookup("sums").BinaryOK()
		if !okL || !okH || !okS {
			t.Fatalf("bucket %d: lo, hi, sums = %v, %v, %v", n, cur.Current.Lookup("lo"), cur.Current.Lookup("hi"), cur.Current.Lookup("sums").Type)
		}
		if lo != slices.MinFunc(pts, stepOrder).Step || hi != slices.MaxFunc(pts, stepOrder).Step {
			t.Errorf("bucket %d: lo, hi = %d, %d; want the extremes of its steps", n, lo, hi)
		}
		if !bytes.Equal(sums, rollup.Encode(rollup.Blocks(pts))) {
			t.Errorf("bucket %d of %d points: sums differ from the blocks of its points", n, len(pts))
		}
		n++
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 5+2+2 {
		t.Fatalf("%d buckets, want 9", n)
	}
}

// decodeRawBucket reads the points of a bucket through ReadSeries's
// decoding, by way of a Backend-independent copy: the values in arrays
// are doubles, or tagged binary on FerretDB (NaN, ±Inf).
func decodeRawBucket(doc bson.Raw) ([]backend.Point, error) {
	return recmongo.DecodeBucket(doc)
}

// TestRollupRandom compares random queries with the reference over a
// series of hostile values appended in batches of random sizes, some of
// whose buckets are made legacy (no lo, hi, sums: stored before they
// existed) and must then be read whole.
func TestRollupRandom(t *testing.T) {
	be := openRollup(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 4))
	var stored []backend.Point
	step := int64(-500)
	for len(stored) < 3000 {
		pts := rollupPoints(rng, 1+rng.IntN(700), step)
		step = pts[len(pts)-1].Step
		if err := be.AppendSeries(ctx, "c", "r", "loss", pts); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, pts...)
	}
	lo, hi := slices.MinFunc(stored, stepOrder).Step, slices.MaxFunc(stored, stepOrder).Step
	qs := randomQueries(rng, 8, lo, hi)
	for _, q := range qs {
		checkDownsample(t, be, stored, q)
	}
	// The summaries read again by a second find, as when they are many.
	restore := recmongo.SetKeepSums(0)
	for _, q := range qs[:6] {
		checkDownsample(t, be, stored, q)
	}
	restore()
	// Every other bucket loses its summaries.
	c := rawDB(be).Collection("_series.c")
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		t.Fatal(err)
	}
	var ids bson.A
	for i := 0; cur.Next(ctx); i++ {
		if i%2 == 0 {
			ids = append(ids, cur.Current.Lookup("_id"))
		}
	}
	cur.Close(ctx)
	res, err := c.UpdateMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "lo", Value: ""}, {Key: "hi", Value: ""}, {Key: "sums", Value: ""}}}})
	if err != nil || res.ModifiedCount != int64(len(ids)) || len(ids) < 3 {
		t.Fatalf("unset summaries of %d buckets: %v, %v", len(ids), res, err)
	}
	for _, q := range qs {
		checkDownsample(t, be, stored, q)
	}
}

// TestRollupCorrupt checks that summaries the library did not write are
// ErrInvalid for DownsampleSeries, and leave the points readable.
func TestRollupCorrupt(t *testing.T) {
	ctx := t.Context()
	all := backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 10}
	for _, tc := range []struct {
		name string
		sums any
		is   error
	}{
		{"bytes", bson.Binary{Data: []byte{1, 0xff}}, rollup.ErrCorrupt},
		{"string", "\x01\"\\\x00quote", backend.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := openRollup(t)
			pts := rollupPoints(rand.New(rand.NewPCG(7, 8)), 500, 0)
			if err := be.AppendSeries(ctx, "c", "r", "loss", pts); err != nil {
				t.Fatal(err)
			}
			if _, err := rawDB(be).Collection("_series.c").UpdateMany(ctx, bson.D{}, bson.D{{Key: "$set", Value: bson.D{{Key: "sums", Value: tc.sums}}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := be.DownsampleSeries(ctx, "c", "r", "loss", all); !errors.Is(err, backend.ErrInvalid) || !errors.Is(err, tc.is) {
				t.Fatalf("DownsampleSeries over corrupt summaries: %v; want ErrInvalid and %v", err, tc.is)
			}
			var n int
			for got, err := range be.ReadSeriesRange(ctx, "c", "r", "loss", all.StepRange) {
				if err != nil {
					t.Fatal(err)
				}
				n += len(got)
			}
			if n != len(pts) {
				t.Fatalf("ReadSeriesRange read %d points, want %d", n, len(pts))
			}
		})
	}
}
