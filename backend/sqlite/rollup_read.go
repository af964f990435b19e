package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

var _ backend.SeriesRanger = (*Backend)(nil)

// seqRange is the sequence numbers from..to-1 of a series' points.
type seqRange struct{ from, to int64 }

// addRange appends r to rs, merging it into the last range when they
// touch; rs is in ascending order when the ranges are added in order.
func addRange(rs []seqRange, r seqRange) []seqRange {
	if n := len(rs); n > 0 && rs[n-1].to >= r.from && r.to >= rs[n-1].from {
		rs[n-1].from, rs[n-1].to = min(rs[n-1].from, r.from), max(rs[n-1].to, r.to)
		return rs
	}
	return append(rs, r)
}

// span is what <table>_blocks says about one group, without its summaries.
type span struct{ grp, n, lo, hi int64 }

// groups describes the groups of a series of n points as one read
// transaction sees them: the spans of the groups whose row holds exactly
// their points, and the ranges of points of the others (a row missing or
// behind: points written by an older version of this library while this
// one migrated), which readers must take from the points themselves.
type groups struct {
	n     int64 // points in the series
	spans []span
	bare  []seqRange
}

// expected is the number of points of group g in a series of n points.
func expected(g, n int64) int64 { return min(groupSize, n-g*groupSize) }

// loadGroups reads the series (coll, id, name) and the spans of its
// groups in tx; ok is false when the series does not exist.
func (b *Backend) loadGroups(ctx context.Context, tx *sql.Tx, coll, id, name string) (sid int64, gs groups, ok bool, err error) {
	st, err := b.txStmt(ctx, tx, b.q.seriesN)
	if err != nil {
		return 0, gs, false, err
	}
	if err := st.QueryRowContext(ctx, coll, id, name).Scan(&sid, &gs.n); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, gs, false, nil
		}
		return 0, gs, false, err
	}
	st, err = b.txStmt(ctx, tx, b.q.groupSpans)
	if err != nil {
		return 0, gs, false, err
	}
	rows, err := st.QueryContext(ctx, sid)
	if err != nil {
		return 0, gs, false, err
	}
	defer rows.Close()
	next := int64(0) // the first group not yet accounted for
	total := (gs.n + groupSize - 1) / groupSize
	for rows.Next() {
		var s span
		if err := rows.Scan(&s.grp, &s.n, &s.lo, &s.hi); err != nil {
			return 0, gs, false, err
		}
		if s.grp < next || s.grp >= total {
			continue
		}
		for ; next < s.grp; next++ {
			gs.bare = addRange(gs.bare, seqRange{next * groupSize, next*groupSize + expected(next, gs.n)})
		}
		next = s.grp + 1
		if s.n != expected(s.grp, gs.n) {
			gs.bare = addRange(gs.bare, seqRange{s.grp * groupSize, s.grp*groupSize + expected(s.grp, gs.n)})
			continue
		}
		gs.spans = append(gs.spans, s)
	}
	if err := rows.Err(); err != nil {
		return 0, gs, false, err
	}
	for ; next < total; next++ {
		gs.bare = addRange(gs.bare, seqRange{next * groupSize, next*groupSize + expected(next, gs.n)})
	}
	return sid, gs, true, nil
}

// txStmt is the statement of text, prepared once on the read pool, in tx.
func (b *Backend) txStmt(ctx context.Context, tx *sql.Tx, text string) (*sql.Stmt, error) {
	st, err := b.read(ctx, text, func() string { return text })
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// readTx runs f in one read transaction on the read pool, so that
// everything f reads is one snapshot of the database, retrying while the
// database is busy.
func (b *Backend) readTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return b.retry(ctx, func() error {
		tx, err := b.r.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		return f(tx)
	})
}

