package postgres_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
)

// TestPgdsSlicePlan checks how DownsampleSeries cuts the spans it reads
// into queries: every point in exactly one batch, batches of about
// 64k points at most, two at once only when there are points enough
// and the pool has two connections.
func TestPgdsSlicePlan(t *testing.T) {
	repeat := func(n, points int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = points
		}
		return out
	}
	for _, c := range []struct {
		name    string
		points  []int
		conns   int
		workers int
		batches []int
	}{
		{"nothing", nil, 4, 0, nil},
		{"few", repeat(100, 64), 4, 1, []int{6400}},
		{"one block per row", repeat(1000, 64), 4, 2, []int{32000, 32000}},
		{"one connection", repeat(1000, 64), 1, 1, []int{64000}},
		{"whole rows", repeat(200, 1000), 4, 2, []int{66000, 66000, 66000, 2000}},
		{"a row counts 1000 at most", []int{1, 20000}, 4, 1, []int{1001}},
		{"uneven", repeat(17, 1000), 4, 2, []int{9000, 8000}},
	} {
		workers, batches := postgres.SlicePlan(c.points, c.conns)
		if workers != min(c.workers, len(batches)) || !slices.Equal(batches, c.batches) {
			t.Errorf("%s: %d workers, batches %v; want %d, %v", c.name, workers, batches, c.workers, c.batches)
		}
	}
}

// TestPgdsSlicesParallel checks that a downsampled read whose straddling
// points are read by two queries at once is exact (hostile values
// included) and the same as through a pool of one connection, and that
// an error in one of the queries is returned, not lost or hung on.
func TestPgdsSlicesParallel(t *testing.T) {
	ctx := t.Context()
	dsn := newDSN(t)
	be, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	one, err := postgres.Open(ctx, withOptions(dsn, "pool_max_conns=1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { one.Close() })
	rng := rand.New(rand.NewPCG(13, 2))
	var stored []backend.Point
	for range 40 {
		pts := rollupPoints(rng, 1000, int64(len(stored)))
		if err := be.AppendSeries(ctx, "c", "r", "loss", pts); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, pts...)
	}
	queries := []backend.Downsample{
		// Every block straddles: every row is read whole, 40k points.
		{StepRange: backend.StepRange{From: math.MinInt64, To: math.MaxInt64}, Buckets: 1000},
		{StepRange: backend.StepRange{From: 337, To: 50_000}, Buckets: 997},
		// About one block per row straddles: fewer points than a split.
		{StepRange: backend.StepRange{From: 337, To: math.MaxInt64}, Buckets: 45},
	}
	for _, q := range queries {
		checkDownsample(t, be, "c", "r", "loss", stored, q)
		checkDownsample(t, one, "c", "r", "loss", stored, q)
	}

	// A row the decoder refuses, among rows read by both queries.
	sql := `insert into ` + be.SeriesTable() + ` (collection, id, name, steps, vals, times)
		values ('c', 'r', 'loss', '{5,6}', '{1,2}', '{2026-01-01,infinity}')`
	if _, err := be.Pool().Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*postgres.Backend{be, one} {
		tctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := b.DownsampleSeries(tctx, "c", "r", "loss", queries[0])
		cancel()
		if !errors.Is(err, backend.ErrInvalid) {
			t.Fatalf("DownsampleSeries over a row with an infinite time: %v; want ErrInvalid", err)
		}
	}
}
