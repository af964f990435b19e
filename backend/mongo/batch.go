package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
)

// ApplyBatch implements backend.BatchStore without transactions (FerretDB
// has none, and MongoDB's need a replica set):
//
//  1. it reads the record document and calls b.Update on it; !apply
//     returns nil at once, an error from Update is returned as is;
//  2. it applies the ops to the document in memory, so that a conflict is
//     ErrInvalid and a result over MaxDocBytes ErrTooLarge before anything
//     is written;
//  3. it inserts b.Points as bucket documents whose _id is built from
//     (record id, metric, Writer, Seq, part): a retry of a batch whose
//     points are stored hits a duplicate key, which counts as stored, and
//     the bucket keeps the position in the series it got the first time;
//  4. it applies the ops with one updateOne filtered by the _id, the path
//     guards of Merge and the value read at b.Guard (compare and swap).
//     When nothing matched, the document changed since step 1: it starts
//     again from step 1 (Update may now say the batch was applied) until
//     the swap succeeds or ctx ends.
//
// A crash between steps 3 and 4 leaves stored points without their
// document change; the retry (or Resume) completes it. On FerretDB v1,
// whose updates of one document are not atomic with their filter,
// ApplyBatch calls on one record are serialised within this Backend; calls
// from several processes on one record of a FerretDB server may still
// lose document changes (never points).
func (b *Backend) ApplyBatch(ctx context.Context, coll, id string, bt backend.Batch) error {
	if b.ferret {
		unlock, err := b.locks.lock(ctx, coll+"\x00"+id)
		if err != nil {
			return err
		}
		defer unlock()
	}
	c := b.db.Collection(coll)
	sid := storedID(id)
	stored := false // the points are stored
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		doc, err := b.read(ctx, c, sid)
		if b.busy(err) {
			continue
		}
		if err != nil {
			if stored && isNotFound(err) {
				b.dropBatchPoints(ctx, coll, id, bt)
			}
			return err
		}
		ops, apply, err := bt.Update(doc)
		if err != nil || !apply {
			return err
		}
		update, filter, err := b.batchUpdate(sid, doc, bt.Guard, ops)
		if err != nil {
			return err
		}
		if !stored && len(bt.Points) > 0 {
			if err := b.insertBatchPoints(ctx, coll, id, bt); err != nil {
				if b.busy(err) {
					continue
				}
				return err
			}
			stored = true
		}
		if len(update) == 0 {
			return nil
		}
		res, err := c.UpdateOne(ctx, filter, update)
		if b.busy(err) {
			continue
		}
		if err != nil {
			return fail(ctx, err, codeBadValue, codeFailedToParse, codeTypeMismatch, codePathNotViable, codeConflictingUpdate)
		}
		if res.MatchedCount > 0 {
			return nil
		}
		// The guard's value changed (another writer applied a batch), a
		// parent became a non-object, or the record is gone: read again.
	}
}

// batchUpdate checks ops against doc (the stored document, which it
// changes) and returns the update and its compare-and-swap filter.
func (b *Backend) batchUpdate(sid any, doc map[string]any, guard []string, ops []backend.Op) (update, filter bson.D, err error) {
	for _, op := range ops {
		if len(op.Path) == 0 || op.Path[0] == "_id" {
			return nil, nil, errOwnID
		}
	}
	filter = bson.D{{Key: "_id", Value: sid}}
	if len(guard) > 0 {
		cond := bson.D{{Key: "$exists", Value: false}}
		if v, ok := backend.Lookup(doc, guard); ok && v == nil {
			cond = bson.D{{Key: "$type", Value: "null"}}
		} else if ok {
			cond = bson.D{{Key: "$eq", Value: b.codec.encode(v, false)}}
		}
		filter = append(filter, bson.E{Key: b.codec.path(guard), Value: cond})
	}
	filter = append(filter, b.guards(ops)...)
	// Appends of no elements create an empty array where none is (FerretDB
	// ignores $push of an empty $each on a missing field).
	missing := map[int]bool{}
	for i, op := range ops {
		if op.Kind == backend.Append && len(op.Value.([]any)) == 0 {
			if _, ok := backend.Lookup(doc, op.Path); !ok {
				missing[i] = true
			}
		}
	}
	if err := docops.Apply(doc, ops); err != nil {
		return nil, nil, fmt.Errorf("mongo: %w", err)
	}
	n, err := docSize(sid, b.codec.encodeDoc(doc))
	if err != nil {
		return nil, nil, fmt.Errorf("mongo: %w: %w", backend.ErrInvalid, err)
	}
	if n > MaxDocBytes {
		return nil, nil, fmt.Errorf("mongo: result of %d bytes would exceed %d: %w", n, MaxDocBytes, backend.ErrTooLarge)
	}
	return b.update(ops, missing), filter, nil
}

