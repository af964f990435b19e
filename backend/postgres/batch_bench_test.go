package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
)

// BenchmarkApplyBatch measures one batch of a writer (a Set of the
// counter and the mark, and points of one metric) into a document of
// about 2.5 KB: through ApplyBatch (one transaction, two round trips),
// reading the whole document or only Reads and Guard, and the way
// without BatchStore (Get, AppendSeries, Merge: three round trips, not
// atomic).
func BenchmarkApplyBatch(b *testing.B) {
	doc := map[string]any{"n": int64(0)}
	for i := range 40 {
		doc[fmt.Sprintf("param_%02d", i)] = map[string]any{"value": rand.Float64(), "label": "some text"}
	}
	for _, n := range []int{0, 100, 1000} {
		pts := benchPoints(n)
		for _, mode := range []string{"projection", "whole", "get+append+merge"} {
			b.Run(fmt.Sprintf("%s/points=%d", mode, n), func(b *testing.B) {
				be := benchOpen(b)
				ctx := context.Background()
				if err := be.Insert(ctx, "bench", "run", doc); err != nil {
					b.Fatal(err)
				}
				for i := 0; b.Loop(); i++ {
					bt := markedBatch(int64(i+1), pts, nil)
					if n == 0 {
						bt.Metric, bt.Points = "", nil
					}
					if mode == "whole" {
						bt.Reads, bt.Guard = nil, nil
					}
					var err error
					if mode == "get+append+merge" {
						err = applyWithoutBatchStore(ctx, be, bt)
					} else {
						err = be.ApplyBatch(ctx, "bench", "run", bt)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
			})
		}
	}
}

func applyWithoutBatchStore(ctx context.Context, be *postgres.Backend, bt backend.Batch) error {
	doc, err := be.Get(ctx, "bench", "run")
	if err != nil {
		return err
	}
	ops, _, err := bt.Update(doc)
	if err != nil {
		return err
	}
	if err := be.AppendSeries(ctx, "bench", "run", "m", bt.Points); err != nil {
		return err
	}
	return be.Merge(ctx, "bench", "run", ops)
}
