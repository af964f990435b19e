package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
)

// seriesChunk is the most points one row of the series table holds. A
// batch of AppendSeries becomes ceil(len/seriesChunk) rows.
const seriesChunk = 1000

// AppendSeries stores a batch of points of one metric as rows of
// seriesChunk points (arrays of steps, values and times), in one round trip
// and one transaction.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if err := b.checkOpen("append series"); err != nil {
		return err
	}
	if len(pts) == 0 {
		return nil
	}
	op := "append series " + coll + "/" + id + " " + name
	if len(pts) <= seriesChunk {
		steps, vals, times := columns(pts)
		if _, err := b.pool.Exec(ctx, b.sqlSeriesInsert, coll, id, name, steps, vals, times); err != nil {
			return b.fail(op, err)
		}
		return nil
	}
	// Several chunks: one pipelined batch runs as one implicit transaction.
	var batch pgx.Batch
	for start := 0; start < len(pts); start += seriesChunk {
		steps, vals, times := columns(pts[start:min(start+seriesChunk, len(pts))])
		batch.Queue(b.sqlSeriesInsert, coll, id, name, steps, vals, times)
	}
	if err := b.pool.SendBatch(ctx, &batch).Close(); err != nil {
		return b.fail(op, err)
	}
	return nil
}

func columns(pts []backend.Point) (steps []int64, vals []float64, times []time.Time) {
	steps = make([]int64, len(pts))
	vals = make([]float64, len(pts))
	times = make([]time.Time, len(pts))
	for i, p := range pts {
		steps[i], vals[i], times[i] = p.Step, p.Value, p.Time
	}
	return steps, vals, times
}

// ReadSeries returns every point of one metric in append order.
func (b *Backend) readSlice(ctx context.Context, coll, id, name string) ([]backend.Point, error) {
	if err := b.checkOpen("read series"); err != nil {
		return nil, err
	}
	var pts []backend.Point
	err := b.retryRead(ctx, func() error {
		pts = []backend.Point{}
		rows, err := b.pool.Query(ctx, b.sqlSeriesRead, coll, id, name)
		if err != nil {
			return b.fail("read series "+coll+"/"+id+" "+name, err)
		}
		defer rows.Close()
		var (
			steps []int64
			vals  []float64
			times []time.Time
		)
		for rows.Next() {
			if err := rows.Scan(&steps, &vals, &times); err != nil {
				return b.fail("read series "+coll+"/"+id+" "+name, err)
			}
			for i := range steps {
				pts = append(pts, backend.Point{Step: steps[i], Value: vals[i], Time: times[i].UTC()})
			}
		}
		if err := rows.Err(); err != nil {
			return b.fail("read series "+coll+"/"+id+" "+name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pts, nil
}
