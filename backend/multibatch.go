package backend

import "context"

// Part is one batch inside a MultiBatch: the points of one metric, with
// the sequence number the writer gave that batch.
type Part struct {
	Seq    int64
	Metric string
	Points []Point
}

// MultiBatch is several consecutive batches of one writer, applied as one
// atomic step: the points of every part and one change to the record's
// document that covers them all (every metric's summary, the writer's
// mark set to the Seq of the last part, the heartbeat). Package record
// builds it from the batches queued by one cut, so that the points of
// many metrics cost one transaction and one rewrite of the document
// instead of one per metric.
type MultiBatch struct {
	// Writer identifies the writing handle, as in Batch.
	Writer string
	// Parts are in ascending, consecutive Seq order. A MultiBatch is
	// applied whole or not at all, so after an unknown outcome the writer
	// knows that its mark is below the first part's Seq or at least the
	// last one's, whatever it retries: this MultiBatch, a part of it, or
	// its parts one by one as Batches.
	Parts []Part
	// Reads, Guard and Update are as in Batch; Update's ops cover every
	// part, and apply false means every part was applied before.
	Reads  [][]string
	Guard  []string
	Update func(doc map[string]any) (ops []Op, apply bool, err error)
}

// MultiBatchStore is implemented by backends that apply several batches
// of one writer as one atomic step. If a BatchStore does not implement
// it, package record applies the batches one by one with ApplyBatch:
// exactly as safe, with one transaction and one document write per
// metric per cut.
type MultiBatchStore interface {
	BatchStore
	// ApplyBatches is ApplyBatch for several parts: it reads the document
	// of (coll, id), calls b.Update and, if it says apply, appends the
	// points of every part to its series and applies the ops, all in one
	// transaction: either everything is stored or nothing is.
	// ErrNotFound if the record is absent.
	ApplyBatches(ctx context.Context, coll, id string, b MultiBatch) error
}
