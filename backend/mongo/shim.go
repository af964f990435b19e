package mongo

import (
	"context"
	"iter"

	"github.com/recordlab/go-record/backend"
)

// List implements backend.Lister. TEMPORARY: sorts in Go.
func (b *Backend) List(ctx context.Context, coll string, q backend.Query) iter.Seq2[backend.Item, error] {
	return backend.SortItems(q, func(yield func(backend.Item, error) bool) {
		q2 := q
		q2.OrderBy, q2.Limit = nil, 0
		if q.OrderBy != nil {
			q2.Desc = false
		}
		items, err := b.listSlice(ctx, coll, q2)
		if err != nil {
			yield(backend.Item{}, err)
			return
		}
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	})
}

// ReadSeries implements backend.SeriesStore. TEMPORARY: one batch.
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		pts, err := b.readSlice(ctx, coll, id, name)
		if err != nil {
			yield(nil, err)
			return
		}
		if len(pts) > 0 {
			yield(pts, nil)
		}
	}
}
