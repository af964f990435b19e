package record_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	_ "github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/record"
)

// Export benchmarks: record's Export beside a raw dump of the same data
// by the raw driver, each in a child process of its own so that its peak
// RSS is its own (reported as peak-MB; ns/op is the export alone, without
// the child's start). The data is stored once per machine, under
// $TMPDIR/record-bench-export (SQLite) or in tables bench_export_* of
// $RECORD_TEST_POSTGRES_DSN, and kept for the next run, so that -count 10
// measures the same data ten times.
//
//	go test -run '^$' -bench 'BenchmarkExport' -benchtime 1x -count 10 ./record
//
// Sizes: RECORD_BENCH_EXPORT_RECORDS records (10,000) of two metrics of
// RECORD_BENCH_EXPORT_RECORD_POINTS points (100) with host facts; and one
// record of one metric of RECORD_BENCH_EXPORT_POINTS points (10,000,000).

const exportChildEnv = "RECORD_BENCH_EXPORT_CHILD"

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// exportCase is one data set in one store.
type exportCase struct {
	kind, name string
	dsn        string // the store's DSN
	coll       string
	records    int // of two metrics of points each
	points     int
}

func exportCases(b *testing.B) []exportCase {
	records := envInt("RECORD_BENCH_EXPORT_RECORDS", 10_000)
	perRecord := envInt("RECORD_BENCH_EXPORT_RECORD_POINTS", 100)
	series := envInt("RECORD_BENCH_EXPORT_POINTS", 10_000_000)
	dir := filepath.Join(os.TempDir(), "record-bench-export")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	recName := fmt.Sprintf("records%dx2x%d", records, perRecord)
	serName := fmt.Sprintf("series%d", series)
	cases := []exportCase{
		{"sqlite", recName, "sqlite://" + filepath.Join(dir, recName+".db"), "Nov-25-2026", records, perRecord},
		{"sqlite", serName, "sqlite://" + filepath.Join(dir, serName+".db"), "Nov-25-2026", 1, series},
	}
	if base := os.Getenv("RECORD_TEST_POSTGRES_DSN"); base != "" {
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		for _, c := range cases[:2] {
			c.kind, c.dsn = "postgres", base+sep+"x-table=bench_export_"+c.name
			cases = append(cases, c)
		}
	}
	return cases
}

