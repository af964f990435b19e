package rollup_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

var hostile = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 0, 5e-324, -1e-300}

func randomPoints(rng *rand.Rand, n int, quarters bool) []backend.Point {
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	step := int64(rng.IntN(100)) - 50
	for i := range pts {
		switch rng.IntN(12) {
		case 0: // repeat the step
		case 1:
			step -= int64(rng.IntN(30)) // go back, as a resumed run does
		default:
			step += int64(rng.IntN(3)) + 1
		}
		v := float64(rng.IntN(2001)-1000) / 4
		if !quarters && rng.IntN(8) == 0 {
			v = hostile[rng.IntN(len(hostile))]
		}
		pts[i] = backend.Point{Step: step, Value: v, Time: base.Add(time.Duration(rng.IntN(5)) * time.Millisecond)}
	}
	return pts
}

func same(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
}

func samePoint(a, b backend.Point) bool {
	return a.Step == b.Step && math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Time.Equal(b.Time)
}

func sameBuckets(t *testing.T, want, got []backend.Bucket, withSum bool) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d buckets, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.From != g.From || w.To != g.To || w.Count != g.Count || w.NaNs != g.NaNs || !same(w.Min, g.Min) ||
			!same(w.Max, g.Max) || !samePoint(w.First, g.First) || !samePoint(w.Last, g.Last) || withSum && !same(w.Sum, g.Sum) {
			t.Fatalf("bucket %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func fold(t *testing.T, q backend.Downsample, pts []backend.Point) []backend.Bucket {
	t.Helper()
	out, err := rollup.Fold(q, func(yield func([]backend.Point) bool) error { yield(pts); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFolderBlocks checks the adapters' way (block summaries where a block
// lies in one bucket, points elsewhere, chunks in any order) against
// folding every point.
func TestFolderBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		quarters := trial%2 == 0
		pts := randomPoints(rng, 1+rng.IntN(3000), quarters)
		var chunks [][]backend.Point
		for rest := pts; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(1100))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		rng.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
		var all rollup.Summary
		stored := make([][]rollup.Summary, len(chunks))
		for i, c := range chunks {
			sums, bs, err := rollup.Decode(rollup.Encode(rollup.Blocks(c)))
			if err != nil || bs != rollup.BlockSize {
				t.Fatalf("Decode: %v, block size %d", err, bs)
			}
			stored[i] = sums
			all.Merge(rollup.Total(sums))
		}
		lo, hi, _ := rollup.Extent([]rollup.Summary{all})
		q := backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1 + rng.IntN(300)}
		if rng.IntN(3) == 0 {
			q.From, q.To = lo+rng.Int64N(hi-lo+1), hi-rng.Int64N(10)
		}
		want := fold(t, q, pts)
		plan, ok := rollup.NewPlan(q, lo, hi)
		if !ok {
			if len(want) != 0 {
				t.Fatalf("no plan, but %d buckets", len(want))
			}
			continue
		}
		f := rollup.NewFolder(plan)
		whole := 0
		for i, c := range chunks {
			for k, s := range stored[i] {
				if f.Block(s) {
					whole++
					continue
				}
				f.Points(c[k*rollup.BlockSize : min((k+1)*rollup.BlockSize, len(c))])
			}
		}
		sameBuckets(t, want, f.Buckets(), quarters)
		if q.Buckets == 1 && q.From == math.MinInt64 && whole == 0 {
			t.Fatalf("one bucket over everything took no block whole")
		}
	}
}

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		from, to, lo, hi int64
		n                int
		buckets          int
	}{
		{math.MinInt64, math.MaxInt64, 0, 999, 1000, 1000},
		{math.MinInt64, math.MaxInt64, 0, 999, 7, 7},
		{math.MinInt64, math.MaxInt64, 0, 999, 3000, 1000},
		{math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64, 1, 1},
		{math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64, 2, 2},
		{math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64, 3, 3},
		{math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64, 1 << 16, 1 << 16},
		{5, 5, 0, 10, 10, 1},
		{-10, 10, 0, 100, 4, 4},
		{0, 100, 200, 300, 4, 4},
		{math.MinInt64, 100, 200, 300, 4, 0},
		{150, math.MaxInt64, 0, 100, 4, 0},
	} {
		p, ok := rollup.NewPlan(backend.Downsample{StepRange: backend.StepRange{From: c.from, To: c.to}, Buckets: c.n}, c.lo, c.hi)
		if !ok {
			if c.buckets != 0 {
				t.Errorf("%+v: no plan", c)
			}
			continue
		}
		if p.Buckets() != c.buckets {
			t.Errorf("%+v: %d buckets, want %d", c, p.Buckets(), c.buckets)
		}
		// buckets tile From..To in order, and Index agrees with Bounds
		next := p.From
		for k := range p.Buckets() {
			from, to := p.Bounds(k)
			if from != next || to < from {
				t.Fatalf("%+v: bucket %d is %d..%d, want it to start at %d", c, k, from, to, next)
			}
			for _, s := range []int64{from, to, from + int64((uint64(to)-uint64(from))/2)} {
				if i, ok := p.Index(s); !ok || i != k {
					t.Fatalf("%+v: Index(%d) = %d, %v; want %d", c, s, i, ok, k)
				}
			}
			next = to + 1
			if k == p.Buckets()-1 && to != p.To {
				t.Fatalf("%+v: last bucket ends at %d, want %d", c, to, p.To)
			}
		}
		if _, ok := p.Index(p.To); !ok {
			t.Fatalf("%+v: To outside", c)
		}
		if p.From > math.MinInt64 {
			if _, ok := p.Index(p.From - 1); ok {
				t.Fatalf("%+v: From-1 inside", c)
			}
		}
	}
}

func TestMergeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pts := randomPoints(rng, 500, false)
	var want rollup.Summary
	for _, p := range pts {
		want.Add(p)
	}
	for range 50 {
		rng.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
		var got rollup.Summary
		for _, s := range rollup.Blocks(pts) {
			got.Merge(s)
		}
		if got.Count != want.Count || got.NaNs != want.NaNs || !same(got.Min, want.Min) || !same(got.Max, want.Max) ||
			!samePoint(got.First, want.First) || !samePoint(got.Last, want.Last) {
			t.Fatalf("merged in another order:\n got %+v\nwant %+v", got, want)
		}
	}
	var neg, pos rollup.Summary
	neg.Add(backend.Point{Value: math.Copysign(0, -1)})
	neg.Add(backend.Point{Value: 0})
	pos.Add(backend.Point{Value: 0})
	pos.Add(backend.Point{Value: math.Copysign(0, -1)})
	if !same(neg.Min, pos.Min) || !math.Signbit(neg.Min) || !same(neg.Max, pos.Max) || math.Signbit(neg.Max) {
		t.Fatalf("-0/+0: min %v/%v max %v/%v", neg.Min, pos.Min, neg.Max, pos.Max)
	}
}

func TestEncodeExact(t *testing.T) {
	var s rollup.Summary
	for i, v := range hostile {
		s.Add(backend.Point{Step: int64(i) - math.MaxInt64, Value: v, Time: time.UnixMilli(-int64(i) * 1e12).UTC()})
	}
	s.Add(backend.Point{Step: math.MaxInt64, Value: math.Float64frombits(0x7ff8000000000bad), Time: time.UnixMilli(1 << 50).UTC()})
	got, _, err := rollup.Decode(rollup.Encode([]rollup.Summary{s, s}))
	if err != nil || len(got) != 2 {
		t.Fatalf("Decode: %d, %v", len(got), err)
	}
	g := got[1]
	if g.Count != s.Count || g.NaNs != s.NaNs || !same(g.Min, s.Min) || !same(g.Max, s.Max) || !same(g.Sum, s.Sum) ||
		!samePoint(g.First, s.First) || !samePoint(g.Last, s.Last) || math.Float64bits(g.Last.Value) != 0x7ff8000000000bad {
		t.Fatalf("round trip:\n got %+v\nwant %+v", g, s)
	}
	good := rollup.Encode([]rollup.Summary{s})
	for _, bad := range [][]byte{nil, {}, {9, 64, 0}, good[:len(good)-1], append([]byte{2}, good[1:]...), {1, 0, 0}} {
		if _, _, err := rollup.Decode(bad); !errors.Is(err, rollup.ErrCorrupt) {
			t.Errorf("Decode(%x) = %v; want ErrCorrupt", bad[:min(len(bad), 8)], err)
		}
	}
	zero := rollup.Encode([]rollup.Summary{{}})
	if _, _, err := rollup.Decode(zero); !errors.Is(err, rollup.ErrCorrupt) {
		t.Errorf("a block of no point decoded: %v", err)
	}
}
