package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/internal/rollup"
)

// rollupSpecials are the hostile values among the test points.
var rollupSpecials = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	math.Copysign(0, -1), 0, 5e-324, -1e-300,
}

// rollupPoints returns n points from step start: steps mostly rising,
// some repeated, some going back; one value in ten hostile.
func rollupPoints(rng *rand.Rand, n int, start int64) []backend.Point {
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	step := start
	for i := range pts {
		switch r := rng.IntN(20); {
		case r == 0:
			step -= int64(rng.IntN(100)) // going back
		case r < 3:
			// the same step again
		default:
			step += int64(1 + rng.IntN(3))
		}
		v := rng.NormFloat64() * 100
		if rng.IntN(10) == 0 {
			v = rollupSpecials[rng.IntN(len(rollupSpecials))]
		}
		pts[i] = backend.Point{Step: step, Value: v, Time: base.Add(time.Duration(step*3+int64(rng.IntN(3))) * time.Millisecond)}
	}
	return pts
}

func readSeries(t *testing.T, be *postgres.Backend, coll, id, name string) []backend.Point {
	t.Helper()
	var out []backend.Point
	for pts, err := range be.ReadSeries(t.Context(), coll, id, name) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pts...)
	}
	return out
}

// checkDownsample fails t unless DownsampleSeries and ReadSeriesRange
// answer q as rollup.Fold and a filter over the stored points do.
func checkDownsample(t *testing.T, be *postgres.Backend, coll, id, name string, stored []backend.Point, q backend.Downsample) {
	t.Helper()
	want, err := rollup.Fold(q, func(yield func([]backend.Point) bool) error { yield(stored); return nil })
	if err != nil {
		t.Fatal(err)
	}
	got, err := be.DownsampleSeries(t.Context(), coll, id, name, q)
	if err != nil {
		t.Fatalf("DownsampleSeries(%+v): %v", q, err)
	}
	if len(got) != len(want) {
		t.Fatalf("DownsampleSeries(%+v): %d buckets, want %d", q, len(got), len(want))
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for i, w := range want {
		g := got[i]
		if g.From != w.From || g.To != w.To || g.Count != w.Count || g.NaNs != w.NaNs || !same(g.Min, w.Min) || !same(g.Max, w.Max) ||
			!samePoint(g.First, w.First) || !samePoint(g.Last, w.Last) {
			t.Fatalf("DownsampleSeries(%+v) bucket %d\n got %+v\nwant %+v", q, i, g, w)
		}
	}
	var wantPts, gotPts []backend.Point
	for _, p := range stored {
		if p.Step >= q.From && p.Step <= q.To {
			wantPts = append(wantPts, p)
		}
	}
	for pts, err := range be.ReadSeriesRange(t.Context(), coll, id, name, q.StepRange) {
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) == 0 {
			t.Fatalf("ReadSeriesRange(%+v) yielded an empty batch", q.StepRange)
		}
		gotPts = append(gotPts, pts...)
	}
	if !slices.EqualFunc(wantPts, gotPts, samePoint) {
		t.Fatalf("ReadSeriesRange(%d..%d): %d points, want %d (append order, exact)", q.From, q.To, len(gotPts), len(wantPts))
	}
}

func samePoint(a, b backend.Point) bool {
	return a.Step == b.Step && math.Float64bits(a.Value) == math.Float64bits(b.Value) && a.Time.Equal(b.Time)
}

// randomQueries returns n queries over and around lo..hi.
func randomQueries(rng *rand.Rand, n int, lo, hi int64) []backend.Downsample {
	qs := []backend.Downsample{
		{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1},
		{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1000},
		{StepRange: backend.StepRange{From: hi + 1, To: math.MaxInt64}, Buckets: 3},
	}
	for range n {
		a := lo - 50 + rng.Int64N(hi-lo+100)
		b := a + rng.Int64N(hi-a+50)
		n := 1 + rng.IntN(2000)
		if rng.IntN(2) == 0 {
			n = 1 + rng.IntN(20) // wide buckets: most blocks fold whole
		}
		qs = append(qs, backend.Downsample{StepRange: backend.StepRange{From: a, To: b}, Buckets: n})
	}
	return qs
}

