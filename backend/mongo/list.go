package mongo

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
)

// collectionName matches the names of record collections; series
// collections (seriesPrefix) and MongoDB's own never do.
var collectionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$`)

// Collections returns the record collections that hold at least one record.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	if err := b.ready("collections"); err != nil {
		return nil, err
	}
	names, err := b.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, b.fail(ctx, "collections", nil, err)
	}
	var out []string
	for _, n := range names {
		if !collectionName.MatchString(n) {
			continue
		}
		err := b.db.Collection(n).FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if err == mongo.ErrNoDocuments {
			continue
		}
		if err != nil {
			return nil, b.fail(ctx, "collections", nil, err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// List returns the records of coll that match q, sorted by id. Conditions
// that MongoDB evaluates as backend.Match does (or on a superset of what it
// matches) go to the server; every document is then checked with
// backend.Match, so the answer is exactly Match's.
func (b *Backend) listSlice(ctx context.Context, coll string, q backend.Query) ([]backend.Item, error) {
	if err := b.ready("list"); err != nil {
		return nil, err
	}
	c := b.db.Collection(coll)
	filter := pushdown(q.Where)
	// _id values of two types sort apart in MongoDB (strings before
	// ObjectIds); merge the two sorted streams by their string form.
	dir, after := 1, "$gt"
	if q.Desc {
		dir, after = -1, "$lt"
	}
	strID := bson.D{{Key: "$type", Value: "string"}}
	oidID := bson.D{{Key: "$type", Value: "objectId"}}
	exact := true // the server applies q.After exactly to both streams
	if q.After != "" {
		strID = append(strID, bson.E{Key: after, Value: q.After})
		if oid, ok := storedID(q.After).(bson.ObjectID); ok {
			oidID = append(oidID, bson.E{Key: after, Value: oid})
		} else {
			exact = false // compared by string form below
		}
	}
	byID := options.Find().SetSort(bson.D{{Key: "_id", Value: dir}})
	if q.Limit > 0 && len(q.Where) == 0 && exact {
		byID.SetLimit(int64(q.Limit))
	}
	strs, err := c.Find(ctx, append(bson.D{{Key: "_id", Value: strID}}, filter...), byID)
	if err != nil {
		return nil, b.fail(ctx, "list "+coll, nil, err)
	}
	defer strs.Close(context.WithoutCancel(ctx))
	oids, err := c.Find(ctx, append(bson.D{{Key: "_id", Value: oidID}}, filter...), byID)
	if err != nil {
		return nil, b.fail(ctx, "list "+coll, nil, err)
	}
	defer oids.Close(context.WithoutCancel(ctx))

	next := func(cur *mongo.Cursor) (*backend.Item, error) {
		for cur.Next(ctx) {
			doc, err := decodeDoc(cur.Current, true)
			if err != nil {
				return nil, fmt.Errorf("mongo: list %s: decode: %w", coll, err)
			}
			id := idString(cur.Current.Lookup("_id"))
			if q.Follows(id) && backend.Match(doc, q.Where) {
				return &backend.Item{ID: id, Doc: doc}, nil
			}
		}
		if err := cur.Err(); err != nil {
			return nil, b.fail(ctx, "list "+coll, nil, err)
		}
		return nil, nil
	}
	items := []backend.Item{}
	a, err := next(strs)
	if err != nil {
		return nil, err
	}
	o, err := next(oids)
	if err != nil {
		return nil, err
	}
	for (a != nil || o != nil) && (q.Limit <= 0 || len(items) < q.Limit) {
		if o == nil || (a != nil && (a.ID < o.ID) != q.Desc) {
			items = append(items, *a)
			if a, err = next(strs); err != nil {
				return nil, err
			}
		} else {
			items = append(items, *o)
			if o, err = next(oids); err != nil {
				return nil, err
			}
		}
	}
	return items, nil
}

// pushdown translates the conditions whose MongoDB query matches a
// superset of what backend.Match matches (MongoDB also matches inside
// arrays): equality and order on strings and times, equality on bools and
// null. Numbers stay in Go: MongoDB compares int64 with double exactly,
// backend.Match through float64, and the two disagree beyond 2^53.
func pushdown(where []backend.Cond) bson.D {
	var f bson.D
	ops := map[backend.Cmp]string{backend.Eq: "$eq", backend.Lt: "$lt", backend.Le: "$lte", backend.Gt: "$gt", backend.Ge: "$gte"}
	for _, c := range where {
		op, ok := ops[c.Cmp]
		if !ok || len(c.Path) == 0 || c.Path[0] == "_id" {
			continue
		}
		path := strings.Join(c.Path, ".")
		switch v := c.Value.(type) {
		case string:
			f = append(f, bson.E{Key: path, Value: bson.D{{Key: op, Value: v}}})
		case time.Time:
			f = append(f, bson.E{Key: path, Value: bson.D{{Key: op, Value: bson.NewDateTimeFromTime(v)}}})
		case bool:
			if c.Cmp == backend.Eq {
				f = append(f, bson.E{Key: path, Value: v})
			}
		case nil:
			if c.Cmp == backend.Eq {
				f = append(f, bson.E{Key: path, Value: nil})
			}
		}
	}
	return f
}