// DownsampleSeries implements backend.SeriesRanger in one read
// transaction: it takes the series' extent from the spans of its groups
// (a covering index), lays out the buckets, reads the block summaries of
// the groups that overlap them and folds each block that falls into one
// bucket; then it reads only the points of the blocks that straddle a
// bucket boundary (adjacent blocks as one range of the points' primary
// key) and folds them. Groups whose summaries are missing or behind their
// points are folded from their points, so the answer is always exact.
func (b *Backend) DownsampleSeries(ctx context.Context, coll, id, name string, q backend.Downsample) ([]backend.Bucket, error) {
	var out []backend.Bucket
	err := b.readTx(ctx, func(tx *sql.Tx) error {
		out = nil
		sid, gs, ok, err := b.loadGroups(ctx, tx, coll, id, name)
		if err != nil || !ok {
			return err
		}
		var all rollup.Summary // the extent: only First.Step and Last.Step matter
		for _, s := range gs.spans {
			all.Merge(rollup.Summary{Count: 1, First: backend.Point{Step: s.lo}, Last: backend.Point{Step: s.hi}})
		}
		st, err := b.txStmt(ctx, tx, b.q.stepsIn)
		if err != nil {
			return err
		}
		for _, r := range gs.bare {
			var lo, hi sql.NullInt64
			if err := st.QueryRowContext(ctx, sid, r.from, r.to).Scan(&lo, &hi); err != nil {
				return err
			}
			if lo.Valid {
				all.Merge(rollup.Summary{Count: 1, First: backend.Point{Step: lo.Int64}, Last: backend.Point{Step: hi.Int64}})
			}
		}
		if all.Count == 0 {
			return nil
		}
		plan, ok := rollup.NewPlan(q, all.First.Step, all.Last.Step)
		if !ok {
			return nil
		}
		f := rollup.NewFolder(plan)
		straddle, err := b.foldGroups(ctx, tx, sid, gs, f)
		if err != nil {
			return err
		}
		if err := b.foldPoints(ctx, tx, sid, mergeRanges(straddle, gs.bare), f); err != nil {
			return err
		}
		out = f.Buckets()
		return nil
	})
	return out, fail(err)
}

// foldGroups folds into f the blocks of the groups of gs.spans that
// overlap f's plan and returns the point ranges of the blocks that f
// could not take whole, in order.
func (b *Backend) foldGroups(ctx context.Context, tx *sql.Tx, sid int64, gs groups, f *rollup.Folder) ([]seqRange, error) {
	valid := make(map[int64]int64, len(gs.spans)) // grp -> n of the spans readers may trust
	for _, s := range gs.spans {
		valid[s.grp] = s.n
	}
	st, err := b.txStmt(ctx, tx, b.q.groupsIn)
	if err != nil {
		return nil, err
	}
	plan := f.Plan()
	rows, err := st.QueryContext(ctx, sid, plan.From, plan.To)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []seqRange
	var blob []byte
	for rows.Next() {
		var grp, n int64
		if err := rows.Scan(&grp, &n, &blob); err != nil {
			return nil, err
		}
		if want, ok := valid[grp]; !ok || want != n {
			continue // folded from its points (gs.bare)
		}
		start := grp * groupSize
		sums, ok := decodeGroup(blob, n)
		if !ok {
			out = addRange(out, seqRange{start, start + n})
			continue
		}
		for k, s := range sums {
			if !f.Block(s) {
				from := start + int64(k)*rollup.BlockSize
				out = addRange(out, seqRange{from, from + s.Count})
			}
		}
	}
	return out, rows.Err()
}

// mergeRanges merges two ordered lists of ranges into one.
func mergeRanges(a, b []seqRange) []seqRange {
	if len(b) == 0 {
		return a
	}
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y seqRange) int { return cmp.Compare(x.from, y.from) })
	var out []seqRange
	for _, r := range all {
		out = addRange(out, r)
	}
	return out
}

