package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/internal/rollup"
)

// rollupValues are the hostile values the rollup tests store among
// ordinary ones.
var rollupValues = []float64{
	math.NaN(), math.Float64frombits(0x7ff8_0000_dead_beef), math.Inf(1), math.Inf(-1),
	math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, -5e-324,
}

// rollupPoints returns n points from step start on: steps mostly rising,
// with repeats and a few going back, hostile values every seventh point,
// times with ties.
func rollupPoints(start int64, n int) []backend.Point {
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	step := start
	for i := range pts {
		switch {
		case i%11 == 3:
			// the same step again
		case i%97 == 5:
			step -= 9
		default:
			step++
		}
		v := math.Sin(float64(step) / 17)
		if i%7 == 0 {
			v = rollupValues[(i/7)%len(rollupValues)]
		}
		pts[i] = backend.Point{Step: step, Value: v, Time: t0.Add(time.Duration(step/2) * time.Millisecond)}
	}
	return pts
}

// rollupQueries are asked of every series the rollup tests check.
var rollupQueries = []backend.Downsample{
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 3},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 100},
	{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 5000},
	{StepRange: backend.StepRange{From: 500, To: 2600}, Buckets: 7},
	{StepRange: backend.StepRange{From: 1030, To: 1030}, Buckets: 2},
	{StepRange: backend.StepRange{From: 1 << 40, To: 1 << 41}, Buckets: 2},
}

// checkSeries fails t unless DownsampleSeries answers every query of
// rollupQueries as rollup.Fold does over want (the points appended, in
// order), bit for bit but for Sum, and ReadSeriesRange yields exactly the
// points of want in a few ranges, in order, in batches of at most 4096.
func checkSeries(t *testing.T, b *sqlite.Backend, name string, want []backend.Point) {
	t.Helper()
	ctx := t.Context()
	stored, err := readSeries(t, ctx, b, "c", "r", name)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(want, stored, sameRollupPoint) {
		t.Fatalf("%s: ReadSeries = %d points, want the %d appended", name, len(stored), len(want))
	}
	for _, q := range rollupQueries {
		ref, err := rollup.Fold(q, func(yield func([]backend.Point) bool) error { yield(want); return nil })
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.DownsampleSeries(ctx, "c", "r", name, q)
		if err != nil {
			t.Fatalf("%s: DownsampleSeries(%+v): %v", name, q, err)
		}
		if len(got) != len(ref) {
			t.Fatalf("%s: DownsampleSeries(%+v) = %d buckets, want %d", name, q, len(got), len(ref))
		}
		for i := range ref {
			if !sameBucket(ref[i], got[i]) {
				t.Fatalf("%s: DownsampleSeries(%+v) bucket %d\n got %+v\nwant %+v", name, q, i, got[i], ref[i])
			}
		}
		var in, read []backend.Point
		for _, p := range want {
			if p.Step >= q.From && p.Step <= q.To {
				in = append(in, p)
			}
		}
		for pts, err := range b.ReadSeriesRange(ctx, "c", "r", name, q.StepRange) {
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) == 0 || len(pts) > 4096 {
				t.Fatalf("%s: ReadSeriesRange yielded a batch of %d points", name, len(pts))
			}
			read = append(read, pts...)
		}
		if !slices.EqualFunc(in, read, sameRollupPoint) {
			t.Fatalf("%s: ReadSeriesRange(%d..%d) = %d points, want %d", name, q.From, q.To, len(read), len(in))
		}
	}
}

func sameRollupPoint(a, b backend.Point) bool {
	return a.Step == b.Step && math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Time.Equal(b.Time)
}

// sameBucket compares all but Sum bit for bit, and Sum as floats (its
// rounding depends on the order of addition).
func sameBucket(want, got backend.Bucket) bool {
	same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	closeTo := func(a, b float64) bool {
		return same(a, b) || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) <= 1e-9*max(1, math.Abs(a))
	}
	return want.From == got.From && want.To == got.To && want.Count == got.Count && want.NaNs == got.NaNs &&
		same(want.Min, got.Min) && same(want.Max, got.Max) && closeTo(want.Sum, got.Sum) &&
		sameRollupPoint(want.First, got.First) && sameRollupPoint(want.Last, got.Last)
}

