package mongo

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

var _ backend.SeriesRanger = (*Backend)(nil)

const (
	// fetchPoints is about the most points of the buckets that one find
	// of DownsampleSeries reads whole.
	fetchPoints = 1 << 16
	// fetchIDs is the most _ids of one such find.
	fetchIDs = 1000
)

// ReadSeriesRange implements backend.SeriesRanger: it reads, in append
// order, only the buckets whose steps lo..hi overlap r (and the buckets
// stored without lo and hi, before they existed), and yields their points
// whose step lies in r, as ReadSeries does.
func (b *Backend) ReadSeriesRange(ctx context.Context, coll, id, name string, r backend.StepRange) iter.Seq2[[]backend.Point, error] {
	filter := append(seriesFilter(id, name), bson.E{Key: "$or", Value: bson.A{
		bson.D{{Key: "lo", Value: bson.D{{Key: "$exists", Value: false}}}},
		overlap(r.From, r.To),
	}})
	return b.readBuckets(ctx, coll, filter, &r)
}

// overlap is the condition of the buckets whose lo..hi overlaps from..to.
func overlap(from, to int64) bson.D {
	return bson.D{{Key: "lo", Value: bson.D{{Key: "$lte", Value: to}}}, {Key: "hi", Value: bson.D{{Key: "$gte", Value: from}}}}
}

// DownsampleSeries implements backend.SeriesRanger with finds only (what
// FerretDB supports), none of which reads the points of a bucket unless
// they are needed:
//
//  1. one find reads lo and hi of every bucket of the series, which give
//     its extent (the buckets stored without them give theirs from their
//     steps, read by _id); when the whole series is asked for, the same
//     find reads the block summaries and keeps them, up to keepSums bytes;
//     otherwise (or beyond) a second find reads those of the buckets that
//     overlap the plan;
//  2. a block that falls into one bucket of the plan is folded whole;
//  3. the buckets that hold other blocks (those that straddle a bucket
//     boundary or an end of the range), and the buckets without
//     summaries, are read by _id, a page of them per find, and the points
//     of those blocks folded.
func (b *Backend) DownsampleSeries(ctx context.Context, coll, id, name string, q backend.Downsample) ([]backend.Bucket, error) {
	c := b.db.Collection(seriesCollection(coll))
	// A read of the whole series needs the summaries of every bucket:
	// read them with lo and hi, in one find. A narrower range reads only
	// lo and hi first.
	whole := q.From == math.MinInt64 && q.To == math.MaxInt64
	ext, err := scanSeries(ctx, c, id, name, q.StepRange, whole)
	if err != nil || !ext.found {
		return nil, err
	}
	plan, ok := rollup.NewPlan(q, ext.lo, ext.hi)
	if !ok {
		return nil, nil
	}
	f := rollup.NewFolder(plan)
	var todo []pending
	if ext.kept != nil {
		for _, k := range ext.kept {
			if err := foldSums(f, k.id, k.sums, &todo); err != nil {
				return nil, err
			}
		}
	} else {
		filter := append(seriesFilter(id, name), overlap(plan.From, plan.To)...)
		err := each(ctx, c, filter, bson.D{{Key: "sums", Value: 1}}, false, func(doc bson.Raw) error {
			_, data, ok := doc.Lookup("sums").BinaryOK()
			if !ok {
				return fmt.Errorf("mongo: bucket %s has lo and hi but no binary sums: %w", doc.Lookup("_id"), backend.ErrInvalid)
			}
			return foldSums(f, doc.Lookup("_id"), data, &todo)
		})
		if err != nil {
			return nil, err
		}
	}
	todo = append(todo, ext.old...)
	for len(todo) > 0 {
		n, points := 0, 0
		for n < len(todo) && n < fetchIDs && points < fetchPoints {
			points += todo[n].points
			n++
		}
		if err := foldBuckets(ctx, c, todo[:n], f); err != nil {
			return nil, err
		}
		todo = todo[n:]
	}
	return f.Buckets(), nil
}

// keepSums is the most bytes of block summaries (about 1.4 per point)
// that DownsampleSeries keeps from its first find (a variable for tests).
var keepSums = 8 << 20

// pending is a bucket whose points DownsampleSeries reads: those of the
// blocks from[i]..to[i]-1, or all of them (whole).
type pending struct {
	id       bson.RawValue
	whole    bool
	from, to []int
	points   int // about how many points the bucket holds
}

// kept is the _id and the block summaries of a bucket.
type kept struct {
	id   bson.RawValue
	sums []byte
}

// extent is what scanSeries found.
type extent struct {
	lo, hi int64     // the smallest and greatest step of the series
	found  bool      // the series has buckets
	old    []pending // its buckets without lo, hi and sums, to be read whole
	// kept are the summaries of the buckets that overlap the range asked
	// for; nil when they were more than keepSums bytes (or none).
	kept []kept
}

