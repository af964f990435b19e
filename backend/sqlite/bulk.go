package sqlite

import (
	"context"
	"database/sql"
	"iter"
	"math"
	"time"

	"github.com/recordlab/go-record/backend"
)

var _ backend.SeriesScanner = (*Backend)(nil)

// scanSeriesSQL reads the points of the series of one collection from an
// id on, in (id, name, seq) order: the series catalogue's unique index
// gives (id, name) order and the points' primary key (sid, seq) the
// points' order, so SQLite sorts nothing and the rows stream.
func (b *Backend) scanSeriesSQL() string {
	return `SELECT s.id, s.name, p.step, p.value, p.time FROM "` + b.table + `_series" AS s
	JOIN "` + b.table + `_points" AS p ON p.sid = s.sid
	WHERE s.collection = ? AND s.id >= ?
	ORDER BY s.id, s.name, p.seq`
}

// ScanSeries implements backend.SeriesScanner with one streamed query (as
// List does), yielding chunks of readBatch points.
func (b *Backend) ScanSeries(ctx context.Context, coll, from string) iter.Seq2[backend.SeriesChunk, error] {
	return func(yield func(backend.SeriesChunk, error) bool) {
		var rows *sql.Rows
		err := b.retry(ctx, func() error {
			st, err := b.read(ctx, "scanSeries", b.scanSeriesSQL)
			if err != nil {
				return err
			}
			rows, err = st.QueryContext(ctx, coll, from)
			return err
		})
		if err != nil {
			yield(backend.SeriesChunk{}, fail(err))
			return
		}
		defer rows.Close()
		var (
			cur      backend.SeriesChunk
			id, name sql.RawBytes
		)
		var step, bits, ms int64
		for rows.Next() {
			if err := rows.Scan(&id, &name, &step, &bits, &ms); err != nil {
				yield(backend.SeriesChunk{}, fail(err))
				return
			}
			if string(id) != cur.ID || string(name) != cur.Name || len(cur.Points) == readBatch {
				more := len(cur.Points) == readBatch && string(id) == cur.ID && string(name) == cur.Name
				if len(cur.Points) > 0 && !yield(cur, nil) {
					return
				}
				if string(id) != cur.ID {
					cur.ID = string(id)
				}
				if string(name) != cur.Name {
					cur.Name = string(name)
				}
				// Most series are short: grown by append, unless the
				// last chunk was full and this one continues it.
				cur.Points = nil
				if more {
					cur.Points = make([]backend.Point, 0, readBatch)
				}
			}
			cur.Points = append(cur.Points, backend.Point{
				Step:  step,
				Value: math.Float64frombits(uint64(bits)),
				Time:  time.UnixMilli(ms).UTC(),
			})
		}
		if err := rows.Err(); err != nil {
			yield(backend.SeriesChunk{}, fail(err))
			return
		}
		if len(cur.Points) > 0 {
			yield(cur, nil)
		}
	}
}