// blockRows returns, per group, the point count its row of records_blocks
// holds (-1 for a row whose summaries do not decode).
func blockRows(t *testing.T, db *sql.DB, name string) map[int64]int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT b.grp, b.n, b.sums FROM records_blocks b JOIN records_series s ON s.sid = b.sid
		WHERE s.collection = 'c' AND s.id = 'r' AND s.name = ?`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var grp, n int64
		var blob []byte
		if err := rows.Scan(&grp, &n, &blob); err != nil {
			t.Fatal(err)
		}
		sums, _, err := rollup.Decode(blob)
		if err != nil || rollup.Total(sums).Count != n {
			n = -1
		}
		out[grp] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantRows is blockRows of a series of n points whose every group row is
// exact.
func wantRows(n int64) map[int64]int64 {
	out := map[int64]int64{}
	for g := int64(0); g*1024 < n; g++ {
		out[g] = min(1024, n-g*1024)
	}
	return out
}

// TestRollupAppend: appends of every size around the block (64) and
// group (1024) sizes keep one exact row per group, and the downsampled and
// range reads match the reference over hostile values.
func TestRollupAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.db")
	b := open(t, "sqlite://"+path)
	var all []backend.Point
	for _, n := range []int{1, 63, 64, 65, 1000, 23, 1, 1024, 1025, 2047, 7} {
		pts := rollupPoints(int64(len(all)), n)
		if err := b.AppendSeries(t.Context(), "c", "r", "loss", pts); err != nil {
			t.Fatal(err)
		}
		all = append(all, pts...)
	}
	if diff := fmt.Sprint(wantRows(int64(len(all)))); fmt.Sprint(blockRows(t, rollupRawDB(t, path), "loss")) != diff {
		t.Fatalf("block rows %v, want %v", blockRows(t, rollupRawDB(t, path), "loss"), diff)
	}
	checkSeries(t, b, "loss", all)
}

// TestRollupBehind: points stored without summaries (by an older version
// of this library still running while a newer one migrated, here by the
// raw baseline) give exact answers, from their points; the next append to
// a group rebuilds its row from the points.
func TestRollupBehind(t *testing.T) {
	ctx := t.Context()
	b := harness.New(t).(*sqlite.Backend)
	if err := b.Insert(ctx, "c", "r", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	var all []backend.Point
	add := func(n int, rawly bool) {
		t.Helper()
		pts := rollupPoints(int64(len(all)), n)
		var err error
		if rawly {
			err = raw.AppendPoints(ctx, b, "c", "r", "loss", pts)
		} else {
			err = b.AppendSeries(ctx, "c", "r", "loss", pts)
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pts...)
	}
	add(1500, false) // group 0 whole, group 1 up to 1499
	add(700, true)   // group 1 behind, group 2 without a row
	checkSeries(t, b, "loss", all)
	add(100, false) // group 2 rebuilt from its points
	checkSeries(t, b, "loss", all)
	add(3000, true) // groups 3..5 without rows
	checkSeries(t, b, "loss", all)
	db, err := rawOpen(b)
	if err != nil {
		t.Fatal(err)
	}
	rows := blockRows(t, db, "loss")
	if rows[0] != 1024 || rows[1] != 476 || rows[2] != 252 || len(rows) != 3 {
		t.Fatalf("block rows %v, want 0:1024 1:476 (behind) 2:252 (rebuilt, then behind)", rows)
	}
}

// TestRollupCorrupt: summaries that do not decode are read from the
// points, and the next append to their group rebuilds them.
func TestRollupCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.db")
	b := open(t, "sqlite://"+path)
	all := rollupPoints(0, 2500)
	if err := b.AppendSeries(t.Context(), "c", "r", "loss", all); err != nil {
		t.Fatal(err)
	}
	db := rollupRawDB(t, path)
	for _, blob := range [][]byte{{1, 2}, rollup.Encode([]rollup.Summary{{Count: 5}})} {
		if _, err := db.ExecContext(t.Context(), `UPDATE records_blocks SET sums = ?`, blob); err != nil {
			t.Fatal(err)
		}
		checkSeries(t, b, "loss", all)
	}
	more := rollupPoints(2500, 100)
	if err := b.AppendSeries(t.Context(), "c", "r", "loss", more); err != nil {
		t.Fatal(err)
	}
	all = append(all, more...)
	checkSeries(t, b, "loss", all)
	if got := blockRows(t, db, "loss")[2]; got != 2600-2048 {
		t.Fatalf("group 2 after an append: %d points, want it rebuilt with %d", got, 2600-2048)
	}
}

// TestRollupDelete: Delete and Drop remove the summaries with the points,
// and a series appended again under the same name starts afresh.
func TestRollupDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.db")
	b := open(t, "sqlite://"+path)
	db := rollupRawDB(t, path)
	ctx := t.Context()
	count := func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM records_blocks`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, del := range []func() error{
		func() error { return b.Delete(ctx, "c", "r") },
		func() error { return b.Drop(ctx, "c") },
	} {
		if err := b.Insert(ctx, "c", "r", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a", "b"} {
			if err := b.AppendSeries(ctx, "c", "r", name, rollupPoints(0, 3000)); err != nil {
				t.Fatal(err)
			}
		}
		if count() != 6 {
			t.Fatalf("%d block rows, want 6", count())
		}
		if err := del(); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d block rows after removing the record, want 0", n)
		}
		got, err := b.DownsampleSeries(ctx, "c", "r", "a", rollupQueries[0])
		if err != nil || len(got) != 0 {
			t.Fatalf("DownsampleSeries after removal = %v, %v", got, err)
		}
		again := rollupPoints(5, 10)
		if err := b.AppendSeries(ctx, "c", "r", "a", again); err != nil {
			t.Fatal(err)
		}
		checkSeries(t, b, "a", again)
		if err := b.Drop(ctx, "c"); err != nil {
			t.Fatal(err)
		}
	}
}