// TestRollupStored checks that every row written by AppendSeries and
// ApplyBatch carries its points' smallest and greatest step and exactly
// rollup.Encode(rollup.Blocks(points)).
func TestRollupStored(t *testing.T) {
	be := openBackend(t)
	ctx := t.Context()
	if err := be.Insert(ctx, "c", "r", map[string]any{"n": int64(0)}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 63, 64, 65, 999, 1000, 1001, 2500} {
		if err := be.AppendSeries(ctx, "c", "r", "loss", rollupPoints(rng, n, int64(n)*10)); err != nil {
			t.Fatal(err)
		}
	}
	for seq, n := range []int{7, 1000, 2100} {
		pts := rollupPoints(rng, n, -int64(n))
		err := be.ApplyBatch(ctx, "c", "r", backend.Batch{
			Writer: "w", Seq: int64(seq + 1), Metric: "loss", Points: pts, Guard: []string{"n"},
			Update: func(doc map[string]any) ([]backend.Op, bool, error) {
				return []backend.Op{{Kind: backend.Set, Path: []string{"n"}, Value: int64(seq + 1)}}, true, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := be.Pool().Query(ctx, `select steps, vals, times, lo, hi, sums from `+be.SeriesTable()+` where collection = 'c' and id = 'r' order by seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			steps  []int64
			vals   []float64
			times  []time.Time
			lo, hi int64
			sums   []byte
		)
		if err := rows.Scan(&steps, &vals, &times, &lo, &hi, &sums); err != nil {
			t.Fatal(err)
		}
		pts := make([]backend.Point, len(steps))
		for i := range steps {
			pts[i] = backend.Point{Step: steps[i], Value: vals[i], Time: times[i].UTC()}
		}
		if lo != slices.Min(steps) || hi != slices.Max(steps) {
			t.Errorf("row %d: lo, hi = %d, %d; want %d, %d", n, lo, hi, slices.Min(steps), slices.Max(steps))
		}
		if want := rollup.Encode(rollup.Blocks(pts)); !bytes.Equal(sums, want) {
			t.Errorf("row %d of %d points: sums differ from the blocks of its points", n, len(pts))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// 1, 63, 64, 65, 999, 1000: one row each; 1001: 2; 2500: 3; batches 7: 1, 1000: 1, 2100: 3.
	if n != 6+2+3+1+1+3 {
		t.Fatalf("%d rows, want 16", n)
	}
}

// TestRollupRandom compares many random queries with the reference over
// a series of hostile values appended in batches of random sizes.
func TestRollupRandom(t *testing.T) {
	be := openBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	var stored []backend.Point
	step := int64(-5000)
	for len(stored) < 30_000 {
		pts := rollupPoints(rng, 1+rng.IntN(3000), step)
		step = pts[len(pts)-1].Step
		if err := be.AppendSeries(t.Context(), "c", "r", "loss", pts); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, pts...)
	}
	if got := readSeries(t, be, "c", "r", "loss"); !slices.EqualFunc(stored, got, samePoint) {
		t.Fatal("ReadSeries differs from the points appended")
	}
	lo := slices.MinFunc(stored, func(a, b backend.Point) int { return int(a.Step - b.Step) }).Step
	for _, q := range randomQueries(rng, 150, lo, step) {
		checkDownsample(t, be, "c", "r", "loss", stored, q)
	}
}

// TestRollupMigrate turns a table back into version 1 (no lo, hi, sums)
// with rows of points in it, opens it from many goroutines at once, and
// checks that every Backend works, that the old rows read whole give
// exact answers beside new rows with summaries, and that rows with null
// summaries written after the migration (by a library of version 1 still
// running) do too.
func TestRollupMigrate(t *testing.T) {
	dsn := newDSN(t)
	ctx := t.Context()
	be, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	table := tableIdentifier(be.Table())
	if _, err := be.Pool().Exec(ctx, `alter table `+be.SeriesTable()+` drop column lo, drop column hi, drop column sums`); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Pool().Exec(ctx, `update record_migrations set version = 1 where table_name = $1`, table[len(table)-1]); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var stored []backend.Point
	insertOld := func() {
		t.Helper()
		for range 5 {
			pts := rollupPoints(rng, 1+rng.IntN(1000), 100*int64(len(stored)/7))
			steps, vals, times := make([]int64, len(pts)), make([]float64, len(pts)), make([]time.Time, len(pts))
			for i, p := range pts {
				steps[i], vals[i], times[i] = p.Step, p.Value, p.Time
			}
			sql := `insert into ` + be.SeriesTable() + ` (collection, id, name, steps, vals, times) values ('c', 'r', 'loss', $1, $2, $3)`
			if _, err := be.Pool().Exec(ctx, sql, steps, vals, times); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, pts...)
		}
	}
	insertOld()
	be.Close()

	var (
		wg   sync.WaitGroup
		bes  = make([]*postgres.Backend, 8)
		errs = make([]error, len(bes))
	)
	for i := range bes {
		wg.Go(func() { bes[i], errs[i] = postgres.Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d of an old table: %v", i, err)
		}
		t.Cleanup(func() { bes[i].Close() })
	}
	be = bes[0]
	var version int
	if err := be.Pool().QueryRow(ctx, `select version from record_migrations where table_name = $1`, table[len(table)-1]).Scan(&version); err != nil || version != 2 {
		t.Fatalf("version after migration = %d, %v; want 2", version, err)
	}
	for i, b := range bes {
		pts := rollupPoints(rng, 1+rng.IntN(2500), 100*int64(len(stored)/7))
		if err := b.AppendSeries(ctx, "c", "r", "loss", pts); err != nil {
			t.Fatalf("AppendSeries through Backend %d: %v", i, err)
		}
		stored = append(stored, pts...)
	}
	insertOld()
	var old, summarized int
	if err := be.Pool().QueryRow(ctx, `select count(*) filter (where sums is null), count(sums) from `+be.SeriesTable()).Scan(&old, &summarized); err != nil {
		t.Fatal(err)
	}
	if old != 10 || summarized < 8 {
		t.Fatalf("%d rows without summaries, %d with; want 10 and at least 8", old, summarized)
	}
	if got := readSeries(t, be, "c", "r", "loss"); !slices.EqualFunc(stored, got, samePoint) {
		t.Fatal("ReadSeries differs from the points appended")
	}
	lo := slices.MinFunc(stored, func(a, b backend.Point) int { return int(a.Step - b.Step) }).Step
	hi := slices.MaxFunc(stored, func(a, b backend.Point) int { return int(a.Step - b.Step) }).Step
	for _, q := range randomQueries(rng, 100, lo, hi) {
		checkDownsample(t, bes[rng.IntN(len(bes))], "c", "r", "loss", stored, q)
	}
}

// TestRollupCorrupt checks that summaries the library did not write are
// ErrInvalid for DownsampleSeries, and leave the points readable.
func TestRollupCorrupt(t *testing.T) {
	be := openBackend(t)
	ctx := t.Context()
	pts := rollupPoints(rand.New(rand.NewPCG(7, 8)), 500, 0)
	if err := be.AppendSeries(ctx, "c", "r", "loss", pts); err != nil {
		t.Fatal(err)
	}
	if _, err := be.Pool().Exec(ctx, `update `+be.SeriesTable()+` set sums = '\x01ff'::bytea`); err != nil {
		t.Fatal(err)
	}
	all := backend.Downsample{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 10}
	if _, err := be.DownsampleSeries(ctx, "c", "r", "loss", all); !errors.Is(err, backend.ErrInvalid) || !errors.Is(err, rollup.ErrCorrupt) {
		t.Fatalf("DownsampleSeries over corrupt summaries: %v; want ErrInvalid and rollup.ErrCorrupt", err)
	}
	var n int
	for got, err := range be.ReadSeriesRange(ctx, "c", "r", "loss", all.StepRange) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(got)
	}
	if n != len(pts) {
		t.Fatalf("ReadSeriesRange read %d points, want %d", n, len(pts))
	}
}

// TestRollupPlan checks with EXPLAIN that the slices of straddling blocks
// are read by one index probe per span, not by a scan of the series.
func TestRollupPlan(t *testing.T) {
	be := openBackend(t)
	ctx := t.Context()
	for i := range 50 {
		if err := be.AppendSeries(ctx, "c", fmt.Sprint("r", i), "loss", rollupPoints(rand.New(rand.NewPCG(1, uint64(i))), 1000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := be.Pool().Exec(ctx, `analyze `+be.SeriesTable()); err != nil {
		t.Fatal(err)
	}
	sql := "explain " + be.SliceSQL()
	var plan []string
	rows, err := be.Pool().Query(ctx, sql, pgx.QueryExecModeExec, "c", "r1", "loss", []int64{1, 2}, []int32{1, 1}, []int32{64, 64})
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	text := fmt.Sprint(plan)
	if !bytes.Contains([]byte(text), []byte("Index Scan")) || bytes.Contains([]byte(text), []byte("Seq Scan on")) {
		t.Fatalf("plan of the slice query:\n%s", text)
	}
}

func openBackend(t *testing.T) *postgres.Backend {
	t.Helper()
	be, err := postgres.Open(context.Background(), newDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}
