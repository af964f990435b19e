package plot

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/recordlab/go-record/record"
)

// seriesBuckets bounds the step ranges a series is reduced to while it is
// read: between half and all of it, each kept as at most four points.
const seriesBuckets = 4096

// seriesOf reads one metric series of a record into a line, batch by
// batch, reducing it as it goes.
func seriesOf(ctx context.Context, s *record.Snapshot, name string) (source, error) {
	if n, err := s.Int64("metrics." + name + ".count"); err == nil && n > downsampleAbove {
		return downsampled(ctx, s, name)
	}
	var r reducer
	for pts, err := range s.Series(ctx, name) {
		if err != nil {
			return source{}, err
		}
		for _, p := range pts {
			r.add(p.Step, p.Value)
		}
	}
	x, y := r.points()
	l := Line{Label: name, X: x, Y: y, counted: true, nans: r.nans, clipped: r.clipped}
	return source{Line: l, name: name, series: true}, nil
}

// downsampleAbove is the number of points above which a series is read
// downsampled by the store (Snapshot.Downsample) rather than point by
// point.
const downsampleAbove = 4 * seriesBuckets

// downsampled reads a long series as seriesBuckets/2 buckets computed
// where the points are stored (from per-chunk summaries on SQLite,
// PostgreSQL and Mongo), each drawn as its first point, its extremes and
// its last point, and a gap where it had a NaN, so that no spike
// disappears and no point moves through memory. The extremes are drawn
// halfway between the bucket's first and last steps, the lower one first
// when the bucket rises. The legend's NaN count is exact, and so is its
// count of infinities (from the record's summary); finite values beyond
// Limit count once per bucket extreme, a lower bound.
func downsampled(ctx context.Context, s *record.Snapshot, name string) (source, error) {
	buckets, err := alignedBuckets(ctx, s, name, seriesBuckets/2)
	if err != nil {
		return source{}, err
	}
	var x, y []float64
	var nans, clipped int
	for _, b := range buckets {
		nans += int(b.NaNs)
		if b.Count > b.NaNs {
			mid := b.First.Step + (b.Last.Step-b.First.Step)/2
			lo, hi := stepPoint{mid, b.Min}, stepPoint{mid, b.Max}
			if b.Last.Value < b.First.Value {
				lo, hi = hi, lo
			}
			pts := []stepPoint{{b.First.Step, b.First.Value}, lo, hi, {b.Last.Step, b.Last.Value}}
			for i, p := range pts {
				if math.IsNaN(p.value) || i > 0 && p == pts[i-1] || i == 2 && p == pts[0] {
					continue
				}
				x, y = append(x, float64(p.step)), append(y, p.value)
			}
			// Finite values beyond Limit: the bucket's extremes say at
			// least one each.
			if !math.IsInf(b.Min, 0) && b.Min < -Limit {
				clipped++
			}
			if !math.IsInf(b.Max, 0) && b.Max > Limit {
				clipped++
			}
		}
		if b.NaNs > 0 {
			x, y = append(x, math.NaN()), append(y, math.NaN())
		}
	}
	// Infinities are counted exactly by the record's summary.
	clipped += int(metricInt(s, name, "infs") + metricInt(s, name, "neg_infs"))
	l := Line{Label: name, X: x, Y: y, counted: true, nans: nans, clipped: clipped}
	return source{Line: l, name: name, series: true}, nil
}

// blockSteps is the number of points per block summary of the stores
// (64): buckets whose width is a multiple of it, starting at the series'
// first step, hold whole blocks when the series has one point per step,
// so the store reads no point at all.
const blockSteps = 64

