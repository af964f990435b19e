package serve_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/serve"
)

// Environment of the benchmarks of this file.
const (
	// comparePointsEnv sets the points per run of BenchmarkServeCompare
	// (default 100k; the bar is for 1M).
	comparePointsEnv = "RECORD_BENCH_COMPARE_POINTS"
	// sweepRecordsEnv sets the records of BenchmarkServeRunsRaw (default 100k).
	sweepRecordsEnv = "RECORD_BENCH_SWEEP_RECORDS"
	// postgresDSNEnv names the PostgreSQL server of the PostgreSQL cases;
	// without it they are skipped.
	postgresDSNEnv = "RECORD_TEST_POSTGRES_DSN"
)

// benchSize reads a positive size from the environment.
func benchSize(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// sweepLRs are the learning rates of the generated sweep.
var sweepLRs = []float64{0.001, 0.01, 0.1, 1}

// sweepDoc is the i-th record of a generated sweep: lr, batch and seed at
// the top level, a loss summary, and host facts, about 1.3 KB of JSON as
// record writes it.
func sweepDoc(coll string, i int) map[string]any {
	loss := math.Mod(float64(i+1)*0.6180339887498949, 1)
	return map[string]any{
		"id": fmt.Sprintf("run%07d", i), "collection": coll, "status": "completed",
		"created": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		"lr":      sweepLRs[i%len(sweepLRs)], "batch": int64(32 << (i % 3)), "seed": int64(i), "optimizer": "adam",
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

// sweep is a store holding a generated sweep, with the SQL handle of its
// backend for the raw queries next to the library's.
type sweep struct {
	store *record.Store
	kind  string  // "sqlite" or "postgres"
	db    *sql.DB // sqlite: a connection of our own to the file
	pool  *pgxpool.Pool
	table string // the records table, as SQL text
}

// newSweep stores n sweep records in coll of a fresh store of kind, in one
// transaction (SQLite) or one COPY (PostgreSQL), then makes the indexes
// the README suggests: record's Store.Index on metrics.loss.min and lr,
// and for the raw queries an expression index on the number at
// metrics.loss.min (partial on numbers in PostgreSQL, as the README's
// "Querying with SQL" writes it). Nothing is kept across benchmark runs.
func newSweep(b *testing.B, kind, coll string, n int) *sweep {
	b.Helper()
	ctx := context.Background()
	sw := &sweep{kind: kind}
	var dsn string
	switch kind {
	case "sqlite":
		dsn = "sqlite://" + filepath.Join(b.TempDir(), "sweep.db")
	case "postgres":
		base := os.Getenv(postgresDSNEnv)
		if base == "" {
			b.Skipf("%s not set", postgresDSNEnv)
		}
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		dsn = base + sep + "x-table=bench_serve_" + strconv.FormatInt(time.Now().UnixNano()%1e12, 36)
	}
	s, err := record.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	sw.store = s
	b.Cleanup(func() { s.Close(context.Background()) })
	start := time.Now()
	switch kind {
	case "sqlite":
		path := strings.TrimPrefix(dsn, "sqlite://")
		if sw.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sw.db.Close() })
		sw.table = `"records"`
		tx, err := sw.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO records (collection, id, doc, created_at, updated_at) VALUES (?, ?, jsonb(?), ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UnixMilli()
		for i := range n {
			doc := sweepDoc(coll, i)
			text, err := docjson.Marshal(doc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := stmt.ExecContext(ctx, coll, doc["id"], string(text), now, now); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if _, err := sw.db.ExecContext(ctx, `CREATE INDEX raw_loss_min ON records (collection, json_extract(doc, '$.metrics.loss.min'))`); err != nil {
			b.Fatal(err)
		}
	case "postgres":
		var pg *postgres.Backend
		if !s.As(&pg) {
			b.Fatal("no *postgres.Backend")
		}
		sw.pool, sw.table = pg.Pool(), pg.Table()
		b.Cleanup(func() {
			ctx := context.Background()
			sw.pool.Exec(ctx, `drop table if exists `+pg.Table())
			sw.pool.Exec(ctx, `drop table if exists `+pg.SeriesTable())
		})
		rows := make([][]any, 0, n)
		for i := range n {
			doc := sweepDoc(coll, i)
			text, err := docjson.Marshal(doc)
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, []any{coll, doc["id"], string(text)})
		}
		// Table() is the quoted, schema-qualified name; COPY wants parts.
		var ident pgx.Identifier
		for _, p := range strings.Split(sw.table, ".") {
			ident = append(ident, strings.Trim(p, `"`))
		}
		if _, err := sw.pool.CopyFrom(ctx, ident, []string{"collection", "id", "doc"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		if _, err := sw.pool.Exec(ctx, `create index on `+sw.table+` (collection, ((doc->'metrics'->'loss'->>'min')::float8))
			where jsonb_typeof(doc->'metrics'->'loss'->'min') = 'number'`); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range []string{"metrics.loss.min", "lr"} {
		if err := s.Index(ctx, coll, p); err != nil {
			b.Fatal(err)
		}
	}
	if kind == "postgres" {
		if _, err := sw.pool.Exec(ctx, `analyze `+sw.table); err != nil {
			b.Fatal(err)
		}
	} else if _, err := sw.db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d records stored and indexed in %v", kind, n, time.Since(start).Round(time.Millisecond))
	return sw
}

// rawFirstPage runs, in SQL of one's own, what the runs table asks for:
// the first 50 records with lr = 0.01 by metrics.loss.min, id and
// document. It returns the rows read.
func (sw *sweep) rawFirstPage(ctx context.Context, coll string) (int, error) {
	n := 0
	switch sw.kind {
	case "sqlite":
		rows, err := sw.db.QueryContext(ctx, `SELECT id, doc FROM records
			WHERE collection = ? AND json_extract(doc, '$.lr') = 0.01
			ORDER BY collection, json_extract(doc, '$.metrics.loss.min'), id LIMIT 50`, coll)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				return n, err
			}
			n++
		}
		return n, rows.Err()
	default:
		rows, err := sw.pool.Query(ctx, `select id, doc from `+sw.table+`
			where collection = $1 and doc->'lr' = '0.01'::jsonb
			  and jsonb_typeof(doc->'metrics'->'loss'->'min') = 'number'
			order by (doc->'metrics'->'loss'->>'min')::float8, id limit 50`, coll)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		for rows.Next() {
			vals := rows.RawValues()
			_, _ = vals[0], vals[1]
			n++
		}
		return n, rows.Err()
	}
}

// serveOnce runs one request through h in process and fails unless it
// answers 200.
func serveOnce(b *testing.B, h http.Handler, path string) {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %.300s", path, w.Code, w.Body.String())
	}
}

// BenchmarkServeRunsRaw measures the first page of the runs table of a
// 100k-record sweep sorted by metrics.loss.min and filtered by lr=0.01, on
// SQLite and PostgreSQL: the page through the handler (server time, in
// process), the same List through the library, and the raw SQL query that
// does the same (ORDER BY the expression, LIMIT 50).
func BenchmarkServeRunsRaw(b *testing.B) {
	const coll = "sweep100k"
	n := benchSize(b, sweepRecordsEnv, 100_000)
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			sw := newSweep(b, kind, coll, n)
			h := serve.Handler(sw.store, serve.Options{})
			page := "/c/" + coll + "?sort=metrics.loss.min&where=lr%3D0.01"
			serveOnce(b, h, page) // the first read warms the cache for all three
			b.Run("page", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					serveOnce(b, h, page)
				}
			})
			b.Run("list", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					k := 0
					for _, err := range sw.store.List(b.Context(), coll, record.WhereText("lr=0.01"),
						record.OrderBy("metrics.loss.min", false), record.Limit(50)) {
						if err != nil {
							b.Fatal(err)
						}
						k++
					}
					if k != 50 {
						b.Fatalf("List gave %d records, want 50", k)
					}
				}
			})
			b.Run("raw", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					k, err := sw.rawFirstPage(b.Context(), coll)
					if err != nil {
						b.Fatal(err)
					}
					if k != 50 {
						b.Fatalf("raw query gave %d rows, want 50", k)
					}
				}
			})
		})
	}
}

