package postgres

import (
	"context"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
)

const (
	// seriesChunk is the most points one row of the series table holds. A
	// batch of AppendSeries becomes ceil(len/seriesChunk) rows.
	seriesChunk = 1000
	// seriesBatch is about the most points ReadSeries yields at once.
	seriesBatch = 4 * seriesChunk
	// seriesPage is how many rows one query of ReadSeries reads, so that a
	// reader who stops early leaves at most that many unread.
	seriesPage = 256
)

// AppendSeries stores a batch of points of one metric as rows of
// seriesChunk points (arrays of steps, values and times), in one round trip
// and one transaction.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if len(pts) == 0 {
		return nil
	}
	if len(pts) <= seriesChunk {
		steps, vals, times := columns(pts)
		_, err := b.pool.Exec(ctx, b.sqlSeriesInsert, coll, id, name, steps, vals, times)
		return classifyCtx(ctx, err)
	}
	// Several chunks: one pipelined batch runs as one implicit transaction.
	var batch pgx.Batch
	for start := 0; start < len(pts); start += seriesChunk {
		steps, vals, times := columns(pts[start:min(start+seriesChunk, len(pts))])
		batch.Queue(b.sqlSeriesInsert, coll, id, name, steps, vals, times)
	}
	return classifyCtx(ctx, b.pool.SendBatch(ctx, &batch).Close())
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

// ReadSeries yields the points of one metric in append order, in batches
// of about seriesBatch points, reading the rows seriesPage at a time (by
// their seq, so a page lost with its connection is read again).
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		var (
			after   int64 // the seq of the last row read
			batch   []backend.Point
			stopped bool
			seq     int64
			steps   []int64
			vals    []float64
			times   []time.Time
		)
		for {
			n := 0
			err := b.scan(ctx, b.sqlSeriesRead, []any{coll, id, name, after, seriesPage}, func(rows pgx.Rows) (bool, error) {
				if err := rows.Scan(&seq, &steps, &vals, &times); err != nil {
					return false, classify(err)
				}
				n++
				after = seq
				if batch == nil {
					batch = make([]backend.Point, 0, seriesBatch)
				}
				for i := range steps {
					batch = append(batch, backend.Point{Step: steps[i], Value: vals[i], Time: times[i].UTC()})
				}
				if len(batch) >= seriesBatch-seriesChunk {
					stopped = !yield(batch, nil)
					batch = nil
				}
				return !stopped, nil
			})
			if err != nil {
				yield(nil, err)
				return
			}
			if stopped {
				return
			}
			if n < seriesPage {
				break
			}
		}
		if len(batch) > 0 {
			yield(batch, nil)
		}
	}
}
