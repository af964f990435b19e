package mongo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
)

// Run with short settings (FerretDB: 1M points take a few seconds):
//
//	go test -run '^$' -bench . -benchtime 1x ./backend/mongo/
//
// BenchmarkIngest appends 10k, 100k and 1M points to one record in
// 1000-point batches through the library (AppendSeries: one bucket
// document per batch) and the same bucket documents through the raw
// driver (InsertOne into an equally indexed collection). ms/batch-first
// and ms/batch-last are the mean batch times over the first and the last
// tenth of the series: equal means the cost per point stays flat.

const benchBatch = 1000

var benchSizes = []int{10_000, 100_000, 1_000_000}

func benchPoints(n int) []backend.Point {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	for i := range pts {
		pts[i] = backend.Point{Step: int64(i), Value: rand.Float64(), Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	return pts
}

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

// ingest runs write for every batch of pts and reports the throughput and
// the mean batch time at the start and the end of the series.
func ingest(b *testing.B, pts []backend.Point, write func(it int, batch []backend.Point) error) {
	b.Helper()
	nb := len(pts) / benchBatch
	tenth := max(nb/10, 1)
	var total, first, last time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for i := range nb {
			s := time.Now()
			if err := write(it, pts[i*benchBatch:(i+1)*benchBatch]); err != nil {
				b.Fatal(err)
			}
			d := time.Since(s)
			total += d
			if i < tenth {
				first += d
			}
			if i >= nb-tenth {
				last += d
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(pts)*b.N)/total.Seconds(), "points/s")
	b.ReportMetric(float64(total.Nanoseconds())/float64(len(pts)*b.N), "ns/point")
	b.ReportMetric(first.Seconds()*1000/float64(tenth*b.N), "ms/batch-first")
	b.ReportMetric(last.Seconds()*1000/float64(tenth*b.N), "ms/batch-last")
}

func BenchmarkIngest(b *testing.B) {
	const coll = "bench"
	for _, n := range benchSizes {
		pts := benchPoints(n)
		b.Run(fmt.Sprintf("library/points=%d", n), func(b *testing.B) {
			be, _ := benchOpen(b)
			ctx := context.Background()
			id := bson.NewObjectID().Hex()
			if err := be.Insert(ctx, coll, id, map[string]any{}); err != nil {
				b.Fatal(err)
			}
			ingest(b, pts, func(it int, batch []backend.Point) error {
				return be.AppendSeries(ctx, coll, id, fmt.Sprint("loss", it), batch)
			})
		})
		b.Run(fmt.Sprintf("rawdriver/points=%d", n), func(b *testing.B) {
			_, raw := benchOpen(b)
			ctx := context.Background()
			c := raw.Collection("_series.raw")
			if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "record", Value: 1}, {Key: "name", Value: 1}, {Key: "seq", Value: 1}}}); err != nil {
				b.Fatal(err)
			}
			oid := bson.NewObjectID()
			seq := int64(0)
			ingest(b, pts, func(it int, batch []backend.Point) error {
				steps, values, times := make(bson.A, len(batch)), make(bson.A, len(batch)), make(bson.A, len(batch))
				for i, p := range batch {
					steps[i], values[i], times[i] = p.Step, p.Value, bson.NewDateTimeFromTime(p.Time)
				}
				seq++
				_, err := c.InsertOne(ctx, bson.D{
					{Key: "_id", Value: bson.NewObjectID()}, {Key: "record", Value: oid}, {Key: "name", Value: fmt.Sprint("loss", it)},
					{Key: "seq", Value: seq}, {Key: "steps", Value: steps}, {Key: "values", Value: values}, {Key: "times", Value: times},
				})
				return err
			})
		})
	}
}

// BenchmarkReadSeries reads back 100k points through the library and as
// raw bucket documents through the driver (no decoding).
func BenchmarkReadSeries(b *testing.B) {
	be, raw := benchOpen(b)
	ctx := context.Background()
	pts := benchPoints(100_000)
	id := bson.NewObjectID()
	for i := 0; i < len(pts); i += benchBatch {
		if err := be.AppendSeries(ctx, "bench", id.Hex(), "loss", pts[i:i+benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			got, err := be.ReadSeries(ctx, "bench", id.Hex(), "loss")
			if err != nil || len(got) != len(pts) {
				b.Fatal(len(got), err)
			}
		}
		b.ReportMetric(float64(len(pts)*b.N)/b.Elapsed().Seconds(), "points/s")
	})
	b.Run("rawdriver", func(b *testing.B) {
		c := raw.Collection("_series.bench")
		for b.Loop() {
			cur, err := c.Find(ctx, bson.D{{Key: "record", Value: id}, {Key: "name", Value: "loss"}}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
			if err != nil {
				b.Fatal(err)
			}
			var docs []bson.Raw
			if err := cur.All(ctx, &docs); err != nil || len(docs) != len(pts)/benchBatch {
				b.Fatal(len(docs), err)
			}
		}
		b.ReportMetric(float64(len(pts)*b.N)/b.Elapsed().Seconds(), "points/s")
	})
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
