package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
)

var _ backend.MultiBatchStore = (*Backend)(nil)

// ApplyBatches implements backend.MultiBatchStore as ApplyBatch does, in
// one transaction of two round trips whatever the number of parts: BEGIN
// with the locking read of bt.Reads and bt.Guard; then the chunks of
// every part as one multi-row INSERT, the ops as one merge of the
// document, and COMMIT. Like ApplyBatch, it first tries one statement
// when this Backend knows what the record holds at those paths.
func (b *Backend) ApplyBatches(ctx context.Context, coll, id string, bt backend.MultiBatch) error {
	return b.applyParts(ctx, coll, id, bt.Parts, bt.Reads, bt.Guard, bt.Update)
}

// chunkRow is one series row to insert: a chunk of the points of a metric.
type chunkRow struct {
	name string
	pts  []backend.Point
}

// chunkRows cuts the points of every part, in order, into series rows of
// at most seriesChunk points.
func chunkRows(parts []backend.Part) []chunkRow {
	var rows []chunkRow
	for _, p := range parts {
		for start := 0; start < len(p.Points); start += seriesChunk {
			rows = append(rows, chunkRow{p.Metric, p.Points[start:min(start+seriesChunk, len(p.Points))]})
		}
	}
	return rows
}

// maxRowsPerInsert bounds the rows of one multi-row INSERT, so that the
// statements pgx prepares and caches per connection stay few.
const maxRowsPerInsert = 32

// queueParts queues the inserts of the points of every part, seriesChunk
// points a row, in order, as multi-row INSERTs of up to maxRowsPerInsert
// rows.
func (b *Backend) queueParts(batch *pgx.Batch, coll, id string, parts []backend.Part) {
	rows := chunkRows(parts)
	for len(rows) > 0 {
		n := min(len(rows), maxRowsPerInsert)
		if n == 1 {
			batch.Queue(b.sqlChunkInsert(), chunkArgs(coll, id, rows[0].name, rows[0].pts)...)
		} else {
			args := make([]any, 0, 2+7*n)
			args = append(args, coll, id)
			for _, r := range rows[:n] {
				args = append(args, chunkArgs(coll, id, r.name, r.pts)[2:]...)
			}
			batch.Queue(b.sqlChunksInsert(n), args...)
		}
		rows = rows[n:]
	}
}

// sqlChunksInsert is the statement that stores n chunks of points of one
// record: $1 and $2 are its collection and id, then 7 parameters a row
// (name, steps, vals, times, lo, hi, sums).
func (b *Backend) sqlChunksInsert(n int) string {
	var sb strings.Builder
	sb.WriteString(`insert into ` + b.series + ` (collection, id, name, steps, vals, times, lo, hi, sums) values `)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("($1, $2")
		for j := range 7 {
			sb.WriteString(", $")
			sb.WriteString(strconv.Itoa(3 + 7*i + j))
		}
		sb.WriteByte(')')
	}
	return sb.String()
}