// BenchmarkServeCompare measures the compare page of 20 runs of
// RECORD_BENCH_COMPARE_POINTS points of loss each (default 100k) on
// SQLite. "page" is GET compare?metric=loss&ids=(the 20) through the
// handler in process: server time per request, and
// the heap it needs beyond what was live before (extra-heap-MB: the peak
// of live heap objects sampled every millisecond, less the live heap
// after a GC before the request), the bytes allocated (B/op) and the peak
// resident set of the process while it ran (peak-RSS-MB, VmHWM after
// /proc/self/clear_refs). "raw-read" reads every point of the 20 series
// in SQL of one's own, and "sql-scan" counts them per bucket inside
// SQLite (the floor of downsampling in SQL). Generating the runs is outside the timer.
func BenchmarkServeCompare(b *testing.B) {
	const coll, runs, batch = "cmp", 20, 10_000
	points := benchSize(b, comparePointsEnv, 100_000)
	ctx := context.Background()
	dbPath := filepath.Join(b.TempDir(), "compare.db")
	s, err := record.Open(ctx, "sqlite://"+dbPath)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	var be backend.Backend
	var ss backend.SeriesStore
	if !s.As(&be) || !s.As(&ss) {
		b.Fatal("the sqlite backend is no SeriesStore")
	}
	start := time.Now()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, batch)
	ids := make([]string, runs)
	for r := range runs {
		id := fmt.Sprintf("cmp%02d", r)
		ids[r] = id
		last := 0.0
		mn := math.Inf(1)
		for lo := 0; lo < points; lo += batch {
			k := min(batch, points-lo)
			for i := range k {
				step := int64(lo + i)
				v := math.Exp(-float64(step)/float64(points)*(2+float64(r)/10)) + 0.02*math.Sin(float64(step)*0.37+float64(r))
				pts[i] = backend.Point{Step: step, Value: v, Time: t0.Add(time.Duration(step) * time.Millisecond)}
				mn, last = min(mn, v), v
			}
			if err := ss.AppendSeries(ctx, coll, id, "loss", pts[:k]); err != nil {
				b.Fatal(err)
			}
		}
		doc := map[string]any{
			"id": id, "collection": coll, "status": "completed", "created": t0,
			"lr": sweepLRs[r%len(sweepLRs)], "seed": int64(r),
			"metrics": map[string]any{"loss": map[string]any{
				"count": int64(points), "min": mn, "last": last, "last_step": int64(points - 1), "nans": int64(0),
			}},
		}
		if err := be.Insert(ctx, coll, id, doc); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d runs x %d points stored in %v", runs, points, time.Since(start).Round(time.Millisecond))
	h := serve.Handler(s, serve.Options{})
	page := "/c/" + coll + "/compare?metric=loss&ids=" + strings.Join(ids, ",")
	serveOnce(b, h, page) // warm the page cache of the file once

	b.Run("page", func(b *testing.B) { benchComparePage(b, h, page) })
	b.Run("raw-read", func(b *testing.B) {
		// The floor of any page that reads every point: the points of the
		// 20 series through database/sql, decoded and dropped.
		db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.ReportAllocs()
		for b.Loop() {
			total := 0
			for _, id := range ids {
				rows, err := db.QueryContext(ctx, `SELECT p.step, p.value FROM records_points p JOIN records_series s USING (sid)
					WHERE s.collection = ? AND s.id = ? AND s.name = 'loss' ORDER BY p.seq`, coll, id)
				if err != nil {
					b.Fatal(err)
				}
				sum := 0.0
				for rows.Next() {
					var step, bits int64
					if err := rows.Scan(&step, &bits); err != nil {
						b.Fatal(err)
					}
					sum += math.Float64frombits(uint64(bits))
					total++
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
			}
			if total != runs*points {
				b.Fatalf("read %d points, want %d", total, runs*points)
			}
		}
	})
	b.Run("sql-scan", func(b *testing.B) {
		// The floor of downsampling inside SQLite: one pass over every
		// point of the 20 series, counting them per 1000 in SQL, with
		// nothing but 1000 rows per series coming back.
		db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			total := 0
			for _, id := range ids {
				rows, err := db.QueryContext(ctx, `SELECT p.seq / (s.n / 1000 + 1), count(*), max(p.step) FROM records_points p
					JOIN records_series s USING (sid) WHERE s.collection = ? AND s.id = ? AND s.name = 'loss' GROUP BY 1`, coll, id)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					var bucket, count, step int64
					if err := rows.Scan(&bucket, &count, &step); err != nil {
						b.Fatal(err)
					}
					total += int(count)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
			}
			if total != runs*points {
				b.Fatalf("counted %d points, want %d", total, runs*points)
			}
		}
	})
}

