package mongo

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
)

// seriesPrefix starts the name of the companion collection that holds the
// series of a record collection. Record collection names start with a
// letter or digit, so no record collection is ever taken for one.
const seriesPrefix = "_series."

// bucketPoints caps the points of one bucket document (about 40 bytes
// each, far under 16 MiB).
const bucketPoints = 50_000

func seriesCollection(coll string) string { return seriesPrefix + coll }

// AppendSeries stores pts as one bucket document (several if there are more
// than 50,000) in the collection "_series.<coll>":
//
//	{_id: ObjectId, record: <the record's _id>, name: "loss", seq: <int64>,
//	 steps: [int64...], values: [double...], times: [date...],
//	 lo: <int64>, hi: <int64>, sums: BinData}
//
// lo and hi are the smallest and greatest step of the bucket and sums the
// summaries of its blocks of points (package rollup), with which
// ReadSeriesRange and DownsampleSeries skip points; buckets written
// before they existed have none and are read whole.
//
// seq orders the buckets of a metric: the wall clock in nanoseconds, made
// strictly increasing within the process. (ApplyBatch's buckets have a
// deterministic string _id instead of an ObjectId, and the same seq.)
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if len(pts) == 0 {
		return nil
	}
	c, err := b.series(ctx, coll)
	if err != nil {
		return err
	}
	sid := storedID(id)
	var docs []any
	for len(pts) > 0 {
		n := min(len(pts), bucketPoints)
		doc, err := b.codec.bucket(bson.NewObjectID(), sid, name, b.nextSeq(), pts[:n])
		if err != nil {
			return err
		}
		docs = append(docs, doc)
		pts = pts[n:]
	}
	if len(docs) == 1 {
		_, err = c.InsertOne(ctx, docs[0])
	} else {
		_, err = c.InsertMany(ctx, docs)
	}
	if err != nil {
		return fail(ctx, err)
	}
	return nil
}

// nextSeq returns the wall clock in nanoseconds, strictly increasing
// within the process.
func (b *Backend) nextSeq() int64 {
	b.seqMu.Lock()
	defer b.seqMu.Unlock()
	s := time.Now().UnixNano()
	if s <= b.lastSeq {
		s = b.lastSeq + 1
	}
	b.lastSeq = s
	return s
}

// series returns the series collection of coll, creating its index
// (record, name, seq) on first use by this Backend.
func (b *Backend) series(ctx context.Context, coll string) (*mongo.Collection, error) {
	name := seriesCollection(coll)
	c := b.db.Collection(name)
	if _, ok := b.indexed.Load(name); ok {
		return c, nil
	}
	_, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "record", Value: 1}, {Key: "name", Value: 1}, {Key: "seq", Value: 1}},
	})
	if err != nil {
		return nil, fail(ctx, err)
	}
	b.indexed.Store(name, struct{}{})
	return c, nil
}

// readBatch caps the points of one batch that ReadSeries yields; a bucket
// of more points is yielded in several.
const readBatch = 4096

// bucketBatch is the cursor batch size of every find that reads the
// points of buckets. Without it the first reply holds 101 documents and
// each next one up to 16 MiB of them; with buckets of thousands of points
// FerretDB answered a 3M-point series with a reply over the driver's
// message limit ("length of read message too large"). 16 buckets of at
// most a few hundred KB keep every reply small and memory O(batch).
const bucketBatch = 16

// ReadSeries yields the points of a metric in append order, one batch per
// bucket document (several for a bucket over readBatch points), read from
// the cursor as the caller asks for them.
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return b.readBuckets(ctx, coll, seriesFilter(id, name), nil)
}

// seriesFilter selects the buckets of one metric of one record.
func seriesFilter(id, name string) bson.D {
	return bson.D{{Key: "record", Value: storedID(id)}, {Key: "name", Value: name}}
}

// readBuckets yields the points of the buckets that filter selects, in
// append order, one batch per bucket (several for a bucket over readBatch
// points), keeping those whose step lies in r (all when r is nil).
func (b *Backend) readBuckets(ctx context.Context, coll string, filter bson.D, r *backend.StepRange) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		cur, err := b.db.Collection(seriesCollection(coll)).Find(ctx, filter,
			options.Find().
				SetBatchSize(bucketBatch).
				SetSort(bson.D{{Key: "seq", Value: 1}, {Key: "_id", Value: 1}}).
				SetProjection(bson.D{{Key: "steps", Value: 1}, {Key: "values", Value: 1}, {Key: "times", Value: 1}}))
		if err != nil {
			yield(nil, fail(ctx, err))
			return
		}
		defer cur.Close(context.WithoutCancel(ctx))
		for cur.Next(ctx) {
			pts, err := decodeBucket(cur.Current)
			if err != nil {
				yield(nil, err)
				return
			}
			if r != nil {
				pts = slices.DeleteFunc(pts, func(p backend.Point) bool { return p.Step < r.From || p.Step > r.To })
			}
			for len(pts) > 0 {
				n := min(len(pts), readBatch)
				if !yield(pts[:n:n], nil) {
					return
				}
				pts = pts[n:]
			}
		}
		if err := cur.Err(); err != nil {
			yield(nil, fail(ctx, err))
		}
	}
}

// decodeBucket returns the points of a bucket document.
func decodeBucket(bucket bson.Raw) ([]backend.Point, error) {
	steps, err1 := bucket.LookupErr("steps")
	values, err2 := bucket.LookupErr("values")
	times, err3 := bucket.LookupErr("times")
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("mongo: bucket %s lacks steps, values or times: %w", bucket.Lookup("_id"), backend.ErrInvalid)
	}
	sv, _ := steps.Array().Values()
	vv, _ := values.Array().Values()
	tv, _ := times.Array().Values()
	if len(sv) != len(vv) || len(sv) != len(tv) {
		return nil, fmt.Errorf("mongo: bucket %s has arrays of unequal length: %w", bucket.Lookup("_id"), backend.ErrInvalid)
	}
	pts := make([]backend.Point, len(sv))
	for i := range sv {
		step, okS := sv[i].AsInt64OK()
		v, err := codec{}.decodeValue(vv[i])
		f, okV := v.(float64)
		if n, isInt := v.(int64); isInt {
			f, okV = float64(n), true
		}
		ms, okT := tv[i].DateTimeOK()
		if !okS || err != nil || !okV || !okT {
			return nil, fmt.Errorf("mongo: bucket %s, point %d is malformed: %w", bucket.Lookup("_id"), i, backend.ErrInvalid)
		}
		pts[i] = backend.Point{Step: step, Value: f, Time: time.UnixMilli(ms).UTC()}
	}
	return pts, nil
}
