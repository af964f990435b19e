package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/docops"
	"github.com/recordlab/go-record/record"
)

// BenchmarkBackend runs the shared benchmark set (backendtest.RunBenchmarks)
// against the adapter and the raw pgx baseline of harness:
//
//	go test -run '^$' -bench Backend ./backend/postgres/
func BenchmarkBackend(b *testing.B) {
	serverDSN(b)
	backendtest.RunBenchmarks(b, harness)
}

// BenchmarkQueries measures, on 10k records of about 2 KB, listings that
// the shared set does not, each beside raw SQL doing the same:
// WhereNewest, a condition on a metric, newest first, Limit 20, whole
// documents (the condition and the LIMIT run in the server); OrderNoIndex,
// OrderBy a metric with Limit 20 and no index (what `record ls --sort
// metrics.loss.min --limit 20` does before Store.Index).
//
//	go test -run '^$' -bench Queries ./backend/postgres/
func BenchmarkQueries(b *testing.B) {
	be := benchOpen(b)
	ctx := context.Background()
	const coll, n = "bench", 10_000
	docs := map[string]map[string]any{}
	for i := range n {
		docs[fmt.Sprintf("6b077e18%016x", i)] = benchRecord(i)
		if len(docs) == 1000 || i == n-1 {
			if err := rawInsert(ctx, be, coll, docs); err != nil {
				b.Fatal(err)
			}
			docs = map[string]map[string]any{}
		}
	}
	if _, err := be.Pool().Exec(ctx, "analyze "+be.Table()); err != nil {
		b.Fatal(err)
	}
	st := record.NewStore(be)
	key := "(doc->'metrics'->'loss'->>'min')::float8"
	for _, bc := range []struct {
		name string
		opts []record.ListOption
		sql  string
	}{
		{"WhereNewest", []record.ListOption{record.Where("metrics.loss.min", "<", 0.5), record.NewestFirst(), record.Limit(20)},
			"select id, doc from " + be.Table() + " where collection = $1 and " + key + " < 0.5 order by id desc limit 20"},
		{"OrderNoIndex", []record.ListOption{record.OrderBy("metrics.loss.min", false), record.Limit(20)},
			"select id, doc from " + be.Table() + " where collection = $1 order by " + key + ", id limit 20"},
	} {
		b.Run(bc.name+"/library", func(b *testing.B) {
			for b.Loop() {
				got := 0
				for _, err := range st.List(ctx, coll, bc.opts...) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != 20 {
					b.Fatalf("%d records, want 20", got)
				}
			}
		})
		b.Run(bc.name+"/raw", func(b *testing.B) {
			for b.Loop() {
				rows, err := be.Pool().Query(ctx, bc.sql, coll)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for rows.Next() {
					if _, err := docjson.Unmarshal(rows.RawValues()[1]); err != nil {
						b.Fatal(err)
					}
					got++
				}
				if err := rows.Err(); err != nil || got != 20 {
					b.Fatal(got, err)
				}
			}
		})
	}
}

// benchRecord returns a record of about 2 KB shaped like what package
// record writes: params, metric summaries and host facts.
func benchRecord(i int) map[string]any {
	loss := float64(i*7919%10_000) / 10_000
	return map[string]any{
		"status":  [...]string{"completed", "failed", "running"}[i%3],
		"created": time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		"params":  map[string]any{"lr": 0.001 * float64(1+i%10), "epochs": int64(10 + i%5), "optimizer": "adam"},
		"metrics": map[string]any{
			"loss": map[string]any{"count": int64(1000), "min": loss, "max": loss + 2, "last": loss + 0.01, "last_step": int64(999)},
		},
		"host": map[string]any{
			"hostname": fmt.Sprintf("node-%03d", i%64), "num_cpu": int64(64),
			"cpu":  map[string]any{"model": "AMD EPYC 9654 96-Core Processor", "flags": strings.Repeat("avx2 avx512f sse4_2 ", 60)},
			"gpus": []any{map[string]any{"name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-8d3c1f3e-5b1a-4c2e-9d7f-0a1b2c3d4e5f"}},
		},
	}
}

// The benchmarks below measure choices of this adapter that the shared set
// does not: the layout of the series table and the merge function. Run
// with short settings:
//
//	go test -run '^$' -bench 'Ingest|Merge' -benchtime 1x ./backend/postgres/
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
