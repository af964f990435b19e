package mongo

import (
	"cmp"
	"context"
	"iter"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
)

var _ backend.SeriesScanner = (*Backend)(nil)

// ScanSeries implements backend.SeriesScanner. Buckets name their record
// by its stored id, an ObjectId or a string (see storedID), and the two
// types sort apart on the server, so it reads the buckets of each type
// with one query sorted by (record, name, seq), the way List reads
// records, and merges the two streams by the ids' string form. A bucket
// is yielded in chunks of readBatch points.
func (b *Backend) ScanSeries(ctx context.Context, coll, from string) iter.Seq2[backend.SeriesChunk, error] {
	return func(yield func(backend.SeriesChunk, error) bool) {
		var streams []iter.Seq2[backend.SeriesChunk, error]
		for _, t := range idTypes {
			cond := bson.D{{Key: "$type", Value: t}}
			if from != "" {
				switch oid, isOID := storedID(from).(bson.ObjectID); {
				case t == "string":
					cond = append(cond, bson.E{Key: "$gte", Value: from})
				case isOID:
					cond = append(cond, bson.E{Key: "$gte", Value: oid})
				default:
					// No ObjectId is from itself: the ones after it.
					after, ok := idAfter(t, from, false)
					if !ok {
						continue
					}
					cond = append(cond, after)
				}
			}
			streams = append(streams, b.scanBuckets(ctx, coll, bson.D{{Key: "record", Value: cond}}))
		}
		mergeChunks(streams...)(yield)
	}
}

// scanBuckets yields the points of the buckets that filter selects, in
// (record, name, seq) order, closing the cursor when the caller stops.
func (b *Backend) scanBuckets(ctx context.Context, coll string, filter bson.D) iter.Seq2[backend.SeriesChunk, error] {
	return func(yield func(backend.SeriesChunk, error) bool) {
		cur, err := b.db.Collection(seriesCollection(coll)).Find(ctx, filter,
			options.Find().
				SetBatchSize(bucketBatch).
				SetSort(bson.D{{Key: "record", Value: 1}, {Key: "name", Value: 1}, {Key: "seq", Value: 1}, {Key: "_id", Value: 1}}).
				SetProjection(bson.D{{Key: "record", Value: 1}, {Key: "name", Value: 1},
					{Key: "steps", Value: 1}, {Key: "values", Value: 1}, {Key: "times", Value: 1}}))
		if err != nil {
			yield(backend.SeriesChunk{}, fail(ctx, err))
			return
		}
		defer cur.Close(context.WithoutCancel(ctx))
		for cur.Next(ctx) {
			pts, err := decodeBucket(cur.Current)
			if err != nil {
				yield(backend.SeriesChunk{}, err)
				return
			}
			id := idString(cur.Current.Lookup("record"))
			name, _ := cur.Current.Lookup("name").StringValueOK()
			for len(pts) > 0 {
				n := min(len(pts), readBatch)
				if !yield(backend.SeriesChunk{ID: id, Name: name, Points: pts[:n:n]}, nil) {
					return
				}
				pts = pts[n:]
			}
		}
		if err := cur.Err(); err != nil {
			yield(backend.SeriesChunk{}, fail(ctx, err))
		}
	}
}

// mergeChunks merges streams of chunks, each in (id, name) order, where
// no series is in two streams. The first error ends the merged stream.
func mergeChunks(streams ...iter.Seq2[backend.SeriesChunk, error]) iter.Seq2[backend.SeriesChunk, error] {
	if len(streams) == 1 {
		return streams[0]
	}
	return func(yield func(backend.SeriesChunk, error) bool) {
		type head struct {
			next func() (backend.SeriesChunk, error, bool)
			c    backend.SeriesChunk
			ok   bool
		}
		heads := make([]*head, len(streams))
		advance := func(h *head) bool {
			c, err, ok := h.next()
			if err != nil {
				yield(backend.SeriesChunk{}, err)
				return false
			}
			h.c, h.ok = c, ok
			return true
		}
		for i, s := range streams {
			next, stop := iter.Pull2(s)
			defer stop()
			heads[i] = &head{next: next}
			if !advance(heads[i]) {
				return
			}
		}
		for {
			var min *head
			for _, h := range heads {
				if h.ok && (min == nil || compareChunks(h.c, min.c) < 0) {
					min = h
				}
			}
			if min == nil {
				return
			}
			if !yield(min.c, nil) || !advance(min) {
				return
			}
		}
	}
}

// compareChunks orders chunks by id, then name, as Go compares strings.
func compareChunks(a, b backend.SeriesChunk) int {
	return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Name, b.Name))
}
