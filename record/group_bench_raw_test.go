package record_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recordlab/go-record/backend/postgres"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

// groupBenchRecordsEnv sets the records of BenchmarkGroupRaw (default 100k).
const groupBenchRecordsEnv = "RECORD_BENCH_GROUP_RECORDS"

// groupBenchLRs are the learning rates of the generated sweep: with batch
// 32, 64 or 128 they make 12 groups.
var groupBenchLRs = []float64{0.001, 0.01, 0.1, 1}

// groupBenchDoc is the i-th record of the generated sweep: lr, batch and
// seed at the top level, a loss summary and host facts, about 1.3 KB of
// JSON as record writes it.
func groupBenchDoc(coll string, i int) map[string]any {
	loss := math.Mod(float64(i+1)*0.6180339887498949, 1)
	return map[string]any{
		"id": fmt.Sprintf("run%07d", i), "collection": coll, "status": "completed",
		"created": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		"lr":      groupBenchLRs[i%len(groupBenchLRs)], "batch": int64(32 << (i % 3)), "seed": int64(i), "optimizer": "adam",
		"metrics": map[string]any{"loss": map[string]any{
			"count": int64(1000), "sum": loss * 1500, "min": loss, "max": loss + 2, "mean": loss + 0.5,
			"last": loss + 0.01, "last_step": int64(999), "nans": int64(0),
		}},
		"host": map[string]any{
			"hostname": fmt.Sprintf("node-%03d", i%64), "os": "linux", "arch": "amd64", "num_cpu": int64(64),
			"cpu":    map[string]any{"model": "AMD EPYC 9654 96-Core Processor", "mhz": 2400.0, "flags": strings.Repeat("avx2 avx512f sse4_2 ", 24)},
			"memory": map[string]any{"total": int64(540_000_000_000), "available": int64(400_000_000_000)},
			"gpus": []any{
				map[string]any{"name": "NVIDIA H100 80GB HBM3", "memory": int64(85_899_345_920), "driver": "560.35.03", "uuid": "GPU-8d3c1f3e-5b1a-4c2e-9d7f-0a1b2c3d4e5f"},
			},
		},
	}
}

// rawGroup is one group of the raw SQL query.
type rawGroup struct {
	lr        float64
	batch     int64
	n         int
	mean, std float64
}

// groupSweep is a store holding the generated sweep and the SQL handle of
// its backend.
type groupSweep struct {
	store *record.Store
	db    *sql.DB // sqlite
	pool  *pgxpool.Pool
	table string
}

// newGroupSweep stores n sweep records in coll of a fresh store of kind
// ("sqlite" or "postgres"), in one transaction or one COPY. Nothing is
// kept across runs.
func newGroupSweep(b *testing.B, kind, coll string, n int) *groupSweep {
	b.Helper()
	ctx := context.Background()
	gs := &groupSweep{}
	var dsn string
	if kind == "sqlite" {
		dsn = "sqlite://" + filepath.Join(b.TempDir(), "group.db")
	} else {
		base := os.Getenv("RECORD_TEST_POSTGRES_DSN")
		if base == "" {
			b.Skip("RECORD_TEST_POSTGRES_DSN not set")
		}
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		dsn = base + sep + "x-table=bench_group_" + strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	}
	s, err := record.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	gs.store = s
	b.Cleanup(func() { s.Close(context.Background()) })
	start := time.Now()
	texts := make([]string, n)
	for i := range n {
		text, err := docjson.Marshal(groupBenchDoc(coll, i))
		if err != nil {
			b.Fatal(err)
		}
		texts[i] = string(text)
	}
	if kind == "sqlite" {
		path := strings.TrimPrefix(dsn, "sqlite://")
		if gs.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { gs.db.Close() })
		tx, err := gs.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO records (collection, id, doc, created_at, updated_at) VALUES (?, ?, jsonb(?), ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UnixMilli()
		for i, text := range texts {
			if _, err := stmt.ExecContext(ctx, coll, fmt.Sprintf("run%07d", i), text, now, now); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	} else {
		var pg *postgres.Backend
		if !s.As(&pg) {
			b.Fatal("no *postgres.Backend")
		}
		gs.pool, gs.table = pg.Pool(), pg.Table()
		b.Cleanup(func() {
			ctx := context.Background()
			gs.pool.Exec(ctx, `drop table if exists `+pg.Table())
			gs.pool.Exec(ctx, `drop table if exists `+pg.SeriesTable())
		})
		var ident pgx.Identifier
		for _, p := range strings.Split(gs.table, ".") {
			ident = append(ident, strings.Trim(p, `"`))
		}
		if _, err := gs.pool.CopyFrom(ctx, ident, []string{"collection", "id", "doc"}, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{coll, fmt.Sprintf("run%07d", i), texts[i]}, nil
		})); err != nil {
			b.Fatal(err)
		}
		if _, err := gs.pool.Exec(ctx, `analyze `+gs.table); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: %d records stored in %v", kind, n, time.Since(start).Round(time.Millisecond))
	return gs
}

