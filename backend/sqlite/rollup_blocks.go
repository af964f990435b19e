package sqlite

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

// groupSize is the number of consecutive points (by sequence number) whose
// block summaries share one row of <table>_blocks: group g holds the
// points g*groupSize .. (g+1)*groupSize-1 of a series, and its block k
// the points g*groupSize+k*rollup.BlockSize onwards. Blocks are aligned
// on sequence numbers, so the points of any block are one range of the
// points' primary key.
const groupSize = 16 * rollup.BlockSize

// group is the block summaries of one group of a series.
type group struct {
	grp  int64
	sums []rollup.Summary
}

// count is the number of points the summaries of g hold.
func (g *group) count() int64 {
	var n int64
	for _, s := range g.sums {
		n += s.Count
	}
	return n
}

// add folds the point of sequence number seq into g.
func (g *group) add(seq int64, p backend.Point) {
	k := int(seq%groupSize) / rollup.BlockSize
	for len(g.sums) <= k {
		g.sums = append(g.sums, rollup.Summary{})
	}
	g.sums[k].Add(p)
}

// appendBlocks folds pts, stored from sequence number seq0 on, into the
// block summaries of their groups, in tx (the transaction that stores the
// points). When the points start inside a group, sums is the stored
// summaries of that group (the series upsert returns them), which the new
// points are merged into. So the summaries are always those of the stored
// points.
func (b *Backend) appendBlocks(ctx context.Context, tx *sql.Tx, sid, seq0 int64, pts []backend.Point, sums []byte) error {
	var cur group
	for i, p := range pts {
		seq := seq0 + int64(i)
		if i == 0 || seq%groupSize == 0 {
			if i > 0 {
				if err := b.putGroup(ctx, tx, sid, &cur); err != nil {
					return err
				}
			}
			cur = group{grp: seq / groupSize}
			if seq%groupSize != 0 {
				if err := b.loadGroup(ctx, tx, sid, &cur, seq, sums); err != nil {
					return err
				}
			}
		}
		cur.add(seq, p)
	}
	return b.putGroup(ctx, tx, sid, &cur)
}

// loadGroup sets g to the summaries blob of its points before sequence
// number end. When blob is missing or does not hold exactly those points
// (points written by an older version of this library, or by hand), it
// summarizes the points themselves instead, so the row written back is
// exact again.
func (b *Backend) loadGroup(ctx context.Context, tx *sql.Tx, sid int64, g *group, end int64, blob []byte) error {
	if sums, ok := decodeGroup(blob, end-g.grp*groupSize); ok {
		g.sums = sums
		return nil
	}
	return b.groupFromPoints(ctx, tx, sid, g, end)
}

// groupFromPoints summarizes the stored points of g before sequence
// number end.
func (b *Backend) groupFromPoints(ctx context.Context, tx *sql.Tx, sid int64, g *group, end int64) error {
	rows, err := tx.QueryContext(ctx, b.q.groupPoints, sid, g.grp*groupSize, end)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		seq, p, err := scanSeqPoint(rows)
		if err != nil {
			return err
		}
		g.add(seq, p)
	}
	return rows.Err()
}

// decodeGroup decodes the summaries of a group of n points, and reports
// whether they have the layout appendBlocks writes: blocks of
// rollup.BlockSize points, all full but the last, n points in all.
func decodeGroup(blob []byte, n int64) ([]rollup.Summary, bool) {
	sums, size, err := rollup.Decode(blob)
	if err != nil || size != rollup.BlockSize || int64(len(sums)) != (n+rollup.BlockSize-1)/rollup.BlockSize {
		return nil, false
	}
	for k, s := range sums {
		if s.Count != min(rollup.BlockSize, n-int64(k)*rollup.BlockSize) {
			return nil, false
		}
	}
	return sums, true
}

// putGroup writes the row of g.
func (b *Backend) putGroup(ctx context.Context, tx *sql.Tx, sid int64, g *group) error {
	lo, hi, ok := rollup.Extent(g.sums)
	if !ok {
		return nil
	}
	_, err := tx.ExecContext(ctx, b.q.upsertGroup, sid, g.grp, g.count(), lo, hi, rollup.Encode(g.sums))
	return err
}

// backfillPage is the number of points the migration reads per query.
const backfillPage = 64 * groupSize

// backfill writes the block summaries of every stored series, in tx (the
// migration's), reading each series' points in pages by sequence number.
func (b *Backend) backfill(ctx context.Context, tx *sql.Tx) error {
	var sids []int64
	rows, err := tx.QueryContext(ctx, b.q.allSeries)
	if err != nil {
		return err
	}
	for rows.Next() {
		var sid int64
		if err := rows.Scan(&sid); err != nil {
			rows.Close()
			return err
		}
		sids = append(sids, sid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, sid := range sids {
		cur := group{grp: -1}
		for after := int64(-1); ; {
			var groups []group
			n := 0
			rows, err := tx.QueryContext(ctx, b.q.seriesPoints, sid, after, backfillPage)
			if err != nil {
				return err
			}
			for rows.Next() {
				seq, p, err := scanSeqPoint(rows)
				if err != nil {
					rows.Close()
					return err
				}
				n++
				after = seq
				if g := seq / groupSize; g != cur.grp {
					if cur.grp >= 0 {
						groups = append(groups, cur)
					}
					cur = group{grp: g}
				}
				cur.add(seq, p)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if n < backfillPage {
				if cur.grp >= 0 {
					groups = append(groups, cur)
				}
			}
			for i := range groups {
				if err := b.putGroup(ctx, tx, sid, &groups[i]); err != nil {
					return err
				}
			}
			if n < backfillPage {
				break
			}
		}
	}
	return nil
}

// scanSeqPoint scans a row of seq, step, value bits and time.
func scanSeqPoint(rows *sql.Rows) (int64, backend.Point, error) {
	var seq, step, bits, ms int64
	if err := rows.Scan(&seq, &step, &bits, &ms); err != nil {
		return 0, backend.Point{}, err
	}
	return seq, backend.Point{Step: step, Value: math.Float64frombits(uint64(bits)), Time: time.UnixMilli(ms).UTC()}, nil
}
