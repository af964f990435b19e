package postgres

import (
	"context"

	"github.com/recordlab/go-record/backend"
)

var _ backend.Counter = (*Backend)(nil)

// Count implements backend.Counter with a count over the primary key's
// index (collection, id).
func (b *Backend) Count(ctx context.Context, coll string) (int64, error) {
	var n int64
	err := b.retryRead(ctx, func() error {
		return b.pool.QueryRow(ctx, `select count(*) from `+b.records+` where collection = $1`, coll).Scan(&n)
	})
	if err != nil {
		return 0, classifyCtx(ctx, err)
	}
	return n, nil
}
