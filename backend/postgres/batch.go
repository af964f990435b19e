package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recordlab/go-record/backend"
)

var _ backend.BatchStore = (*Backend)(nil)

// ApplyBatch implements backend.BatchStore with one transaction on one
// connection, in two round trips: BEGIN together with a SELECT ... FOR
// UPDATE of the paths bt.Reads and bt.Guard (the whole document when
// there are none), which makes concurrent calls on the record wait for
// each other; then, if bt.Update says apply, the rows of bt.Points (as
// AppendSeries writes them), the ops (as Merge applies them) and COMMIT.
// Any error on the way rolls everything back: a conflicting op stores no
// point either. When this Backend wrote the record last and knows the
// values at bt.Reads and bt.Guard that it left, it first tries one
// statement instead (see pgbatch_cas.go): the points and the ops, applied
// only if those values are still stored.
func (b *Backend) ApplyBatch(ctx context.Context, coll, id string, bt backend.Batch) error {
	var parts []backend.Part
	if len(bt.Points) > 0 {
		parts = []backend.Part{{Seq: bt.Seq, Metric: bt.Metric, Points: bt.Points}}
	}
	return b.applyParts(ctx, coll, id, parts, bt.Reads, bt.Guard, bt.Update)
}

// applyParts is ApplyBatch and ApplyBatches: the points of parts and the
// ops of update in one transaction.
func (b *Backend) applyParts(ctx context.Context, coll, id string, parts []backend.Part, reads0 [][]string, guard []string,
	update func(map[string]any) ([]backend.Op, bool, error)) error {
	var reads [][]string
	if len(reads0) > 0 || len(guard) > 0 {
		reads = append(reads, reads0...)
		if len(guard) > 0 {
			reads = append(reads, guard)
		}
	}
	fields := projection(reads)
	if fields != nil {
		if guess := b.guess(coll, id); guess != nil {
			applied, err := b.applyGuessed(ctx, coll, id, parts, fields, guess, update)
			var dial *pgconn.ConnectError
			switch {
			case err != nil && ctx.Err() == nil && connLost(err) && !errors.As(err, &dial):
				// A pooled connection that broke since its last use: the
				// statement may or may not have run, which the locking
				// path below tells by calling Update on the stored
				// document, as the caller's own retry would.
				b.remember(coll, id, nil, nil)
			case err != nil:
				b.remember(coll, id, nil, nil)
				return err
			case applied:
				return nil
			}
		}
	}
	conn, doc, err := b.lockDoc(ctx, coll, id, fields)
	var dial *pgconn.ConnectError
	if err != nil && ctx.Err() == nil && connLost(err) && !errors.As(err, &dial) {
		// A pooled connection that broke since its last use (the server
		// restarted): nothing was written yet, so try once more.
		conn, doc, err = b.lockDoc(ctx, coll, id, fields)
	}
	if err != nil {
		return classifyCtx(ctx, err)
	}
	// A connection released inside a transaction (an error on the way) is
	// closed by the pool, and the server rolls the transaction back.
	defer conn.Release()
	ops, apply, err := update(doc)
	if err != nil {
		doc = nil
	}
	if err != nil || !apply {
		rollback(ctx, conn)
		if fields != nil {
			b.remember(coll, id, doc, nil) // forgets it after an error
		}
		return err
	}
	var write pgx.Batch
	b.queueParts(&write, coll, id, parts)
	if len(ops) > 0 {
		sql, args, err := b.updateDoc(coll, id, doc, fields, ops)
		if err != nil {
			rollback(ctx, conn)
			return err
		}
		write.Queue(sql, args...)
	}
	write.Queue("commit")
	// The statements run in order; after an error the server skips the
	// rest, COMMIT included, so nothing of the batch is stored.
	if err := conn.SendBatch(ctx, &write).Close(); err != nil {
		rollback(ctx, conn)
		b.remember(coll, id, nil, nil)
		return classifyCtx(ctx, err)
	}
	if fields != nil {
		b.remember(coll, id, doc, ops)
	}
	return nil
}

// updateDoc returns the UPDATE that applies ops to the document of
// (coll, id), with its arguments: a fast merge where proj, the values at
// fields that the ops were computed from, allows (fields nil: unknown),
// else the merge function.
func (b *Backend) updateDoc(coll, id string, proj map[string]any, fields [][]string, ops []backend.Op) (string, []any, error) {
	if fields != nil {
		if expr, args, ok := fastMerge(proj, fields, ops, []any{coll, id}); ok {
			return `update ` + b.records + ` set doc = ` + expr + `, updated_at = now() where collection = $1 and id = $2`, args, nil
		}
	}
	data, err := encodeOps(ops)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w: %w", backend.ErrInvalid, err)
	}
	return b.sqlMerge, []any{coll, id, data}, nil
}

// lockDoc acquires a connection, begins a transaction on it and reads
// the document of (coll, id), or the values at fields (nil: the whole
// document), locking its row until the transaction ends. On error it
// releases the connection (a broken one, or one inside the transaction,
// is closed, which rolls back) and returns the driver's error
// unclassified, or ErrNotFound if there is no such record.
func (b *Backend) lockDoc(ctx context.Context, coll, id string, fields [][]string) (*pgxpool.Conn, map[string]any, error) {
	args := []any{coll, id}
	sql := "select id"
	if fields == nil {
		sql += ", doc"
	}
	for _, f := range fields {
		sql += ", " + member(f, func(k string) string {
			args = append(args, k)
			return fmt.Sprintf("$%d", len(args))
		})
	}
	sql += " from " + b.records + " where collection = $1 and id = $2 for update"
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	var read pgx.Batch
	read.Queue("begin")
	read.Queue(sql, args...)
	br := conn.SendBatch(ctx, &read)
	var (
		doc    map[string]any
		found  bool
		rowErr error
	)
	_, err = br.Exec()
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			if rows.Next() {
				found = true
				var it backend.Item
				if it, rowErr = newReader(fields).item(rows); rowErr == nil {
					doc = it.Doc
				}
			}
			rows.Close()
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr // else the same error again
	}
	switch {
	case err == nil && rowErr != nil:
		err = rowErr
	case err == nil && !found:
		err = errNotFound
	}
	if err != nil {
		rollback(ctx, conn)
		conn.Release()
		return nil, nil, err
	}
	return conn, doc, nil
}

// rollback ends the transaction open on conn, if any, so that the
// connection can be reused. Where that fails, or ctx is done, the pool
// closes the connection on release, which rolls back as well.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	if ctx.Err() != nil || conn.Conn().IsClosed() || conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	_, _ = conn.Exec(ctx, "rollback")
}

// SeriesNames implements backend.BatchStore: the distinct names of the
// series rows of (coll, id), sorted bytewise (the column's collation is
// "C").
func (b *Backend) SeriesNames(ctx context.Context, coll, id string) ([]string, error) {
	var names []string
	err := b.scan(ctx, b.sqlSeriesNames, []any{coll, id}, func(rows pgx.Rows) (bool, error) {
		var name string
		if err := rows.Scan(&name); err != nil {
			return false, classifyCtx(ctx, err)
		}
		names = append(names, name)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}
