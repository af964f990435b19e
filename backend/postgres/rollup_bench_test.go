package postgres_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

// BenchmarkRollupDownsample folds a series of 1M points (appended in
// 1000-point batches) into 1,000 buckets: through the library
// (DownsampleSeries: the extent, the block summaries, then the slices of
// the blocks that straddle a bucket boundary), and through the best single
// SQL aggregate over the same rows (unnest and group by bucket) computing
// count, NaNs, min, max and sum but not first and last, so the raw side
// does less work. "aligned" asks for the whole series (steps 0..999999:
// bucket boundaries fall on chunk and block boundaries, nothing
// straddles); "offset" starts at step 337, so about one block per bucket
// straddles and its points are read (64k points, by two slice queries at
// once, decoded from the binary format).
//
//	go test -run '^$' -bench RollupDownsample -benchtime 10x -count 10 ./backend/postgres/
func BenchmarkRollupDownsample(b *testing.B) {
	be := benchOpen(b)
	ctx := context.Background()
	pts := benchPoints(1_000_000)
	for i := 0; i < len(pts); i += benchBatch {
		if err := be.AppendSeries(ctx, "bench", "run", "loss", pts[i:i+benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := be.Pool().Exec(ctx, `vacuum analyze `+be.SeriesTable()); err != nil {
		b.Fatal(err)
	}
	raw := `select (u.s - $4) / $5 as k, count(*), count(*) filter (where u.v = 'NaN'),
		min(u.v) filter (where u.v <> 'NaN'), max(u.v) filter (where u.v <> 'NaN'), sum(u.v) filter (where u.v <> 'NaN')
		from ` + be.SeriesTable() + ` t, unnest(t.steps, t.vals) as u(s, v)
		where t.collection = $1 and t.id = $2 and t.name = $3 and u.s >= $4 and u.s <= $6
		group by 1 order by 1`
	for _, bc := range []struct {
		name     string
		from     int64
		width    int64
		nBuckets int
	}{
		{"aligned", 0, 1000, 1000},
		{"offset", 337, 1000, 1000},
	} {
		q := backend.Downsample{StepRange: backend.StepRange{From: bc.from, To: math.MaxInt64}, Buckets: 1000}
		b.Run(bc.name+"/library", func(b *testing.B) {
			for b.Loop() {
				got, err := be.DownsampleSeries(ctx, "bench", "run", "loss", q)
				if err != nil || len(got) != bc.nBuckets {
					b.Fatal(len(got), err)
				}
			}
		})
		b.Run(bc.name+"/raw", func(b *testing.B) {
			for b.Loop() {
				rows, err := be.Pool().Query(ctx, raw, "bench", "run", "loss", bc.from, bc.width, int64(len(pts)-1))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					var (
						k, count, nans int64
						lo, hi, sum    float64
					)
					if err := rows.Scan(&k, &count, &nans, &lo, &hi, &sum); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := rows.Err(); err != nil || n != bc.nBuckets {
					b.Fatal(fmt.Sprint(n), err)
				}
			}
		})
	}
}

// BenchmarkRollupSummaries measures the CPU that AppendSeries and
// ApplyBatch spend per 1000-point chunk on its block summaries
// (rollup.Blocks and rollup.Encode), the only work the write path gained.
//
//	go test -run '^$' -bench RollupSummaries ./backend/postgres/
func BenchmarkRollupSummaries(b *testing.B) {
	pts := benchPoints(benchBatch)
	for b.Loop() {
		if len(rollup.Encode(rollup.Blocks(pts))) == 0 {
			b.Fatal("no summaries")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pts)), "ns/point")
}
