package memory

import (
	"context"
	"iter"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

// ReadSeriesRange implements backend.SeriesRanger, in batches of up to
// readBatch points.
func (b *Backend) ReadSeriesRange(ctx context.Context, coll, id, name string, r backend.StepRange) iter.Seq2[[]backend.Point, error] {
	return b.readSeries(ctx, OpReadSeriesRange, seriesKey{coll, id, name}, func(p backend.Point) bool {
		return p.Step >= r.From && p.Step <= r.To
	})
}

// DownsampleSeries implements backend.SeriesRanger by folding every
// point under the store's read lock (the memory store has no summaries to
// save work with).
func (b *Backend) DownsampleSeries(ctx context.Context, coll, id, name string, q backend.Downsample) ([]backend.Bucket, error) {
	after, err := b.enter(ctx, OpDownsampleSeries)
	if err != nil {
		return nil, err
	}
	b.d.mu.RLock()
	all := b.d.series[seriesKey{coll, id, name}]
	out, _ := rollup.Fold(q, func(yield func([]backend.Point) bool) error {
		var batch []backend.Point
		for i := 0; i < all.len(); i += readBatch {
			if batch = all.appendRange(batch[:0], i, i+readBatch, nil); !yield(batch) {
				break
			}
		}
		return nil
	})
	b.d.mu.RUnlock()
	if after != nil {
		return nil, after
	}
	return out, nil
}
