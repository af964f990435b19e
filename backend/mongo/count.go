package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/recordlab/go-record/backend"
)

var _ backend.Counter = (*Backend)(nil)

// Count implements backend.Counter with the server's count of the
// collection's documents (exact, unlike the estimated count from
// metadata).
func (b *Backend) Count(ctx context.Context, coll string) (int64, error) {
	n, err := b.db.Collection(coll).CountDocuments(ctx, bson.D{})
	if err != nil {
		return 0, fail(ctx, err)
	}
	return n, nil
}
