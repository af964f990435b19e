package postgres

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
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
// seriesChunk points (arrays of steps, values and times, with the chunk's
// smallest and greatest step and its block summaries), in one round trip
// and one transaction.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if len(pts) == 0 {
		return nil
	}
	if len(pts) <= seriesChunk {
		_, err := b.pool.Exec(ctx, b.sqlChunkInsert(), chunkArgs(coll, id, name, pts)...)
		return classifyCtx(ctx, err)
	}
	// Several chunks: one pipelined batch runs as one implicit transaction.
	var batch pgx.Batch
	b.queueParts(&batch, coll, id, []backend.Part{{Metric: name, Points: pts}})
	return classifyCtx(ctx, b.pool.SendBatch(ctx, &batch).Close())
}

// sqlChunkInsert is the statement that stores one chunk of points.
func (b *Backend) sqlChunkInsert() string {
	return `insert into ` + b.series + ` (collection, id, name, steps, vals, times, lo, hi, sums) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
}

// chunkArgs are the arguments of sqlChunkInsert for the chunk pts (not
// empty): its arrays, its smallest and greatest step, and the encoded
// block summaries of its points.
func chunkArgs(coll, id, name string, pts []backend.Point) []any {
	lo, hi := pts[0].Step, pts[0].Step
	for _, p := range pts {
		lo, hi = min(lo, p.Step), max(hi, p.Step)
	}
	return []any{coll, id, name, pointSteps(pts), pointValues(pts), pointTimes(pts), lo, hi, rollup.Encode(rollup.Blocks(pts))}
}

// ReadSeries yields the points of one metric in append order, in batches
// of about seriesBatch points, reading the rows seriesPage at a time (by
// their seq, so a page lost with its connection is read again).
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return b.readChunks(ctx, b.sqlSeriesRead, []any{coll, id, name}, nil)
}

// readChunks yields the points of the rows that sql selects, in append
// order, in batches of about seriesBatch points, keeping those whose step
// lies in r (all when r is nil). sql takes args, then the seq after which
// to read and the page size (the two parameters after args), and selects
// seq, steps, vals and times ordered by seq.
func (b *Backend) readChunks(ctx context.Context, sql string, args []any, r *backend.StepRange) iter.Seq2[[]backend.Point, error] {
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
		args := append(args[:len(args):len(args)], int64(0), seriesPage)
		for {
			n := 0
			args[len(args)-2] = after
			err := b.scan(ctx, sql, args, func(rows pgx.Rows) (bool, error) {
				if err := rows.Scan(&seq, &steps, &vals, &times); err != nil {
					return false, classify(err)
				}
				n++
				after = seq
				if len(steps) != len(vals) || len(steps) != len(times) {
					return false, fmt.Errorf("postgres: series row %d has arrays of unequal length: %w", seq, backend.ErrInvalid)
				}
				if batch == nil {
					batch = make([]backend.Point, 0, seriesBatch)
				}
				for i, step := range steps {
					if r == nil || step >= r.From && step <= r.To {
						batch = append(batch, backend.Point{Step: step, Value: vals[i], Time: times[i].UTC()})
					}
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