// seed stores the case's data unless an earlier run did: the marker
// record bench-done/<name> is written last.
func (c exportCase) seed(b *testing.B) {
	ctx := context.Background()
	s, err := record.Open(ctx, c.dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.Get(ctx, "bench-done", c.name); err == nil {
		return
	}
	if err := s.Drop(ctx, c.coll); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range c.records {
		opts := []record.CreateOption{record.WithID(fmt.Sprintf("run%07d", i)), record.WithBatchSize(10_000)}
		if c.records == 1 {
			opts = append(opts, record.WithoutHost())
		}
		rec, err := s.Create(ctx, c.coll, opts...)
		if err != nil {
			b.Fatal(err)
		}
		if err := rec.Update(ctx, map[string]any{"lr": 0.1 / float64(i+1), "layers": int64(i % 7), "name": "model \"" + strconv.Itoa(i) + "\""}); err != nil {
			b.Fatal(err)
		}
		for step := range c.points {
			v := math.Exp(-float64(step) / 1000)
			if c.records == 1 {
				rec.Log(int64(step), record.Metrics{"loss": v})
			} else {
				rec.Log(int64(step), record.Metrics{"loss": v, "acc": 1 - v})
			}
		}
		if err := rec.Close(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, "bench-done", record.WithID(c.name), record.WithoutHost()); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %s on %s in %v", c.name, c.kind, time.Since(start).Round(time.Millisecond))
}

// BenchmarkExport runs record's Export and the raw dump of each case, in
// a child process each.
func BenchmarkExport(b *testing.B) {
	for _, c := range exportCases(b) {
		for _, mode := range []string{"raw", "library"} {
			b.Run(c.kind+"/"+c.name+"/"+mode, func(b *testing.B) {
				c.seed(b)
				var ns, peak, out float64
				for range b.N {
					r := runExportChild(b, mode, c)
					ns += r[0]
					peak = max(peak, r[1])
					out = r[2]
				}
				b.ReportMetric(ns/float64(b.N), "ns/op")
				b.ReportMetric(peak, "peak-MB")
				b.ReportMetric(out, "MB-out")
			})
		}
	}
}

// BenchmarkReadSeries reads back every point of every record of each
// case: the library through List and Snapshot.Series (batches), beside
// the raw driver streaming the same points (SQLite: one query over the
// points table; PostgreSQL: one query unnesting the series rows). Each
// run is a child process, so peak-MB is the reader's own peak RSS (the
// issue's bar: under 100 MB for a 10M-point series).
func BenchmarkReadSeries(b *testing.B) {
	for _, c := range exportCases(b) {
		for _, mode := range []string{"rawread", "read"} {
			b.Run(c.kind+"/"+c.name+"/"+mode, func(b *testing.B) {
				c.seed(b)
				var ns, peak, pts float64
				for range b.N {
					r := runExportChild(b, mode, c)
					ns += r[0]
					peak = max(peak, r[1])
					pts = math.Round(r[2] * 1e6) // points read
				}
				want := float64(c.points) // one metric
				if c.records > 1 {
					want = float64(c.records * c.points * 2)
				}
				if pts != want {
					b.Fatalf("read %v points, want %v", pts, want)
				}
				b.ReportMetric(ns/float64(b.N), "ns/op")
				b.ReportMetric(peak, "peak-MB")
				b.ReportMetric(pts/(ns/float64(b.N)/1e9), "pts/s")
			})
		}
	}
}

// runExportChild re-executes the test binary to export one case, and
// returns its time (ns), peak RSS (MB) and output (MB).
func runExportChild(b *testing.B, mode string, c exportCase) [3]float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestExportChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), exportChildEnv+"="+strings.Join([]string{mode, c.kind, c.dsn, c.coll}, "\t"))
	outb, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("export child: %v\n%s", err, outb)
	}
	var ns, bytes, hwm int64
	for line := range strings.Lines(string(outb)) {
		if s, ok := strings.CutPrefix(line, "export-child "); ok {
			fmt.Sscan(s, &ns, &bytes, &hwm)
		}
	}
	if ns == 0 || hwm == 0 {
		b.Fatalf("export child said nothing:\n%s", outb)
	}
	return [3]float64{float64(ns), float64(hwm) / 1024, float64(bytes) / 1e6}
}

// childPeakRSS returns the process's peak resident set size in KiB: VmHWM of
// /proc/self/status. (getrusage's ru_maxrss would not do: Linux carries
// the parent's peak over the child's exec.)
func childPeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return -1
}