// scanSeries reads lo and hi (and sums, withSums) of every bucket of the
// series, and the steps of those without.
func scanSeries(ctx context.Context, c *mongo.Collection, id, name string, r backend.StepRange, withSums bool) (ext extent, err error) {
	widen := func(l, h int64) {
		if !ext.found {
			ext.lo, ext.hi, ext.found = l, h, true
		}
		ext.lo, ext.hi = min(ext.lo, l), max(ext.hi, h)
	}
	keeping, size := withSums, 0
	projection := bson.D{{Key: "lo", Value: 1}, {Key: "hi", Value: 1}}
	if withSums {
		projection = append(projection, bson.E{Key: "sums", Value: 1})
	}
	err = each(ctx, c, seriesFilter(id, name), projection, false, func(doc bson.Raw) error {
		l, okL := doc.Lookup("lo").AsInt64OK()
		h, okH := doc.Lookup("hi").AsInt64OK()
		if !okL || !okH {
			ext.old = append(ext.old, pending{id: cloneRaw(doc.Lookup("_id")), whole: true})
			return nil
		}
		widen(l, h)
		if !keeping || h < r.From || l > r.To {
			return nil
		}
		_, data, ok := doc.Lookup("sums").BinaryOK()
		if !ok {
			return fmt.Errorf("mongo: bucket %s has lo and hi but no binary sums: %w", doc.Lookup("_id"), backend.ErrInvalid)
		}
		if size += len(data); size > keepSums {
			keeping, ext.kept = false, nil
			return nil
		}
		ext.kept = append(ext.kept, kept{id: cloneRaw(doc.Lookup("_id")), sums: bytes.Clone(data)})
		return nil
	})
	if err == nil && keeping && ext.kept == nil {
		ext.kept = []kept{} // none in range, all of them kept
	}
	for start := 0; err == nil && start < len(ext.old); start += fetchIDs {
		page := ext.old[start:min(start+fetchIDs, len(ext.old))]
		ids := make(bson.A, len(page))
		byID := make(map[string]*pending, len(page))
		for i := range page {
			ids[i] = page[i].id
			byID[rawKey(page[i].id)] = &page[i]
		}
		err = each(ctx, c, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, bson.D{{Key: "steps", Value: 1}}, true, func(doc bson.Raw) error {
			steps, ok := doc.Lookup("steps").ArrayOK()
			if !ok {
				return fmt.Errorf("mongo: bucket %s lacks steps: %w", doc.Lookup("_id"), backend.ErrInvalid)
			}
			vals, _ := steps.Values()
			if p := byID[rawKey(doc.Lookup("_id"))]; p != nil {
				p.points = len(vals)
			}
			for _, v := range vals {
				s, ok := v.AsInt64OK()
				if !ok {
					return fmt.Errorf("mongo: bucket %s has a step that is not an integer: %w", doc.Lookup("_id"), backend.ErrInvalid)
				}
				widen(s, s)
			}
			return nil
		})
	}
	return ext, err
}

// foldSums folds into f the blocks of the summaries data of bucket id
// that fall into one bucket of f each, and appends the bucket to todo
// when some do not.
func foldSums(f *rollup.Folder, id bson.RawValue, data []byte, todo *[]pending) error {
	blocks, size, err := rollup.Decode(data)
	if err != nil {
		return fmt.Errorf("mongo: bucket %s: %w: %w", id, backend.ErrInvalid, err)
	}
	var p *pending
	for i, s := range blocks {
		if f.Block(s) {
			continue
		}
		if p == nil {
			*todo = append(*todo, pending{id: cloneRaw(id)})
			p = &(*todo)[len(*todo)-1]
			for _, s := range blocks {
				p.points += int(s.Count)
			}
		}
		if n := len(p.to); n > 0 && p.to[n-1] == i*size {
			p.to[n-1] = (i + 1) * size
			continue
		}
		p.from, p.to = append(p.from, i*size), append(p.to, (i+1)*size)
	}
	return nil
}

// cloneRaw copies v out of the buffer of a cursor.
func cloneRaw(v bson.RawValue) bson.RawValue {
	v.Value = bytes.Clone(v.Value)
	return v
}

// foldBuckets reads the buckets of todo with one find and folds their
// pending points into f.
func foldBuckets(ctx context.Context, c *mongo.Collection, todo []pending, f *rollup.Folder) error {
	ids := make(bson.A, len(todo))
	byID := make(map[string]*pending, len(todo))
	for i := range todo {
		ids[i] = todo[i].id
		byID[rawKey(todo[i].id)] = &todo[i]
	}
	projection := bson.D{{Key: "steps", Value: 1}, {Key: "values", Value: 1}, {Key: "times", Value: 1}}
	return each(ctx, c, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, projection, true, func(doc bson.Raw) error {
		p := byID[rawKey(doc.Lookup("_id"))]
		if p == nil {
			return nil
		}
		pts, err := decodeBucket(doc)
		if err != nil {
			return err
		}
		if p.whole {
			f.Points(pts)
			return nil
		}
		for i := range p.from {
			f.Points(pts[min(p.from[i], len(pts)):min(p.to[i], len(pts))])
		}
		return nil
	})
}

// rawKey is a map key for a BSON value.
func rawKey(v bson.RawValue) string { return string(rune(v.Type)) + string(v.Value) }

// each calls fn with every document that filter selects in c, projected.
// points says that the projection holds the points of the buckets (steps,
// values, times): then a cursor batch holds bucketBatch of them.
func each(ctx context.Context, c *mongo.Collection, filter, projection bson.D, points bool, fn func(bson.Raw) error) error {
	opts := options.Find().SetProjection(projection)
	if points {
		opts.SetBatchSize(bucketBatch)
	}
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return fail(ctx, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		if err := fn(cur.Current); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fail(ctx, err)
	}
	return nil
}
