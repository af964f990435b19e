package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"iter"
	"math"
	"time"

	"github.com/recordlab/go-record/backend"
)

// AppendSeries stores pts after the points already stored for (coll, id,
// name), in one transaction: one upsert of the series row, which reserves
// the sequence numbers, then multi-row INSERTs of seriesBatch points with
// a statement prepared once, and the block summaries of the points'
// groups (appendBlocks). Values are stored as their IEEE 754 bits, so NaN
// payloads and -0 survive.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if len(pts) == 0 {
		return nil
	}
	return fail(b.write(ctx, func(tx *sql.Tx) error {
		return b.appendTx(ctx, tx, coll, id, name, pts)
	}))
}

// appendTx is AppendSeries inside tx: the caller commits or rolls back.
func (b *Backend) appendTx(ctx context.Context, tx *sql.Tx, coll, id, name string, pts []backend.Point) error {
	if len(pts) == 0 {
		return nil
	}
	var sid, n int64
	var sums []byte // the summaries of the group the points start inside of
	if err := tx.StmtContext(ctx, b.upsert).QueryRowContext(ctx, coll, id, name, len(pts)).Scan(&sid, &n, &sums); err != nil {
		return err
	}
	seq := n - int64(len(pts))
	if err := b.appendBlocks(ctx, tx, sid, seq, pts, sums); err != nil {
		return err
	}
	ins := tx.StmtContext(ctx, b.ins)
	args := make([]any, pointArgs*seriesBatch)
	rest := pts
	for len(rest) >= seriesBatch {
		fill(args, sid, seq, rest[:seriesBatch])
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return err
		}
		seq += seriesBatch
		rest = rest[seriesBatch:]
	}
	if len(rest) > 0 {
		args = args[:pointArgs*len(rest)]
		fill(args, sid, seq, rest)
		if _, err := tx.ExecContext(ctx, insertPointsSQL(`"`+b.table+`_points"`, len(rest)), args...); err != nil {
			return err
		}
	}
	return nil
}

// pointArgs is the number of parameters per point in insertPointsSQL.
const pointArgs = 5

func fill(args []any, sid, seq int64, pts []backend.Point) {
	for i, p := range pts {
		a := args[pointArgs*i:]
		a[0] = sid
		a[1] = seq + int64(i)
		a[2] = p.Step
		a[3] = int64(math.Float64bits(p.Value))
		a[4] = p.Time.UnixMilli()
	}
}

// readBatch is the number of points ReadSeries reads and yields at a time.
const readBatch = 4096

// ReadSeries yields the points of the series in append order, readBatch
// at a time. Each batch is one query that resumes after the last sequence
// number read (keyset pagination on the points' primary key), so no read
// transaction stays open while the caller works on a batch, and memory
// holds one batch however long the series.
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		var sid int64
		err := b.retry(ctx, func() error {
			st, err := b.read(ctx, b.q.seriesID, func() string { return b.q.seriesID })
			if err != nil {
				return err
			}
			return st.QueryRowContext(ctx, coll, id, name).Scan(&sid)
		})
		if errors.Is(err, sql.ErrNoRows) {
			return
		}
		if err != nil {
			yield(nil, fail(err))
			return
		}
		for after := int64(-1); ; {
			var pts []backend.Point
			var last int64
			err := b.retry(ctx, func() error {
				pts = make([]backend.Point, 0, readBatch)
				st, err := b.read(ctx, b.q.readPoints, func() string { return b.q.readPoints })
				if err != nil {
					return err
				}
				rows, err := st.QueryContext(ctx, sid, after, readBatch)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var seq, step, bits, ms int64
					if err := rows.Scan(&seq, &step, &bits, &ms); err != nil {
						return err
					}
					last = seq
					pts = append(pts, backend.Point{
						Step:  step,
						Value: math.Float64frombits(uint64(bits)),
						Time:  time.UnixMilli(ms).UTC(),
					})
				}
				return rows.Err()
			})
			if err != nil {
				yield(nil, fail(err))
				return
			}
			after = last
			if len(pts) > 0 && !yield(pts, nil) || len(pts) < readBatch {
				return
			}
		}
	}
}