// foldPoints folds the points of the ranges rs into f, in one query: the
// ranges go as one JSON array of [from, to] pairs, joined to the points'
// primary key.
func (b *Backend) foldPoints(ctx context.Context, tx *sql.Tx, sid int64, rs []seqRange, f *rollup.Folder) error {
	if len(rs) == 0 {
		return nil
	}
	st, err := b.txStmt(ctx, tx, b.q.rangePts)
	if err != nil {
		return err
	}
	js := make([]byte, 0, 24*len(rs))
	js = append(js, '[')
	for i, r := range rs {
		if i > 0 {
			js = append(js, ',')
		}
		js = append(js, '[')
		js = strconv.AppendInt(js, r.from, 10)
		js = append(js, ',')
		js = strconv.AppendInt(js, r.to, 10)
		js = append(js, ']')
	}
	js = append(js, ']')
	rows, err := st.QueryContext(ctx, string(js), sid)
	if err != nil {
		return err
	}
	defer rows.Close()
	buf := make([]backend.Point, 0, readBatch)
	var step, bits, ms any // scanning into any skips database/sql's conversions
	for rows.Next() {
		if err := rows.Scan(&step, &bits, &ms); err != nil {
			return err
		}
		p, err := anyPoint(step, bits, ms)
		if err != nil {
			return err
		}
		buf = append(buf, p)
		if len(buf) == cap(buf) {
			f.Points(buf)
			buf = buf[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.Points(buf)
	return nil
}

// ReadSeriesRange implements backend.SeriesRanger: it finds the groups
// whose steps overlap r from their spans (one read transaction), then
// reads the points of those groups whose steps lie in r, in append order,
// readBatch at a time, each batch one keyset query as ReadSeries does, so
// no transaction stays open while the caller works on a batch.
func (b *Backend) ReadSeriesRange(ctx context.Context, coll, id, name string, r backend.StepRange) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		var sid int64
		var ranges []seqRange
		var found bool
		err := b.readTx(ctx, func(tx *sql.Tx) error {
			ranges = nil
			var gs groups
			var err error
			sid, gs, found, err = b.loadGroups(ctx, tx, coll, id, name)
			if err != nil || !found {
				return err
			}
			var in []seqRange
			for _, s := range gs.spans {
				if s.hi >= r.From && s.lo <= r.To {
					in = addRange(in, seqRange{s.grp * groupSize, s.grp*groupSize + s.n})
				}
			}
			ranges = mergeRanges(in, gs.bare)
			return nil
		})
		if err != nil {
			yield(nil, fail(err))
			return
		}
		batch := make([]backend.Point, 0, readBatch)
		for _, rg := range ranges {
			for after := rg.from - 1; ; {
				base, start := len(batch), after
				err := b.retry(ctx, func() error {
					batch, after = batch[:base], start // a retry starts over
					st, err := b.read(ctx, b.q.readRange, func() string { return b.q.readRange })
					if err != nil {
						return err
					}
					rows, err := st.QueryContext(ctx, sid, after, rg.to, r.From, r.To, readBatch-len(batch))
					if err != nil {
						return err
					}
					defer rows.Close()
					for rows.Next() {
						seq, p, err := scanSeqPoint(rows)
						if err != nil {
							return err
						}
						after = seq
						batch = append(batch, p)
					}
					return rows.Err()
				})
				if err != nil {
					yield(nil, fail(err))
					return
				}
				if len(batch) == readBatch {
					if !yield(batch, nil) {
						return
					}
					batch = make([]backend.Point, 0, readBatch)
					continue
				}
				break // the range is done: fewer points than asked
			}
		}
		if len(batch) > 0 {
			yield(batch, nil)
		}
	}
}

// anyPoint is the point of a row's step, value bits and time scanned into
// values of type any, which the columns' INTEGER type makes int64.
func anyPoint(step, bits, ms any) (backend.Point, error) {
	s, ok1 := step.(int64)
	v, ok2 := bits.(int64)
	t, ok3 := ms.(int64)
	if !ok1 || !ok2 || !ok3 {
		return backend.Point{}, fmt.Errorf("point row (%T, %T, %T): want integers", step, bits, ms)
	}
	return backend.Point{Step: s, Value: math.Float64frombits(uint64(v)), Time: time.UnixMilli(t).UTC()}, nil
}
