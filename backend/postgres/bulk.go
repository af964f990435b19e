package postgres

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
)

var _ backend.SeriesScanner = (*Backend)(nil)

// bulkPage is how many rows of the series table one query of ScanSeries
// reads: each row is one chunk of a series.
const bulkPage = 1024

// scanSeriesSQL reads a page of series rows of one collection after a
// key, in primary key order (collection, id, name, seq), so that the
// index gives the order and each page resumes where the last one ended.
// The columns are collate "C": the order is Go's.
func (b *Backend) scanSeriesSQL() string {
	return `select id, name, seq, steps, vals, times from ` + b.series + `
		where collection = $1 and (id, name, seq) > ($2, $3, $4)
		order by id, name, seq limit $5`
}

// ScanSeries implements backend.SeriesScanner: one query per bulkPage
// rows (keyset pagination, so that no cursor stays open between pages),
// each row yielded as one chunk.
func (b *Backend) ScanSeries(ctx context.Context, coll, from string) iter.Seq2[backend.SeriesChunk, error] {
	return func(yield func(backend.SeriesChunk, error) bool) {
		q := b.scanSeriesSQL()
		// Metric names are never empty, so ("from", "", 0) precedes every
		// row of the record "from".
		id, name, seq := from, "", int64(0)
		for {
			n, stopped := 0, false
			var (
				steps []int64
				vals  []float64
				times []time.Time
			)
			err := b.scan(ctx, q, []any{coll, id, name, seq, bulkPage}, func(rows pgx.Rows) (bool, error) {
				if err := rows.Scan(&id, &name, &seq, &steps, &vals, &times); err != nil {
					return false, classify(err)
				}
				n++
				if len(steps) == 0 {
					return true, nil
				}
				if len(vals) != len(steps) || len(times) != len(steps) {
					return false, fmt.Errorf("postgres: series row %d has arrays of unequal length: %w", seq, backend.ErrInvalid)
				}
				pts := make([]backend.Point, len(steps))
				for i := range steps {
					pts[i] = backend.Point{Step: steps[i], Value: vals[i], Time: times[i].UTC()}
				}
				stopped = !yield(backend.SeriesChunk{ID: id, Name: name, Points: pts}, nil)
				return !stopped, nil
			})
			if err != nil {
				yield(backend.SeriesChunk{}, err)
				return
			}
			if stopped || n < bulkPage {
				return
			}
		}
	}
}
