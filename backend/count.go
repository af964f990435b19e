package backend

import "context"

// Counter is implemented by backends that count the records of a
// collection without listing them (an index-only count in SQL, a count
// command in Mongo).
//
// If a Backend does not implement Counter, record.Store.Count lists the
// ids of the collection and counts them.
type Counter interface {
	// Count returns the number of records in coll: 0 for a collection
	// that does not exist.
	Count(ctx context.Context, coll string) (int64, error)
}
