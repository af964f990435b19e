package backend

import (
	"context"
	"iter"
	"math"
)

// StepRange is the steps From..To of a series, both included.
type StepRange struct{ From, To int64 }

// Downsample asks for a series folded into at most Buckets buckets of
// equal step width over From..To: bucket k holds the steps
// From+k*w .. From+(k+1)*w-1 (the last one ends at To), where w is the
// smallest width that makes Buckets buckets cover the range. A From of
// math.MinInt64 is first raised to the series' smallest step, and a To of
// math.MaxInt64 lowered to its greatest, so {math.MinInt64,
// math.MaxInt64, n} asks for the whole series in n buckets; other bounds
// stay as given, so that series asked for the same bounded range share
// their buckets.
type Downsample struct {
	StepRange
	Buckets int
}

// Bucket is the aggregate of the points of a series whose steps lie in
// From..To. It keeps what a chart needs so that no spike disappears:
// the extremes, the first and last points, and the mean.
type Bucket struct {
	From, To int64 // the bucket's steps as planned, both included
	Count    int64 // points in the bucket, NaN and ±Inf included
	NaNs     int64 // NaN points
	// Min and Max are over the values that are not NaN (±Inf included);
	// NaN when every point of the bucket is NaN.
	Min, Max float64
	// Sum is the sum of the values that are not NaN. Its rounding depends
	// on the order in which the backend added them up.
	Sum float64
	// First is the point with the smallest step and Last the point with
	// the greatest, ties going by time and then by value (the order of
	// record's metric summaries), whatever the order of storage.
	First, Last Point
}

// Mean is Sum over the points that are not NaN; NaN when there are none.
func (b Bucket) Mean() float64 {
	n := b.Count - b.NaNs
	if n == 0 {
		return math.NaN()
	}
	return b.Sum / float64(n)
}

// SeriesRanger is implemented by SeriesStores that read part of a series,
// or a downsampled view of it, without moving every point out of the
// database: a range read that skips the stored chunks outside the range,
// and buckets folded from per-chunk summaries kept beside the points.
//
// If a SeriesStore does not implement SeriesRanger, record reads the
// whole series with ReadSeries and keeps or folds what was asked, with
// the same results.
type SeriesRanger interface {
	// ReadSeriesRange yields the points of the series whose steps lie in
	// r, in append order, in batches as ReadSeries does.
	ReadSeriesRange(ctx context.Context, coll, id, name string, r StepRange) iter.Seq2[[]Point, error]
	// DownsampleSeries returns the buckets of q that hold at least one
	// point, in step order; none when the series has no point in range.
	// q is valid (From <= To, Buckets >= 1): record checks it.
	DownsampleSeries(ctx context.Context, coll, id, name string, q Downsample) ([]Bucket, error)
}
