package backend

import (
	"context"
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
	// Close releases the backend's resources. Later calls return ErrClosed.
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
	// List returns the records of coll that match q, sorted by id
	// ascending (generated ids are time-ordered), or descending when
	// q.Desc is set. Ids compare byte-wise. A missing collection yields an
	// empty list, not an error.
	List(ctx context.Context, coll string, q Query) ([]Item, error)
}

// Query selects records for Lister.List.
type Query struct {
	// Where holds conditions that must all hold.
	Where []Cond
	// Limit caps the number of items; 0 means no limit.
	Limit int
	// Desc lists in descending id order: newest first for generated ids.
	Desc bool
	// After, when not empty, keeps only the ids that come after it in the
	// listing order (greater ids, or smaller ones with Desc). Passing the
	// last id of one page gives the next page.
	After string
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
	// ReadSeries returns every point of that metric in append order, or an
	// empty slice when there is none.
	ReadSeries(ctx context.Context, coll, id, name string) ([]Point, error)
}