// counter counts what is written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestExportChild is the child process of BenchmarkExport; it does
// nothing unless started by it.
func TestExportChild(t *testing.T) {
	spec := os.Getenv(exportChildEnv)
	if spec == "" {
		t.Skip("run by BenchmarkExport")
	}
	f := strings.Split(spec, "\t")
	mode, kind, dsn, coll := f[0], f[1], f[2], f[3]
	ctx := context.Background()
	var w counter
	bw := bufio.NewWriterSize(&w, 1<<16)
	start := time.Now()
	var err error
	switch {
	case mode == "library":
		var s *record.Store
		if s, err = record.Open(ctx, dsn); err == nil {
			_, err = s.Export(ctx, coll, bw)
			s.Close(ctx)
		}
	case mode == "read":
		var s *record.Store
		if s, err = record.Open(ctx, dsn); err == nil {
			w.n, err = readAllSeries(ctx, s, coll)
			s.Close(ctx)
		}
	case mode == "rawread" && kind == "sqlite":
		w.n, err = rawReadSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"), coll)
	case mode == "rawread":
		w.n, err = rawReadPostgres(ctx, dsn, coll)
	case kind == "sqlite":
		err = rawDumpSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"), coll, bw)
	default:
		err = rawDumpPostgres(ctx, dsn, coll, bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("export-child %d %d %d\n", time.Since(start).Nanoseconds(), w.n, childPeakRSS())
}

// readAllSeries reads every point of every metric of every record of
// coll through the library, batch by batch, and returns how many.
func readAllSeries(ctx context.Context, s *record.Store, coll string) (int64, error) {
	var n int64
	var sum float64
	for snap, err := range s.List(ctx, coll) {
		if err != nil {
			return n, err
		}
		for _, name := range snap.MetricNames() {
			for batch, err := range snap.Series(ctx, name) {
				if err != nil {
					return n, err
				}
				for _, p := range batch {
					sum += p.Value
				}
				n += int64(len(batch))
			}
		}
	}
	if math.IsInf(sum, 0) {
		return n, fmt.Errorf("sum of the values is %v", sum)
	}
	return n, nil
}

// rawReadSQLite streams every point of coll's series with one query of
// the raw driver, and returns how many.
func rawReadSQLite(ctx context.Context, path, coll string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT p.step, p.value, p.time FROM records_series s
		JOIN records_points p ON p.sid = s.sid WHERE s.collection = ? ORDER BY s.id, s.name, p.seq`, coll)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n, step, bits, ms int64
	var sum float64
	for rows.Next() {
		if err := rows.Scan(&step, &bits, &ms); err != nil {
			return n, err
		}
		sum += math.Float64frombits(uint64(bits))
		n++
	}
	return n, rows.Err()
}

// rawReadPostgres streams every point of coll's series with one query of
// pgx, unnesting the series rows, and returns how many.
func rawReadPostgres(ctx context.Context, dsn, coll string) (int64, error) {
	base, table, _ := strings.Cut(dsn, "x-table=")
	conn, err := pgx.Connect(ctx, strings.TrimRight(base, "?&"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT u.step, u.val, u.t FROM `+table+`_series,
		unnest(steps, vals, times) AS u(step, val, t) WHERE collection = $1 ORDER BY id, name, seq`, coll)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	var sum float64
	for rows.Next() {
		vals := rows.RawValues()
		if len(vals) != 3 {
			return n, fmt.Errorf("row of %d columns", len(vals))
		}
		sum += float64(len(vals[1]))
		n++
	}
	return n, rows.Err()
}

// rawDumpSQLite writes every document of coll as JSON text (json(doc) of
// the stored JSONB, one line each) and then every point of its series as
// a text line (id, metric, step, value, time), with two streamed queries
// of the raw driver: what a hand-written dump of the same data does.
func rawDumpSQLite(ctx context.Context, path, coll string, w *bufio.Writer) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, json(doc) FROM records WHERE collection = ? ORDER BY id`, coll)
	if err != nil {
		return err
	}
	var id, doc, name sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&id, &doc); err != nil {
			return err
		}
		w.Write(id)
		w.WriteByte('\t')
		w.Write(doc)
		w.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = db.QueryContext(ctx, `SELECT s.id, s.name, p.step, p.value, p.time FROM records_series s
		JOIN records_points p ON p.sid = s.sid WHERE s.collection = ? ORDER BY s.id, s.name, p.seq`, coll)
	if err != nil {
		return err
	}
	defer rows.Close()
	var step, bits, ms int64
	buf := make([]byte, 0, 128)
	for rows.Next() {
		if err := rows.Scan(&id, &name, &step, &bits, &ms); err != nil {
			return err
		}
		buf = append(append(buf[:0], id...), '\t')
		buf = append(append(buf, name...), '\t')
		buf = append(strconv.AppendInt(buf, step, 10), '\t')
		buf = append(strconv.AppendFloat(buf, math.Float64frombits(uint64(bits)), 'g', -1, 64), '\t')
		buf = append(time.UnixMilli(ms).UTC().AppendFormat(buf, time.RFC3339Nano), '\n')
		w.Write(buf)
	}
	return rows.Err()
}

// rawDumpPostgres is rawDumpSQLite with COPY ... TO STDOUT: the server
// writes the documents and the points (one row per point) as text.
func rawDumpPostgres(ctx context.Context, dsn, coll string, w *bufio.Writer) error {
	base, table, _ := strings.Cut(dsn, "x-table=")
	base = strings.TrimRight(base, "?&")
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	lit := "'" + strings.ReplaceAll(coll, "'", "''") + "'"
	if _, err := conn.PgConn().CopyTo(ctx, w, `COPY (SELECT id, doc FROM `+table+` WHERE collection = `+lit+` ORDER BY id) TO STDOUT`); err != nil {
		return err
	}
	_, err = conn.PgConn().CopyTo(ctx, w, `COPY (SELECT id, name, u.step, u.val, u.t FROM `+table+`_series,
		unnest(steps, vals, times) AS u(step, val, t) WHERE collection = `+lit+` ORDER BY id, name, seq) TO STDOUT`)
	return err
}

var _ io.Writer = (*counter)(nil)
