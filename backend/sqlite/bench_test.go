package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/internal/docjson"
)

var ingestSizes = []int{10_000, 100_000, 1_000_000}

const ingestBatch = 1000

func points(n int) []backend.Point {
	pts := make([]backend.Point, n)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	for i := range pts {
		pts[i] = backend.Point{Step: int64(i), Value: 1 / float64(i+1), Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	return pts
}

// reportIngest reports the throughput and the cost per point of the first
// and the last tenth of the batches, which must stay about equal.
func reportIngest(b *testing.B, n int, batchTimes []time.Duration) {
	var total time.Duration
	for _, d := range batchTimes {
		total += d
	}
	tenth := max(1, len(batchTimes)/10)
	var first, last time.Duration
	for _, d := range batchTimes[:tenth] {
		first += d
	}
	for _, d := range batchTimes[len(batchTimes)-tenth:] {
		last += d
	}
	perBatch := float64(tenth * ingestBatch)
	b.ReportMetric(float64(n)/total.Seconds(), "points/s")
	b.ReportMetric(float64(first.Nanoseconds())/perBatch, "ns/pt-first10%")
	b.ReportMetric(float64(last.Nanoseconds())/perBatch, "ns/pt-last10%")
}

// BenchmarkIngest appends n points to one metric of one record in batches
// of 1000, through the adapter and, for comparison, through raw
// modernc.org/sqlite doing the same inserts as fast as it can.
func BenchmarkIngest(b *testing.B) {
	for _, n := range ingestSizes {
		pts := points(n)
		b.Run(fmt.Sprintf("adapter/%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				bb, err := sqlite.Open(b.Context(), "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
				if err != nil {
					b.Fatal(err)
				}
				s := bb.(*sqlite.Backend)
				if err := s.Insert(b.Context(), "c", "r", map[string]any{}); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				b.StartTimer()
				var times []time.Duration
				for i := 0; i < n; i += ingestBatch {
					t := time.Now()
					if err := s.AppendSeries(b.Context(), "c", "r", "loss", pts[i:i+ingestBatch]); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t))
				}
				b.StopTimer()
				reportIngest(b, n, times)
				s.Close()
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("raw/%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				db, ins := rawIngestDB(b)
				runtime.GC()
				b.StartTimer()
				var times []time.Duration
				for i := 0; i < n; i += ingestBatch {
					t := time.Now()
					if err := rawAppend(b.Context(), db, ins, int64(i), pts[i:i+ingestBatch]); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t))
				}
				b.StopTimer()
				reportIngest(b, n, times)
				ins.Close()
				db.Close()
				b.StartTimer()
			}
		})
	}
}

// rawIngestDB opens a fresh file with raw modernc.org/sqlite, the same
// pragmas and a points table like the adapter's, and prepares a 100-row
// INSERT.
func rawIngestDB(b *testing.B) (*sql.DB, *sql.Stmt) {
	b.Helper()
	p := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(b.Context(), `CREATE TABLE points (sid INTEGER NOT NULL, seq INTEGER NOT NULL,
		step INTEGER NOT NULL, value INTEGER NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (sid, seq)) WITHOUT ROWID`); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO points (sid, seq, step, value, time) VALUES ")
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?)")
	}
	ins, err := db.PrepareContext(b.Context(), sb.String())
	if err != nil {
		b.Fatal(err)
	}
	return db, ins
}

func rawAppend(ctx context.Context, db *sql.DB, ins *sql.Stmt, seq int64, pts []backend.Point) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st := tx.StmtContext(ctx, ins)
	args := make([]any, 0, 500)
	for i := 0; i < len(pts); i += 100 {
		args = args[:0]
		for j, p := range pts[i : i+100] {
			args = append(args, int64(1), seq+int64(i+j), p.Step, int64(math.Float64bits(p.Value)), p.Time.UnixMilli())
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// mergeDoc is a document of about 2 KB, like a run's parameters and host facts.
func mergeDoc() map[string]any {
	doc := map[string]any{"status": "running", "seed": int64(42)}
	params := map[string]any{}
	for i := range 40 {
		params[fmt.Sprintf("param_%02d", i)] = float64(i) / 7
	}
	doc["params"] = params
	host := map[string]any{}
	for i := range 20 {
		host[fmt.Sprintf("fact_%02d", i)] = strings.Repeat("h", 30)
	}
	doc["host"] = host
	return doc
}

// BenchmarkMerge measures one Merge with one Set op on a ~2 KB document,
// beside the raw driver doing the same read-modify-write under BEGIN
// IMMEDIATE with json_set.
func BenchmarkMerge(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		s := open(b, "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
		if err := s.Insert(b.Context(), "c", "r", mergeDoc()); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			op := backend.Op{Kind: backend.Set, Path: []string{"metrics", "loss", "last"}, Value: float64(i)}
			if err := s.Merge(b.Context(), "c", "r", []backend.Op{op}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-json_set", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "raw.db")
		db, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		ctx := b.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE records (collection TEXT, id TEXT, doc TEXT, PRIMARY KEY (collection, id))`); err != nil {
			b.Fatal(err)
		}
		text, err := docjson.Marshal(mergeDoc())
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("document: %d bytes", len(text))
		if _, err := db.ExecContext(ctx, `INSERT INTO records VALUES ('c', 'r', ?)`, string(text)); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE records SET doc = json_set(doc, '$.metrics.loss.last', ?) WHERE collection = ? AND id = ?`,
				float64(i), "c", "r"); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList lists 5000 ~2 KB records of one collection with a filter
// that matches one: "pushed" is pushed down to a json_extract predicate,
// "go" (!=, never pushed down) decodes every document and filters with
// backend.Match.
func BenchmarkList(b *testing.B) {
	s := open(b, "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
	ctx := b.Context()
	for i := range 5000 {
		doc := mergeDoc()
		doc["seed"] = int64(i)
		if err := s.Insert(ctx, "c", fmt.Sprintf("%05d", i), doc); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		cond backend.Cond
		want int
	}{
		{"pushed", backend.Cond{Path: []string{"seed"}, Cmp: backend.Eq, Value: int64(4242)}, 1},
		{"go", backend.Cond{Path: []string{"status"}, Cmp: backend.Ne, Value: "running"}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				items, err := s.List(ctx, "c", backend.Query{Where: []backend.Cond{bc.cond}})
				if err != nil {
					b.Fatal(err)
				}
				if len(items) != bc.want {
					b.Fatalf("List returned %d items, want %d", len(items), bc.want)
				}
			}
		})
	}
}
