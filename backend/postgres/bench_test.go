package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/docops"
)

// Run with short settings:
//
//	go test -run '^$' -bench . -benchtime 1x ./backend/postgres/
//
// BenchmarkIngest appends 10k, 100k and 1M points to one record in
// 1000-point batches through the library (AppendSeries), and the same
// points through raw pgx CopyFrom into a one-row-per-point table, with and
// without a primary key. ms/batch-first and ms/batch-last are the mean
// batch times over the first and last tenth of the series: equal means
// the cost per point stays flat as the series grows. table-MB and index-MB
// are the sizes on disk after the run.

const benchBatch = 1000

var benchSizes = []int{10_000, 100_000, 1_000_000}

func benchPoints(n int) []backend.Point {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	for i := range pts {
		pts[i] = backend.Point{Step: int64(i), Value: rand.Float64(), Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	return pts
}

// benchOpen opens a Backend on a fresh table for a benchmark.
func benchOpen(b *testing.B) *postgres.Backend {
	b.Helper()
	dsn := serverDSN(b)
	table := uniqueName("bench_")
	b.Cleanup(func() { dropTable(b, "", table) })
	be, err := postgres.Open(context.Background(), withOptions(dsn, "x-table="+table))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// ingest runs write for every batch of pts and reports the throughput and
// the mean batch time at the start and the end of the series.
func ingest(b *testing.B, pts []backend.Point, write func(i int, batch []backend.Point) error) {
	b.Helper()
	nb := len(pts) / benchBatch
	tenth := max(nb/10, 1)
	var total, first, last time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for i := range nb {
			s := time.Now()
			if err := write(it, pts[i*benchBatch:(i+1)*benchBatch]); err != nil {
				b.Fatal(err)
			}
			d := time.Since(s)
			total += d
			if i < tenth {
				first += d
			}
			if i >= nb-tenth {
				last += d
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(pts)*b.N)/total.Seconds(), "points/s")
	b.ReportMetric(float64(total.Nanoseconds())/float64(len(pts)*b.N), "ns/point")
	b.ReportMetric(first.Seconds()*1000/float64(tenth*b.N), "ms/batch-first")
	b.ReportMetric(last.Seconds()*1000/float64(tenth*b.N), "ms/batch-last")
}

func reportSizes(b *testing.B, table string) {
	b.Helper()
	var heap, index int64
	if err := server.admin.QueryRow(context.Background(),
		`select pg_table_size($1::regclass), pg_indexes_size($1::regclass)`, table).Scan(&heap, &index); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(heap)/(1<<20), "table-MB")
	b.ReportMetric(float64(index)/(1<<20), "index-MB")
}

func BenchmarkIngest(b *testing.B) {
	for _, n := range benchSizes {
		pts := benchPoints(n)
		b.Run(fmt.Sprintf("library/points=%d", n), func(b *testing.B) {
			be := benchOpen(b)
			ctx := context.Background()
			if err := be.Insert(ctx, "bench", "run", map[string]any{}); err != nil {
				b.Fatal(err)
			}
			ingest(b, pts, func(it int, batch []backend.Point) error {
				return be.AppendSeries(ctx, "bench", "run", fmt.Sprint("loss", it), batch)
			})
			reportSizes(b, be.SeriesTable())
		})
		for _, pk := range []bool{false, true} {
			name := "rawcopy"
			if pk {
				name = "rawcopy-pk"
			}
			b.Run(fmt.Sprintf("%s/points=%d", name, n), func(b *testing.B) {
				ctx := context.Background()
				serverDSN(b)
				table := uniqueName("bench_raw_")
				key := ""
				if pk {
					key = ", primary key (collection, id, name, step)"
				}
				if _, err := server.admin.Exec(ctx, `create table `+table+` (collection text collate "C" not null, id text collate "C" not null,
					name text collate "C" not null, step bigint not null, value float8 not null, time timestamptz not null`+key+`)`); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { server.admin.Exec(context.Background(), `drop table `+table) })
				cols := []string{"collection", "id", "name", "step", "value", "time"}
				ingest(b, pts, func(it int, batch []backend.Point) error {
					metric := fmt.Sprint("loss", it)
					_, err := server.admin.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(len(batch), func(i int) ([]any, error) {
						p := batch[i]
						return []any{"bench", "run", metric, p.Step, p.Value, p.Time}, nil
					}))
					return err
				})
				reportSizes(b, table)
			})
		}
	}
}

// BenchmarkReadSeries reads back 100k points.
func BenchmarkReadSeries(b *testing.B) {
	be := benchOpen(b)
	ctx := context.Background()
	pts := benchPoints(100_000)
	for i := 0; i < len(pts); i += benchBatch {
		if err := be.AppendSeries(ctx, "bench", "run", "loss", pts[i:i+benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		got, err := be.ReadSeries(ctx, "bench", "run", "loss")
		if err != nil || len(got) != len(pts) {
			b.Fatal(len(got), err)
		}
	}
	b.ReportMetric(float64(len(pts)*b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkMerge measures the latency of one Merge into a document of
// about 2.5 KB: a Set (creating missing parents the first time), and an
// Append to an array that grows by one element per Merge.
func BenchmarkMerge(b *testing.B) {
	be := benchOpen(b)
	ctx := context.Background()
	doc := map[string]any{}
	for i := range 40 {
		doc[fmt.Sprintf("param_%02d", i)] = map[string]any{"value": rand.Float64(), "label": "some text"}
	}
	if err := be.Insert(ctx, "bench", "run", doc); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func(i int) backend.Op
	}{
		{"set", func(i int) backend.Op {
			return backend.Op{Kind: backend.Set, Path: []string{"models", "model_0", "stats", "step"}, Value: int64(i)}
		}},
		{"append", func(i int) backend.Op {
			return backend.Op{Kind: backend.Append, Path: []string{"models", "model_0", "losses"}, Value: []any{rand.Float64()}}
		}},
	} {
		// 200 merges per iteration, so that -benchtime 1x still measures.
		const merges = 200
		b.Run(tc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				for range merges {
					i++
					if err := be.Merge(ctx, "bench", "run", []backend.Op{tc.op(i)}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*merges), "us/merge")
		})
		// The alternative: read the row under its lock, apply the op in Go,
		// write it back; four round trips.
		b.Run(tc.name+"-select-for-update", func(b *testing.B) {
			pool := be.Pool()
			i := 0
			for b.Loop() {
				for range merges {
					i++
					err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						var data []byte
						if err := tx.QueryRow(ctx, `select doc from `+be.Table()+` where collection = $1 and id = $2 for update`, "bench", "run").Scan(&data); err != nil {
							return err
						}
						doc, err := docjson.Unmarshal(data)
						if err != nil {
							return err
						}
						if err := docops.Apply(doc, []backend.Op{tc.op(i)}); err != nil {
							return err
						}
						if data, err = docjson.Marshal(doc); err != nil {
							return err
						}
						_, err = tx.Exec(ctx, `update `+be.Table()+` set doc = $3, updated_at = now() where collection = $1 and id = $2`, "bench", "run", data)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*merges), "us/merge")
		})
	}
}
