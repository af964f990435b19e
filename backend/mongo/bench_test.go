package mongo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
)

// The shared benchmarks (backendtest.RunBenchmarks: insert, series
// ingest and read, list with fields, top N) run in BenchmarkBackend, see
// harness_test.go. This file holds what they do not measure against the
// raw driver:
//
//	go test -run '^$' -bench Merge -benchtime 1x ./backend/mongo/

// benchOpen opens a Backend on a fresh database; raw is that database
// through the official driver.
func benchOpen(b *testing.B) (*recmongo.Backend, *mongo.Database) {
	b.Helper()
	dsn := newDatabase(b)
	be, err := recmongo.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be, rawClient(b).Database(dbName(dsn))
}

// BenchmarkMerge measures the latency of one Merge into a document of
// about 2.5 KB, a Set of a nested field and an Append of one loss, through
// the library and as the equivalent raw UpdateOne ($set, $push).
func BenchmarkMerge(b *testing.B) {
	be, raw := benchOpen(b)
	ctx := context.Background()
	doc := map[string]any{}
	for i := range 40 {
		doc[fmt.Sprintf("param_%02d", i)] = map[string]any{"value": rand.Float64(), "label": "some text"}
	}
	id := bson.NewObjectID()
	if err := be.Insert(ctx, "bench", id.Hex(), doc); err != nil {
		b.Fatal(err)
	}
	c := raw.Collection("bench")
	// 200 merges per iteration, so that -benchtime 1x still measures.
	const merges = 200
	for _, tc := range []struct {
		name string
		op   func(i int) backend.Op
		raw  func(i int) bson.D
	}{
		{"set", func(i int) backend.Op {
			return backend.Op{Kind: backend.Set, Path: []string{"models", "model_0", "stats", "step"}, Value: int64(i)}
		}, func(i int) bson.D {
			return bson.D{{Key: "$set", Value: bson.D{{Key: "models.model_0.stats.step", Value: int64(i)}}}}
		}},
		{"append", func(i int) backend.Op {
			return backend.Op{Kind: backend.Append, Path: []string{"models", "model_0", "losses"}, Value: []any{rand.Float64()}}
		}, func(i int) bson.D {
			return bson.D{{Key: "$push", Value: bson.D{{Key: "models.model_0.losses", Value: bson.D{{Key: "$each", Value: bson.A{rand.Float64()}}}}}}}
		}},
	} {
		b.Run("library/"+tc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				for range merges {
					i++
					if err := be.Merge(ctx, "bench", id.Hex(), []backend.Op{tc.op(i)}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*merges), "us/merge")
		})
		b.Run("rawdriver/"+tc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				for range merges {
					i++
					if _, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, tc.raw(i)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*merges), "us/merge")
		})
	}
}