// v1Schema is the layout of schema version 1, before block summaries.
var v1Schema = []string{
	`CREATE TABLE records (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
	created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (collection, id))`,
	`CREATE TABLE records_series (sid INTEGER PRIMARY KEY, collection TEXT NOT NULL, id TEXT NOT NULL,
	name TEXT NOT NULL, n INTEGER NOT NULL, UNIQUE (collection, id, name))`,
	`CREATE TABLE records_points (sid INTEGER NOT NULL, seq INTEGER NOT NULL, step INTEGER NOT NULL,
	value INTEGER NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (sid, seq)) WITHOUT ROWID`,
	`CREATE TABLE records_meta (key TEXT PRIMARY KEY, value ANY)`,
	`INSERT INTO records_meta (key, value) VALUES ('schema_version', 1)`,
	`INSERT INTO records VALUES ('c', 'r', '{}', 0, 0)`,
}

// v1Store writes a version 1 store at path holding series of the given
// lengths, and returns their points.
func v1Store(t *testing.T, path string, lengths map[string]int) map[string][]backend.Point {
	t.Helper()
	ctx := t.Context()
	db := rollupRawDB(t, path)
	for _, stmt := range v1Schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	out := map[string][]backend.Point{}
	for name, n := range lengths {
		pts := rollupPoints(-50, n)
		var sid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO records_series (collection, id, name, n) VALUES ('c', 'r', ?, ?) RETURNING sid`,
			name, n).Scan(&sid); err != nil {
			t.Fatal(err)
		}
		// 100 rows a statement: one per row took most of this test's
		// time under the race detector.
		for lo := 0; lo < len(pts); lo += 100 {
			part := pts[lo:min(lo+100, len(pts))]
			args := make([]any, 0, 5*len(part))
			for i, p := range part {
				args = append(args, sid, lo+i, p.Step, int64(math.Float64bits(p.Value)), p.Time.UnixMilli())
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO records_points VALUES `+
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(part)), ", "), args...); err != nil {
				t.Fatal(err)
			}
		}
		out[name] = pts
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRollupMigrate: opening a version 1 store, from several goroutines
// at once (each its own Backend and connections, as processes would) and
// with x-create=false too, migrates it once to the current version, with the block
// summaries of every stored series; reads are exact and appends go on.
func TestRollupMigrate(t *testing.T) {
	lengths := map[string]int{"long": 70_000, "one": 1, "edge": 1024, "acc\"ur'acy\\": 2049}
	for _, dsnTail := range []string{"", "?x-create=false"} {
		t.Run("dsn="+dsnTail, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "records.db")
			data := v1Store(t, path, lengths)
			var wg sync.WaitGroup
			backends := make([]*sqlite.Backend, 4)
			errs := make([]error, len(backends))
			for i := range backends {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					backends[i], errs[i] = sqlite.Open(ctx, "sqlite://"+path+dsnTail)
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Open %d: %v", i, err)
				}
				t.Cleanup(func() { backends[i].Close() })
			}
			db := rollupRawDB(t, path)
			var v int
			if err := db.QueryRowContext(t.Context(), `SELECT value FROM records_meta WHERE key = 'schema_version'`).Scan(&v); err != nil || v != sqlite.SchemaVersion {
				t.Fatalf("schema_version = %d, %v; want %d", v, err, sqlite.SchemaVersion)
			}
			for name, pts := range data {
				if got, want := fmt.Sprint(blockRows(t, db, name)), fmt.Sprint(wantRows(int64(len(pts)))); got != want {
					t.Fatalf("%s: block rows %s, want %s", name, got, want)
				}
				checkSeries(t, backends[len(backends)-1], name, pts)
			}
			more := rollupPoints(1000, 1500)
			if err := backends[0].AppendSeries(t.Context(), "c", "r", "edge", more); err != nil {
				t.Fatal(err)
			}
			checkSeries(t, backends[1], "edge", append(data["edge"], more...))
		})
	}
}
