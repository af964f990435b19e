package mongo

import (
	"context"

	"github.com/recordlab/go-record/backend"
)

// UseMongoDBMerge makes Merge take the MongoDB code path (one guarded
// update, classification after the fact) even on FerretDB, so that the
// tests exercise it; values keep the server's encoding.
func UseMongoDBMerge(b *Backend) {
	b.ferret = false
}

// HexAfter exposes hexAfter to the tests.
var HexAfter = hexAfter

// InsertBatchPoints stores the points of a batch as ApplyBatch does, and
// nothing else: the state a crash between its two writes leaves.
func InsertBatchPoints(ctx context.Context, b *Backend, coll, id string, bt backend.Batch) error {
	return b.insertBatchPoints(ctx, coll, id, bt)
}

// Busy exposes busy to the tests.
func Busy(b *Backend, err error) bool { return b.busy(err) }
