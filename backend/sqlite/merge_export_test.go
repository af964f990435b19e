package sqlite

import (
	"context"

	"github.com/recordlab/go-record/backend"
)

// MergeInSQL runs only the SQL statement of a Merge (no fallback to Go):
// done is false when it changed nothing (absent record, conflicting op) or
// the ops do not fit one statement.
func MergeInSQL(ctx context.Context, b *Backend, coll, id string, ops []backend.Op) (done bool, err error) {
	return b.mergeSQL(ctx, coll, id, ops)
}