// rawGroups groups coll by lr and batch in SQL and aggregates the finite
// numbers at metrics.loss.min: count, mean and the sample standard
// deviation (PostgreSQL: avg and stddev_samp; SQLite, which has no
// stddev: sum and sum of squares, finished in Go).
func (gs *groupSweep) rawGroups(ctx context.Context, coll string) ([]rawGroup, error) {
	var out []rawGroup
	if gs.db != nil {
		rows, err := gs.db.QueryContext(ctx, `SELECT json_extract(doc, '$.lr') AS lr, json_extract(doc, '$.batch') AS batch,
				count(x), total(x), total(x*x)
			FROM (SELECT doc, CASE WHEN json_type(doc, '$.metrics.loss.min') IN ('integer', 'real')
				THEN json_extract(doc, '$.metrics.loss.min') END AS x FROM records WHERE collection = ?)
			GROUP BY lr, batch ORDER BY lr, batch`, coll)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var g rawGroup
			var sum, sq float64
			if err := rows.Scan(&g.lr, &g.batch, &g.n, &sum, &sq); err != nil {
				return nil, err
			}
			g.mean = sum / float64(g.n)
			g.std = math.Sqrt((sq - sum*sum/float64(g.n)) / float64(g.n-1))
			out = append(out, g)
		}
		return out, rows.Err()
	}
	rows, err := gs.pool.Query(ctx, `select (doc->>'lr')::float8 as lr, (doc->>'batch')::int8 as batch,
			count(x), coalesce(avg(x), 'NaN'), coalesce(stddev_samp(x), 'NaN')
		from (select doc, case when jsonb_typeof(doc->'metrics'->'loss'->'min') = 'number'
			then (doc->'metrics'->'loss'->>'min')::float8 end as x from `+gs.table+` where collection = $1) t
		group by lr, batch order by lr, batch`, coll)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g rawGroup
		if err := rows.Scan(&g.lr, &g.batch, &g.n, &g.mean, &g.std); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// BenchmarkGroupRaw groups a 100k-record sweep by lr and batch with the
// metric metrics.loss.min, on SQLite and PostgreSQL: Store.Group next to
// the raw SQL GROUP BY that computes count, mean and standard deviation.
// Both must give the same 12 groups (means and deviations to 1e-9).
// cpu-ns/op is the process's CPU time per op (client and, for SQLite, the
// database), which a loaded machine inflates less than ns/op.
func BenchmarkGroupRaw(b *testing.B) {
	const coll = "sweep100k"
	n := 100_000
	if s := os.Getenv(groupBenchRecordsEnv); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 24 {
			b.Fatalf("%s=%q: want a number of at least 24", groupBenchRecordsEnv, s)
		}
	}
	by, metric := []string{"lr", "batch"}, "metrics.loss.min"
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			gs := newGroupSweep(b, kind, coll, n)
			ctx := context.Background()
			groups, err := gs.store.Group(ctx, coll, by, []string{metric})
			if err != nil {
				b.Fatal(err)
			}
			raw, err := gs.rawGroups(ctx, coll)
			if err != nil {
				b.Fatal(err)
			}
			if len(groups) != 12 || len(raw) != 12 {
				b.Fatalf("Group gave %d groups and SQL %d, want 12", len(groups), len(raw))
			}
			for i, g := range groups {
				st, r := g.Stats[metric], raw[i]
				if g.Values[0] != r.lr || g.Values[1] != r.batch || st.N != r.n ||
					math.Abs(st.Mean-r.mean) > 1e-9 || math.Abs(st.Std-r.std) > 1e-9 {
					b.Fatalf("group %d: Group %v N=%d mean=%v std=%v, SQL lr=%v batch=%v N=%d mean=%v std=%v",
						i, g.Values, st.N, st.Mean, st.Std, r.lr, r.batch, r.n, r.mean, r.std)
				}
			}
			b.Run("group", func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					if _, err := gs.store.Group(b.Context(), coll, by, []string{metric}); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
			})
			b.Run("raw", func(b *testing.B) {
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					if _, err := gs.rawGroups(b.Context(), coll); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
			})
		})
	}
}

// cpuClock measures the process's CPU time (user and system) over a
// benchmark's loop.
type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuClock {
	t, ok := cpuTime()
	return cpuClock{t, ok}
}

// report adds cpu-ns/op to b's results, where the platform tells.
func (c cpuClock) report(b *testing.B) {
	if t, ok := cpuTime(); ok && c.ok && b.N > 0 {
		b.ReportMetric(float64((t-c.start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
