package memory

import (
	"cmp"
	"context"
	"iter"
	"slices"

	"github.com/recordlab/go-record/backend"
)

var _ backend.SeriesScanner = (*Backend)(nil)

// ScanSeries implements backend.SeriesScanner, in chunks of readBatch
// points. Faults injected for OpReadSeries apply to it.
func (b *Backend) ScanSeries(ctx context.Context, coll, from string) iter.Seq2[backend.SeriesChunk, error] {
	return func(yield func(backend.SeriesChunk, error) bool) {
		after, err := b.enter(ctx, OpReadSeries)
		if err != nil {
			yield(backend.SeriesChunk{}, err)
			return
		}
		b.d.mu.RLock()
		var keys []seriesKey
		for k, s := range b.d.series {
			if k.coll == coll && k.id >= from && s.len() > 0 {
				keys = append(keys, k)
			}
		}
		b.d.mu.RUnlock()
		slices.SortFunc(keys, func(x, y seriesKey) int {
			return cmp.Or(cmp.Compare(x.id, y.id), cmp.Compare(x.name, y.name))
		})
		for _, k := range keys {
			for i := 0; ; i += readBatch {
				if err := ctx.Err(); err != nil {
					yield(backend.SeriesChunk{}, err)
					return
				}
				b.d.mu.RLock()
				chunk := b.d.series[k].appendRange(nil, i, i+readBatch, nil)
				b.d.mu.RUnlock()
				if len(chunk) == 0 {
					break
				}
				if !yield(backend.SeriesChunk{ID: k.id, Name: k.name, Points: chunk}, nil) {
					return
				}
			}
		}
		if after != nil {
			yield(backend.SeriesChunk{}, after)
		}
	}
}
