package sqlite

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/recordlab/go-record/backend"
)

// AppendSeries stores pts after the points already stored for (coll, id,
// name), in one transaction: one upsert of the series row, which reserves
// the sequence numbers, then multi-row INSERTs of seriesBatch points with
// a statement prepared once. Values are stored as their IEEE 754 bits, so
// NaN payloads and -0 survive.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if len(pts) == 0 {
		return b.wrap(ctx, b.check(ctx), "append series %s/%s %s", coll, id, name)
	}
	err := b.write(ctx, func(tx *sql.Tx) error {
		var sid, n int64
		if err := tx.StmtContext(ctx, b.upsert).QueryRowContext(ctx, coll, id, name, len(pts)).Scan(&sid, &n); err != nil {
			return err
		}
		seq := n - int64(len(pts))
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
	})
	return b.wrap(ctx, err, "append series %s/%s %s", coll, id, name)
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

// ReadSeries returns every point of the series in append order, or an
// empty slice.
func (b *Backend) readSlice(ctx context.Context, coll, id, name string) ([]backend.Point, error) {
	if err := b.check(ctx); err != nil {
		return nil, b.wrap(ctx, err, "read series %s/%s %s", coll, id, name)
	}
	var pts []backend.Point
	err := b.retry(ctx, func() error {
		pts = []backend.Point{}
		rows, err := b.r.QueryContext(ctx, b.q.readSeries, coll, id, name)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var step, bits, ms int64
			if err := rows.Scan(&step, &bits, &ms); err != nil {
				return err
			}
			pts = append(pts, backend.Point{
				Step:  step,
				Value: math.Float64frombits(uint64(bits)),
				Time:  time.UnixMilli(ms).UTC(),
			})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, b.wrap(ctx, err, "read series %s/%s %s", coll, id, name)
	}
	return pts, nil
}