// alignedBuckets reads the series as at most n buckets over its steps,
// laid out so that, for a series with one point per step, every bucket is
// made of whole blocks: it asks for the extent first (one bucket, read
// from the summaries only), then for buckets of a width that is a
// multiple of blockSteps from the first step on.
func alignedBuckets(ctx context.Context, s *record.Snapshot, name string, n int) ([]record.Bucket, error) {
	all, err := s.Downsample(ctx, name, 1)
	if err != nil || len(all) == 0 {
		return all, err
	}
	lo, hi := all[0].First.Step, all[0].Last.Step
	span := uint64(hi) - uint64(lo) + 1
	if span == 0 || span < uint64(n) {
		return s.Downsample(ctx, name, n)
	}
	width := (span + uint64(n) - 1) / uint64(n)
	width = (width + blockSteps - 1) / blockSteps * blockSteps
	k := (span + width - 1) / width
	to := uint64(lo) + k*width - 1
	if to < uint64(lo) || int64(to) < hi { // past MaxInt64
		return s.Downsample(ctx, name, n)
	}
	return s.DownsampleRange(ctx, name, lo, int64(to), int(k))
}

// reducer thins a stream of (step, value) points to at most
// seriesBuckets ranges of steps, each kept as its first, lowest, highest
// and last point (and a gap if it had a NaN), so that memory stays bounded
// whatever the series' length and its spikes survive. A range spans
// 1<<shift steps; when there are too many ranges, shift grows by one and
// neighbours merge, which is exact: the merged range keeps the points it
// would have kept had it been that wide from the start.
type reducer struct {
	shift   uint
	buckets map[int64]*stepBucket
	nans    int
	clipped int
}

type stepPoint struct {
	step  int64
	value float64
}

type stepBucket struct {
	first, last, lo, hi stepPoint
	values              bool // first, last, lo and hi are set
	nan                 bool
}

func (r *reducer) add(step int64, v float64) {
	if r.buckets == nil {
		r.buckets = make(map[int64]*stepBucket)
	}
	switch {
	case math.IsNaN(v):
		r.nans++
	case math.Abs(v) > Limit:
		r.clipped++
	}
	k := step >> r.shift
	b := r.buckets[k]
	if b == nil {
		b = &stepBucket{}
		r.buckets[k] = b
	}
	b.add(stepPoint{step, v})
	if len(r.buckets) > seriesBuckets {
		r.widen()
	}
}

func (b *stepBucket) add(p stepPoint) {
	if math.IsNaN(p.value) {
		b.nan = true
		return
	}
	if !b.values {
		b.first, b.last, b.lo, b.hi, b.values = p, p, p, p, true
		return
	}
	if p.step < b.first.step {
		b.first = p
	}
	if p.step >= b.last.step {
		b.last = p
	}
	if p.value < b.lo.value {
		b.lo = p
	}
	if p.value > b.hi.value {
		b.hi = p
	}
}

// merge folds o, a range of later steps, into b.
func (b *stepBucket) merge(o *stepBucket) {
	b.nan = b.nan || o.nan
	if !o.values {
		return
	}
	if !b.values {
		*b = stepBucket{first: o.first, last: o.last, lo: o.lo, hi: o.hi, values: true, nan: b.nan}
		return
	}
	b.last = o.last
	if o.lo.value < b.lo.value {
		b.lo = o.lo
	}
	if o.hi.value > b.hi.value {
		b.hi = o.hi
	}
}

// widen doubles the width of the ranges until there are few enough.
func (r *reducer) widen() {
	for len(r.buckets) > seriesBuckets/2 {
		r.shift++
		keys := sortedKeys(r.buckets)
		merged := make(map[int64]*stepBucket, len(keys)/2+1)
		for _, k := range keys { // in order, so that merge gets later steps
			nk := k >> 1
			if m := merged[nk]; m != nil {
				m.merge(r.buckets[k])
			} else {
				merged[nk] = r.buckets[k]
			}
		}
		r.buckets = merged
	}
}

// points returns the kept points in step order.
func (r *reducer) points() (x, y []float64) {
	for _, k := range sortedKeys(r.buckets) {
		b := r.buckets[k]
		if b.values {
			pts := []stepPoint{b.first, b.lo, b.hi, b.last}
			slices.SortStableFunc(pts, func(a, b stepPoint) int { return cmp.Compare(a.step, b.step) })
			for i, p := range pts {
				if i > 0 && p == pts[i-1] {
					continue
				}
				x, y = append(x, float64(p.step)), append(y, p.value)
			}
		}
		if b.nan {
			x, y = append(x, math.NaN()), append(y, math.NaN())
		}
	}
	return x, y
}

func sortedKeys(m map[int64]*stepBucket) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
