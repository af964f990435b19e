package backend

import "context"

// Batch is one write of a Record's background writer: the points of one
// metric together with the change to the record's document that they
// bring (the metric's summary, the writer's progress mark, the
// heartbeat). Package record builds it; an adapter makes it atomic.
type Batch struct {
	// Writer identifies one writing handle and Seq numbers its batches 1,
	// 2, 3, ... A handle sends batch n+1 only after batch n was applied,
	// so (Writer, Seq) names a batch for ever: an adapter that cannot make
	// Points and the document change one atomic step uses it to make the
	// points' write idempotent (a deterministic key that a retry hits).
	Writer string
	Seq    int64
	// Metric names the series that Points are appended to; it is empty,
	// and Points nil, when the batch changes only the document.
	Metric string
	Points []Point
	// Reads are the paths of the document that Update reads.
	Reads [][]string
	// Guard is the path of a number in the document that every applied
	// Update changes (package record passes a counter of applied batches).
	// An adapter without transactions may apply Update's ops only if the
	// value at Guard is still the one it passed to Update (compare and
	// swap), and call Update again otherwise.
	Guard []string
	// Update is given the stored document (or a projection of it holding
	// at least Reads and Guard; read-only) and returns the ops to apply to
	// it. apply false means the batch was applied before: the adapter then
	// changes nothing, stores no point and returns nil. An error from
	// Update is returned as is, with nothing changed. Update is pure and
	// may be called more than once per ApplyBatch.
	Update func(doc map[string]any) (ops []Op, apply bool, err error)
}

// BatchStore is implemented by backends that apply a Batch exactly once
// and atomically. If a Backend does not implement it, package record
// reads the document with Get and writes points and ops with one Merge
// (and AppendSeries): exactly once for one writer at a time, but
// concurrent writers of one metric of one record may then lose summary
// updates.
type BatchStore interface {
	SeriesStore
	// ApplyBatch reads the document of (coll, id), calls b.Update and, if
	// it says apply, appends b.Points to the series b.Metric and applies
	// the ops, as one atomic step where the database allows: concurrent
	// ApplyBatch calls on one record, from any number of processes, must
	// each see the document as the previous one left it (a row lock or a
	// transaction, or compare and swap on b.Guard). Where the points and
	// the document cannot change in one step, the points are written
	// first, idempotently by (Writer, Seq), so that a crash in between
	// leaves points without their summary (which Resume repairs), never a
	// summary without its points. ErrNotFound if the record is absent.
	ApplyBatch(ctx context.Context, coll, id string, b Batch) error
	// SeriesNames returns the names of the metrics of (coll, id) that
	// have stored points, sorted; none when there are none.
	SeriesNames(ctx context.Context, coll, id string) ([]string, error)
}
