package sqlite

import (
	"context"

	"github.com/recordlab/go-record/backend"
)

var _ backend.Counter = (*Backend)(nil)

// Count implements backend.Counter with a count over the primary key's
// index (collection, id).
func (b *Backend) Count(ctx context.Context, coll string) (int64, error) {
	var n int64
	err := b.retry(ctx, func() error {
		return b.r.QueryRowContext(ctx, `SELECT count(*) FROM "`+b.table+`" WHERE collection = ?`, coll).Scan(&n)
	})
	return n, fail(err)
}