// insertBatchPoints stores the points of bt as bucket documents with
// deterministic _ids, one after the other so that the parts of a batch
// keep their order even when a retry inserts only the missing ones. A
// duplicate key means the part is stored already.
func (b *Backend) insertBatchPoints(ctx context.Context, coll, id string, bt backend.Batch) error {
	c, err := b.series(ctx, coll)
	if err != nil {
		return err
	}
	sid := storedID(id)
	pts := bt.Points
	for part := 0; len(pts) > 0; part++ {
		n := min(len(pts), bucketPoints)
		doc, err := b.codec.bucket(batchBucketID(id, bt, part), sid, bt.Metric, b.nextSeq(), pts[:n])
		if err != nil {
			return err
		}
		if _, err := c.InsertOne(ctx, doc); err != nil && !mongo.IsDuplicateKeyError(err) {
			return fail(ctx, err)
		}
		pts = pts[n:]
	}
	return nil
}

// dropBatchPoints removes the buckets of bt, best effort: the record was
// deleted while the batch was applied.
func (b *Backend) dropBatchPoints(ctx context.Context, coll, id string, bt backend.Batch) {
	var ids bson.A
	for part := 0; part*bucketPoints < len(bt.Points); part++ {
		ids = append(ids, batchBucketID(id, bt, part))
	}
	_, _ = b.db.Collection(seriesCollection(coll)).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
}

// batchBucketID is the _id of part of the points of bt: a string that
// names the record id, the metric, the writer, the batch sequence and the
// part, each quoted (ASCII only, so any byte of them is safe on the wire
// and the parts cannot run into each other).
func batchBucketID(id string, bt backend.Batch, part int) string {
	var sb strings.Builder
	sb.WriteString("batch:")
	sb.WriteString(strconv.QuoteToASCII(id))
	sb.WriteByte(':')
	sb.WriteString(strconv.QuoteToASCII(bt.Metric))
	sb.WriteByte(':')
	sb.WriteString(strconv.QuoteToASCII(bt.Writer))
	sb.WriteByte(':')
	sb.WriteString(strconv.FormatInt(bt.Seq, 10))
	sb.WriteByte(':')
	sb.WriteString(strconv.Itoa(part))
	return sb.String()
}

func isNotFound(err error) bool {
	return errors.Is(err, backend.ErrNotFound)
}

// backoff waits before attempt (1, 2, ...) of a compare and swap that
// lost to another writer: not at all the first time, then a few random
// milliseconds growing to at most 50, so that writers that collide spread
// out.
// busy reports whether err is FerretDB's SQLite back end refusing a
// statement because another connection holds its write lock ("database
// is locked", SQLITE_BUSY): the statement did nothing, and ApplyBatch,
// whose every step may run again (points under deterministic ids, the
// document by compare-and-swap), tries again until its context ends,
// as the SQLite adapter does, instead of handing a passing contention
// of many writers to the caller.
func (b *Backend) busy(err error) bool {
	if err == nil || !b.ferret {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

func backoff(ctx context.Context, attempt int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if attempt < 2 {
		return nil
	}
	d := time.Duration(rand.Int64N(int64(min(attempt, 50)))+1) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SeriesNames implements backend.BatchStore: the distinct names of the
// record's buckets, by an aggregation ($match, $group), since the
// distinct command fails on FerretDB v1 when the call has a deadline.
func (b *Backend) SeriesNames(ctx context.Context, coll, id string) ([]string, error) {
	cur, err := b.db.Collection(seriesCollection(coll)).Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "record", Value: storedID(id)}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$name"}}}},
	})
	if err != nil {
		return nil, fail(ctx, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	var names []string
	for cur.Next(ctx) {
		if name, ok := cur.Current.Lookup("_id").StringValueOK(); ok {
			names = append(names, name)
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fail(ctx, err)
	}
	slices.Sort(names)
	return names, nil
}

// recordLocks serialises the ApplyBatch calls of one record within a
// Backend (on FerretDB, see ApplyBatch). A lock waits no longer than its
// context.
type recordLocks struct {
	mu sync.Mutex
	m  map[string]*recordLock
}

type recordLock struct {
	ch    chan struct{} // holds a token while the lock is held
	users int           // holders and waiters
}

// lock takes the lock of key and returns its release.
func (l *recordLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*recordLock{}
	}
	e := l.m[key]
	if e == nil {
		e = &recordLock{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.users++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		if e.users--; e.users == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
