package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/recordlab/go-record/backend"
)

var _ backend.MultiBatchStore = (*Backend)(nil)

// ApplyBatch implements backend.BatchStore in one BEGIN IMMEDIATE
// transaction: it reads the document under the database's write lock,
// calls bt.Update and, if it says apply, applies the ops as Merge does and
// appends bt.Points to the series bt.Metric as AppendSeries does, then
// commits. Concurrent calls from goroutines or processes therefore each see
// the document as the previous one left it. An error from Update is
// returned unchanged and nothing is written; ErrNotFound if the record is
// absent.
func (b *Backend) ApplyBatch(ctx context.Context, coll, id string, bt backend.Batch) error {
	return b.applyParts(ctx, coll, id, []backend.Part{{Seq: bt.Seq, Metric: bt.Metric, Points: bt.Points}}, bt.Update)
}

// ApplyBatches implements backend.MultiBatchStore as ApplyBatch does, in
// one BEGIN IMMEDIATE transaction for every part: one read and one write
// of the document, then the points of each part.
func (b *Backend) ApplyBatches(ctx context.Context, coll, id string, bt backend.MultiBatch) error {
	return b.applyParts(ctx, coll, id, bt.Parts, bt.Update)
}

// applyParts is ApplyBatch and ApplyBatches.
func (b *Backend) applyParts(ctx context.Context, coll, id string, parts []backend.Part,
	update func(map[string]any) ([]backend.Op, bool, error)) error {
	var updateErr error
	err := b.write(ctx, func(tx *sql.Tx) error {
		doc, err := b.getTx(ctx, tx, coll, id)
		if err != nil {
			return err
		}
		ops, apply, err := update(doc)
		if err != nil {
			updateErr = err
			return errUpdate
		}
		if !apply {
			return nil // the transaction wrote nothing: its commit is a no-op
		}
		if err := b.putTx(ctx, tx, coll, id, doc, ops); err != nil {
			return err
		}
		for _, p := range parts {
			if err := b.appendTx(ctx, tx, coll, id, p.Metric, p.Points); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errUpdate):
		return updateErr
	case errors.Is(err, sql.ErrNoRows):
		return errNotFound
	}
	return fail(err)
}

// errUpdate rolls back the transaction of an ApplyBatch whose Update
// failed; ApplyBatch returns Update's own error instead.
var errUpdate = errors.New("update failed")

// SeriesNames implements backend.BatchStore: the names of the series of
// (coll, id) that hold points, in byte order.
func (b *Backend) SeriesNames(ctx context.Context, coll, id string) ([]string, error) {
	return b.queryStrings(ctx, func() (*sql.Rows, error) {
		st, err := b.read(ctx, b.q.seriesNames, func() string { return b.q.seriesNames })
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, coll, id)
	})
}
