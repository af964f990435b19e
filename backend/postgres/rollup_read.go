package postgres

import (
	"context"
	"fmt"
	"iter"
	"math"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

var _ backend.SeriesRanger = (*Backend)(nil)

// slicePoints is about the most points one query of DownsampleSeries reads
// from the arrays of the blocks it cannot take whole.
const slicePoints = 1 << 16

// ReadSeriesRange implements backend.SeriesRanger: it reads, seriesPage
// rows at a time and in append order, only the rows whose steps lo..hi
// overlap r (and the rows stored before version 2 of the table, which
// have no lo and hi), and yields their points whose step lies in r, in
// batches as ReadSeries does.
func (b *Backend) ReadSeriesRange(ctx context.Context, coll, id, name string, r backend.StepRange) iter.Seq2[[]backend.Point, error] {
	sql := `select seq, steps, vals, times from ` + b.series + `
		where collection = $1 and id = $2 and name = $3 and (lo is null or lo <= $5 and hi >= $4) and seq > $6
		order by seq limit $7`
	return b.readChunks(ctx, sql, []any{coll, id, name, r.From, r.To}, &r)
}

// DownsampleSeries implements backend.SeriesRanger in three steps:
//
//  1. one aggregate over the rows' lo and hi gives the series' extent
//     (rows stored before version 2 give theirs from their steps);
//  2. one query reads the block summaries of the rows that overlap the
//     planned range, not their points, and folds each block that falls
//     into one bucket;
//  3. the points of the other blocks (those that straddle a bucket
//     boundary or an end of the range, and every point of the rows
//     without summaries) are read as slices of the rows' arrays, with one
//     query per slicePoints points (sliceWorkers queries at once), and
//     folded.
func (b *Backend) DownsampleSeries(ctx context.Context, coll, id, name string, q backend.Downsample) ([]backend.Bucket, error) {
	var lo, hi *int64
	extent := `select min(coalesce(lo, (select min(x) from unnest(steps) x))), max(coalesce(hi, (select max(x) from unnest(steps) x)))
		from ` + b.series + ` where collection = $1 and id = $2 and name = $3`
	if err := b.retryRead(ctx, func() error { return b.pool.QueryRow(ctx, extent, coll, id, name).Scan(&lo, &hi) }); err != nil {
		return nil, err
	}
	if lo == nil || hi == nil {
		return nil, nil
	}
	plan, ok := rollup.NewPlan(q, *lo, *hi)
	if !ok {
		return nil, nil
	}
	f := rollup.NewFolder(plan)
	spans, err := b.foldSummaries(ctx, coll, id, name, f)
	if err != nil {
		return nil, err
	}
	if err := b.foldSpans(ctx, coll, id, name, spans, f); err != nil {
		return nil, err
	}
	return f.Buckets(), nil
}

// span is the points from..to (1-based, both included, as PostgreSQL's
// array slices count) of the series row seq.
type span struct {
	seq      int64
	from, to int32
}

// foldSummaries folds into f the blocks of the rows that overlap f's
// range and fall into one bucket each, and returns the spans of points it
// could not fold: the blocks that straddle (one slice of consecutive
// blocks per row), and the whole of the rows without summaries or with
// more than one such slice.
func (b *Backend) foldSummaries(ctx context.Context, coll, id, name string, f *rollup.Folder) ([]span, error) {
	sql := `select seq, sums from ` + b.series + `
		where collection = $1 and id = $2 and name = $3 and (lo is null or lo <= $5 and hi >= $4)`
	var (
		spans []span
		seq   int64
		sums  []byte
	)
	err := b.scan(ctx, sql, []any{coll, id, name, f.Plan().From, f.Plan().To}, func(rows pgx.Rows) (bool, error) {
		if err := rows.Scan(&seq, &sums); err != nil {
			return false, classify(err)
		}
		if sums == nil {
			spans = append(spans, span{seq: seq, from: 1, to: math.MaxInt32})
			return true, nil
		}
		blocks, size, err := rollup.Decode(sums)
		if err != nil {
			return false, fmt.Errorf("postgres: series row %d: %w: %w", seq, backend.ErrInvalid, err)
		}
		// The blocks to read as points, adjacent ones merged.
		var todo []span
		for i, s := range blocks {
			if !straddles(f.Plan(), s) {
				continue
			}
			from, to := int32(i*size+1), int32((i+1)*size)
			if n := len(todo); n > 0 && todo[n-1].to+1 == from {
				todo[n-1].to = to
				continue
			}
			todo = append(todo, span{seq: seq, from: from, to: to})
		}
		if len(todo) > 1 {
			// Each slice would fetch (detoast) the row's arrays again:
			// read them once, whole, and fold no block of the row.
			spans = append(spans, span{seq: seq, from: 1, to: math.MaxInt32})
			return true, nil
		}
		for _, s := range blocks {
			f.Block(s)
		}
		spans = append(spans, todo...)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return spans, nil
}

// foldSlices reads the points of spans with one query and folds them
// into f, holding mu (when not nil) while it folds.
func (b *Backend) foldSlices(ctx context.Context, coll, id, name string, spans []span, f *rollup.Folder, mu *sync.Mutex) error {
	seqs := make([]int64, len(spans))
	froms := make([]int32, len(spans))
	tos := make([]int32, len(spans))
	for i, s := range spans {
		seqs[i], froms[i], tos[i] = s.seq, s.from, s.to
	}
	// The arrays come in the binary format and are decoded here, not by
	// pgx's scan into slices, element by element.
	args := []any{pgx.QueryResultFormats{pgx.BinaryFormatCode, pgx.BinaryFormatCode, pgx.BinaryFormatCode}, coll, id, name, seqs, froms, tos}
	var pts []backend.Point
	return b.scan(ctx, b.sqlSlices(), args, func(rows pgx.Rows) (bool, error) {
		raw := rows.RawValues()
		var err error
		if pts, err = appendRawPoints(pts[:0], raw[0], raw[1], raw[2]); err != nil {
			return false, fmt.Errorf("postgres: series row of %s/%s %q: %w: %w", coll, id, name, backend.ErrInvalid, err)
		}
		if mu != nil {
			mu.Lock()
			defer mu.Unlock()
		}
		f.Points(pts)
		return true, nil
	})
}

// sqlSlices selects the slices of the arrays of the series rows that its
// arrays $4 (seq), $5 and $6 (the slices' first and last index) name, by
// one index probe each.
func (b *Backend) sqlSlices() string {
	return `select s.steps[r.a:r.b], s.vals[r.a:r.b], s.times[r.a:r.b]
		from unnest($4::bigint[], $5::int[], $6::int[]) as r(seq, a, b)
		join ` + b.series + ` s on s.collection = $1 and s.id = $2 and s.name = $3 and s.seq = r.seq`
}

// straddles reports whether Folder.Block of p refuses s: s has points in
// p's range and they do not all fall into one bucket.
func straddles(p rollup.Plan, s rollup.Summary) bool {
	if s.Count == 0 || s.Last.Step < p.From || s.First.Step > p.To {
		return false
	}
	i, ok1 := p.Index(s.First.Step)
	j, ok2 := p.Index(s.Last.Step)
	return !ok1 || !ok2 || i != j
}
