package record

import (
	"context"
	"fmt"
	"iter"
	"math"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

// Bucket is the aggregate of the points of a series whose steps lie in
// From..To: Count, NaNs, Min and Max (over the values that are not NaN),
// Sum and Mean, and the First and Last points by step. See
// Snapshot.Downsample.
type Bucket = backend.Bucket

// StepRange is the steps From..To of a series, both included.
type StepRange = backend.StepRange

// MaxBuckets is the most buckets a downsampled read returns.
const MaxBuckets = 1 << 16

// SeriesRange yields, in the order they were logged and in batches, the
// points of the named metric whose steps lie in from..to (both
// included). Backends that keep per-chunk summaries read only the chunks
// that overlap the range.
func (s *Snapshot) SeriesRange(ctx context.Context, name string, from, to int64) iter.Seq2[[]Point, error] {
	return func(yield func([]Point, error) bool) {
		if err := checkRange(name, from, to); err != nil {
			yield(nil, err)
			return
		}
		st := s.store
		sr, ok := st.b.(backend.SeriesRanger)
		if !ok {
			for pts, err := range s.Series(ctx, name) {
				if err != nil {
					yield(nil, err)
					return
				}
				kept := pts[:0]
				for _, p := range pts {
					if p.Step >= from && p.Step <= to {
						kept = append(kept, p)
					}
				}
				if len(kept) > 0 && !yield(kept, nil) {
					return
				}
			}
			return
		}
		if err := st.enter(ctx); err != nil {
			yield(nil, st.fail(ctx, "read series "+name+" of", s.coll, s.id, err))
			return
		}
		defer st.leave()
		for pts, err := range sr.ReadSeriesRange(ctx, s.coll, s.id, name, StepRange{From: from, To: to}) {
			if err != nil {
				yield(nil, st.fail(ctx, "read series "+name+" of", s.coll, s.id, err))
				return
			}
			if len(pts) > 0 && !yield(pts, nil) {
				return
			}
		}
	}
}

// Downsample folds the named metric into at most buckets buckets of equal
// step width between its smallest and greatest step, for a chart that is
// buckets pixels wide: each bucket keeps the extremes, so no spike
// disappears, and the first and last points, the count of points and of
// NaNs, and the sum. Buckets without points are left out. Backends that
// keep per-chunk summaries beside the points (SQLite, PostgreSQL, Mongo)
// compute it from the summaries and read only the points of the chunks
// that straddle a bucket boundary; for the others it is one pass over the
// points for the extent and one to fold. buckets must be 1..MaxBuckets.
func (s *Snapshot) Downsample(ctx context.Context, name string, buckets int) ([]Bucket, error) {
	return s.DownsampleRange(ctx, name, math.MinInt64, math.MaxInt64, buckets)
}

// DownsampleRange is Downsample over the steps from..to, both included:
// the buckets divide exactly that range (so that several series asked
// for the same range share their buckets), except that a from of
// math.MinInt64 or a to of math.MaxInt64 stands for the series' own
// smallest or greatest step.
func (s *Snapshot) DownsampleRange(ctx context.Context, name string, from, to int64, buckets int) ([]Bucket, error) {
	if err := checkRange(name, from, to); err != nil {
		return nil, err
	}
	if buckets < 1 || buckets > MaxBuckets {
		return nil, &InvalidError{What: "buckets", Path: name, Reason: fmt.Sprintf("%d buckets; want 1 to %d", buckets, MaxBuckets)}
	}
	q := backend.Downsample{StepRange: StepRange{From: from, To: to}, Buckets: buckets}
	st := s.store
	sr, ok := st.b.(backend.SeriesRanger)
	if !ok {
		return rollup.Fold(q, func(yield func([]Point) bool) error {
			for pts, err := range s.SeriesRange(ctx, name, from, to) {
				if err != nil {
					return err
				}
				if !yield(pts) {
					break
				}
			}
			return nil
		})
	}
	if err := st.enter(ctx); err != nil {
		return nil, st.fail(ctx, "downsample series "+name+" of", s.coll, s.id, err)
	}
	defer st.leave()
	out, err := sr.DownsampleSeries(ctx, s.coll, s.id, name, q)
	if err != nil {
		return nil, st.fail(ctx, "downsample series "+name+" of", s.coll, s.id, err)
	}
	return out, nil
}

func checkRange(name string, from, to int64) error {
	if err := validMetric(name); err != nil {
		return err
	}
	if from > to {
		return &InvalidError{What: "step range", Path: name, Reason: fmt.Sprintf("from %d is after to %d", from, to)}
	}
	return nil
}
