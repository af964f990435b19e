package sqlite_test

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
)

// benchDownsamplePoints is the series length of BenchmarkRollupDownsample.
const benchDownsamplePoints = 1_000_000

// BenchmarkRollupDownsample folds a series of 1M points of one metric,
// appended in 1000-point batches, into 1,000 buckets: "library" is
// DownsampleSeries (block summaries plus the points of the blocks that
// straddle a bucket boundary); "raw-sql" is the best single SQL aggregate
// over a plain point table (value REAL) of the same points in the same
// file, doing the same bucketing (count, NaN-free min, max, sum, first and
// last step per bucket) with GROUP BY, as a user of the driver would.
//
//	go test -run '^$' -bench RollupDownsample -count 10 ./backend/sqlite
func BenchmarkRollupDownsample(b *testing.B) {
	path := filepath.Join(b.TempDir(), "records.db")
	s, err := sqlite.Open(b.Context(), "sqlite://"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	pts := points(benchDownsamplePoints)
	for i := 0; i < len(pts); i += 1000 {
		if err := s.AppendSeries(ctx, "c", "r", "loss", pts[i:i+1000]); err != nil {
			b.Fatal(err)
		}
	}
	db := rollupRawDB(b, path)
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw_points (sid INTEGER, seq INTEGER, step INTEGER, value REAL, time INTEGER,
		PRIMARY KEY (sid, seq)) WITHOUT ROWID`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO raw_points VALUES (1, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	for i, p := range pts {
		if _, err := ins.ExecContext(ctx, i, p.Step, p.Value, p.Time.UnixMilli()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	q := backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1000}

	b.Run("library", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			got, err := s.DownsampleSeries(ctx, "c", "r", "loss", q)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != 1000 {
				b.Fatalf("%d buckets", len(got))
			}
		}
	})
	b.Run("raw-sql", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			n, err := rawDownsample(ctx, db, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if n != 1000 {
				b.Fatalf("%d buckets", n)
			}
		}
	})
}

// rawDownsample is the raw baseline of a downsampled read: the extent,
// then one GROUP BY over the points.
func rawDownsample(ctx context.Context, db *sql.DB, buckets int64) (int, error) {
	var lo, hi int64
	if err := db.QueryRowContext(ctx, `SELECT min(step), max(step) FROM raw_points WHERE sid = 1`).Scan(&lo, &hi); err != nil {
		return 0, err
	}
	w := (hi - lo + buckets) / buckets
	rows, err := db.QueryContext(ctx, `SELECT (step - ?1) / ?2 AS k, count(*), min(value), max(value), sum(value), min(step), max(step)
		FROM raw_points WHERE sid = 1 GROUP BY k ORDER BY k`, lo, w)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k, count, first, last int64
		var mn, mx, sum float64
		if err := rows.Scan(&k, &count, &mn, &mx, &sum, &first, &last); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// BenchmarkRollupAppend appends 1000-point batches to one series:
// "library" is AppendSeries, which also writes the block summaries of the
// points; "raw" is the raw baseline's multi-row INSERTs into the same
// point table, without summaries (the layout before them).
//
//	go test -run '^$' -bench RollupAppend -count 10 ./backend/sqlite
func BenchmarkRollupAppend(b *testing.B) {
	for _, name := range []string{"library", "raw"} {
		b.Run(name, func(b *testing.B) {
			s := harness.New(b).(*sqlite.Backend)
			defer s.Close()
			ctx := b.Context()
			if err := s.Insert(ctx, "c", "r", map[string]any{}); err != nil {
				b.Fatal(err)
			}
			pts := points(1000)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				var err error
				if name == "library" {
					err = s.AppendSeries(ctx, "c", "r", "loss", pts)
				} else {
					err = raw.AppendPoints(ctx, s, "c", "r", "loss", pts)
				}
				if err != nil {
					b.Fatal(err)
				}
				for i := range pts {
					pts[i].Step += int64(len(pts))
				}
			}
			b.ReportMetric(float64(b.N*len(pts))/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// rollupRawDB opens the file at path with the driver alone, closed when tb ends.
func rollupRawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// reportCPU reports the process's CPU time (user and system) per op of
// the loop it is deferred around, beside the wall time that the other
// processes of a loaded machine inflate.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpu()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