// benchComparePage measures GET page through h; see BenchmarkServeCompare.
func benchComparePage(b *testing.B, h http.Handler, page string) {
	runtime.GC()
	debug.FreeOSMemory()
	resetRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	peak, stop := sampleHeap()
	b.ReportAllocs()
	var extra uint64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		base := liveHeap()
		peak.Store(base)
		b.StartTimer()
		serveOnce(b, h, page)
		b.StopTimer()
		peak.Observe(liveHeap())
		extra = max(extra, peak.Load()-base)
		b.StartTimer()
	}
	stop()
	b.ReportMetric(float64(extra)/(1<<20), "extra-heap-MB")
	if mb, ok := peakRSSMB(); ok && resetRSS {
		b.ReportMetric(mb, "peak-RSS-MB")
	}
}

// liveHeap reads the bytes of live and not yet swept heap objects without
// stopping the world.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap records the largest liveHeap seen every millisecond until
// stop is called; the caller may lower it with Store.
func sampleHeap() (peak *maxU64, stop func()) {
	peak = &maxU64{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				peak.Observe(liveHeap())
			}
		}
	}()
	return peak, func() { close(done); wg.Wait() }
}

// maxU64 is a maximum guarded by a mutex.
type maxU64 struct {
	mu sync.Mutex
	v  uint64
}

// Observe raises the maximum to v.
func (m *maxU64) Observe(v uint64) {
	m.mu.Lock()
	m.v = max(m.v, v)
	m.mu.Unlock()
}

// Store sets the maximum to v.
func (m *maxU64) Store(v uint64) { m.mu.Lock(); m.v = v; m.mu.Unlock() }

// Load returns the maximum.
func (m *maxU64) Load() uint64 { m.mu.Lock(); defer m.mu.Unlock(); return m.v }

// peakRSSMB reads the process's peak resident set (VmHWM) in MB.
func peakRSSMB() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, false
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb / 1024, err == nil
		}
	}
	return 0, false
}
