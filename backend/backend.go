package backend

import (
	"context"
	"iter"
	"time"
)

// Backend stores documents by collection and id. Implementations must be
// safe for concurrent use by many goroutines.
type Backend interface {
	// Insert stores a new document. It returns ErrExists if (coll, id) is taken.
	Insert(ctx context.Context, coll, id string, doc map[string]any) error
	// Merge applies ops to one document atomically: all or none. It returns
	// ErrNotFound if the document is absent and ErrInvalid (changing nothing)
	// if an op conflicts with the document, see OpKind.
	Merge(ctx context.Context, coll, id string, ops []Op) error
	// Get returns a deep copy of the document. It returns ErrNotFound if absent.
	Get(ctx context.Context, coll, id string) (map[string]any, error)
	// Drop removes a whole collection, its records and their series.
	// Dropping a missing collection is not an error.
	Drop(ctx context.Context, coll string) error
	// Close releases the backend's resources. Package record makes no
	// call on a Backend after Close, and calls Close once.
	Close() error
}

// OpKind says what an Op does.
type OpKind int

const (
	// Set stores Value at Path, creating missing parent objects. A path that
	// runs through a scalar or an array is ErrInvalid.
	Set OpKind = iota + 1
	// Append appends the elements of Value ([]any) to the array at Path,
	// creating it if missing. Appending to a non-array is ErrInvalid.
	Append
	// Unset removes Path. Removing a missing path is not an error.
	Unset
)

// String returns the name of the kind: "set", "append" or "unset".
func (k OpKind) String() string {
	switch k {
	case Set:
		return "set"
	case Append:
		return "append"
	case Unset:
		return "unset"
	}
	return "invalid"
}

// Op is one change to a document. Package record guarantees that Path is
// non-empty, that its keys are valid, and that no two ops of one Merge have
// paths where one is a prefix of the other.
type Op struct {
	Kind  OpKind
	Path  []string
	Value any // Set: any stored value; Append: []any of elements; Unset: nil
}

// Deleter is implemented by backends that can delete one record.
type Deleter interface {
	// Delete removes the document and its series. ErrNotFound if absent.
	Delete(ctx context.Context, coll, id string) error
}

// Pinger is implemented by backends that can check their connection.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Lister is implemented by backends that can enumerate what they store.
type Lister interface {
	// Collections returns the names of the collections that hold at least
	// one record, sorted.
	Collections(ctx context.Context) ([]string, error)
	// List yields the records of coll that may satisfy q.Where, in the
	// order q asks for (see Query and Less). It may yield records that do
	// not satisfy every condition: package record applies Match to each
	// item exactly once, the way database/sql treats a driver's ErrSkip. It
	// must yield every record that does. A missing collection yields
	// nothing. An error is yielded once, as the last item. When the caller
	// stops early, List releases its cursor before returning.
	List(ctx context.Context, coll string, q Query) iter.Seq2[Item, error]
}

// Indexer is implemented by backends that can index the value at a path,
// so that Query.OrderBy on it with a Limit, and conditions on it, use the
// index instead of reading the whole collection.
type Indexer interface {
	// Index creates, if it does not exist yet, an index on the value at
	// path for the records of coll (or of every collection, where the
	// database keeps them in one table). It is idempotent and safe to call
	// from several processes at once.
	Index(ctx context.Context, coll string, path []string) error
}

// Query selects and orders records for Lister.List.
type Query struct {
	// Where holds conditions that must all hold. An adapter pushes down
	// what it can express and may ignore the rest.
	Where []Cond
	// OrderBy, when not nil, orders records by the value at this path (see
	// Less); nil orders them by id. Ties are broken by id, in the same
	// direction.
	OrderBy []string
	// Desc reverses the order: by id, newest first for generated ids; by
	// OrderBy, greatest value first (records without a comparable value
	// still come last).
	Desc bool
	// After, when not empty, keeps only the ids that come after it in id
	// order (greater ids, or smaller ones with Desc). Passing the last id of
	// one page gives the next page. Package record sets it only when
	// OrderBy is nil.
	After string
	// Limit, when positive, says that the caller stops after Limit records
	// that satisfy Where. An adapter whose every condition is pushed down
	// exactly may stop there; one that yields a superset must not.
	Limit int
	// Fields, when not nil, are the paths the caller will read: an adapter
	// may return documents that hold only these (and Where's and OrderBy's
	// paths, which package record always includes). A path that is absent
	// from a document is simply absent. Nil means the whole document.
	Fields [][]string
	// Omit, when not nil and Fields is nil, are paths the caller will not
	// read (none of them is, or lies under or above, a path of Where or
	// OrderBy): an adapter may leave them out of the documents it returns,
	// so that listing does not ship, say, the host facts of every record.
	Omit [][]string
}

// Follows reports whether id comes after q.After in q's listing order.
func (q Query) Follows(id string) bool {
	switch {
	case q.After == "":
		return true
	case q.Desc:
		return id < q.After
	}
	return id > q.After
}

// Item is one listed record.
type Item struct {
	ID  string
	Doc map[string]any
}

// Point is one value of a metric series.
type Point struct {
	Step  int64
	Value float64
	Time  time.Time // UTC, millisecond precision
}

// SeriesStore is implemented by backends that keep metric points outside
// the record document, so that appending costs the same at the millionth
// point as at the first.
type SeriesStore interface {
	// AppendSeries stores a batch of points of one metric of one record;
	// its cost is O(len(pts)). The record need not exist yet in the
	// backend's view of series, but Delete and Drop remove its points.
	AppendSeries(ctx context.Context, coll, id, name string, pts []Point) error
	// ReadSeries yields every point of that metric in append order, in
	// batches of the adapter's choosing (at most a few thousand points
	// each, so memory stays that of one batch however long the series),
	// and nothing when there is none. The caller owns each slice. An error
	// is yielded once, as the last item; when the caller stops early the
	// cursor is released.
	ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]Point, error]
}
