package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
)

// notObject lists the BSON types (by the aliases MongoDB and FerretDB both
// know) that a parent on a path must not have: every type but object.
var notObject = bson.A{"double", "string", "array", "binData", "objectId", "bool", "date", "null", "regex", "int", "timestamp", "long"}

// mergeAttempts bounds the retries of a Merge whose guard failed although
// the document it then read accepts the ops (it changed in between).
const mergeAttempts = 20

// Merge applies ops in one update command: $set (creating parents),
// $push with $each (Append) and $unset, filtered by _id and by guards that
// every parent on a path is missing or an object. A path through a scalar
// or an array, or an Append to a non-array, is ErrInvalid and changes
// nothing; a result over MaxDocBytes is ErrTooLarge and changes nothing.
//
// On MongoDB the update is the only round trip when it succeeds: the
// server applies it atomically and refuses a result over 16 MiB itself.
// On FerretDB, which accepts oversized documents, Merge first reads the
// document to compute the exact size of the result, then updates: two
// round trips, and the size check is not atomic with the update (FerretDB
// v1 loses concurrent updates of one document anyway).
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	for _, op := range ops {
		if op.Path[0] == "_id" {
			return errOwnID
		}
	}
	c := b.db.Collection(coll)
	sid := storedID(id)
	filter := append(bson.D{{Key: "_id", Value: sid}}, b.guards(ops)...)
	var update bson.D
	if !b.ferret {
		update = b.update(ops, nil)
		if n, err := valuesSize(update); err != nil {
			return fmt.Errorf("mongo: %w: %w", backend.ErrInvalid, err)
		} else if n > MaxDocBytes {
			return fmt.Errorf("mongo: values of %d bytes exceed %d: %w", n, MaxDocBytes, backend.ErrTooLarge)
		}
	}
	for range mergeAttempts {
		if b.ferret {
			var err error
			if update, err = b.checkedUpdate(ctx, c, sid, ops); err != nil {
				return err
			}
		}
		if len(update) == 0 {
			return exists(ctx, c, sid)
		}
		res, err := c.UpdateOne(ctx, filter, update)
		if err != nil {
			return fail(ctx, err, codeBadValue, codeFailedToParse, codeTypeMismatch, codePathNotViable, codeConflictingUpdate)
		}
		if res.MatchedCount > 0 {
			return nil
		}
		if b.ferret {
			continue // checkedUpdate reads and classifies again
		}
		// The record is absent or a guard failed: say which.
		doc, err := b.read(ctx, c, sid)
		if err != nil {
			return err
		}
		if err := docops.Apply(doc, ops); err != nil {
			return fmt.Errorf("mongo: %w", err)
		}
		// The document changed between the update and the read: again.
	}
	return fmt.Errorf("mongo: the document kept changing during %d attempts", mergeAttempts)
}

// read returns the document with _id sid.
func (b *Backend) read(ctx context.Context, c *mongo.Collection, sid any) (map[string]any, error) {
	raw, err := c.FindOne(ctx, bson.D{{Key: "_id", Value: sid}}).Raw()
	if err != nil {
		return nil, fail(ctx, err)
	}
	return b.codec.decodeDoc(raw, true)
}

// checkedUpdate reads the document, applies ops to it in memory to
// classify conflicts and measure the result, and returns the update.
func (b *Backend) checkedUpdate(ctx context.Context, c *mongo.Collection, sid any, ops []backend.Op) (bson.D, error) {
	doc, err := b.read(ctx, c, sid)
	if err != nil {
		return nil, err
	}
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
		return nil, fmt.Errorf("mongo: %w", err)
	}
	n, err := docSize(sid, b.codec.encodeDoc(doc))
	if err != nil {
		return nil, fmt.Errorf("mongo: %w: %w", backend.ErrInvalid, err)
	}
	if n > MaxDocBytes {
		return nil, fmt.Errorf("mongo: result of %d bytes would exceed %d: %w", n, MaxDocBytes, backend.ErrTooLarge)
	}
	return b.update(ops, missing), nil
}

// exists returns nil if the record exists, else ErrNotFound.
func exists(ctx context.Context, c *mongo.Collection, sid any) error {
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: sid}}).Err(); err != nil {
		return fail(ctx, err)
	}
	return nil
}

// update translates ops to update operators. emptyNew marks the empty
// Appends (by index) that must create their array with $set; other empty
// Appends on FerretDB are left out (the array exists).
func (b *Backend) update(ops []backend.Op, emptyNew map[int]bool) bson.D {
	var set, push, unset bson.D
	for i, op := range ops {
		path := b.codec.path(op.Path)
		switch op.Kind {
		case backend.Set:
			set = append(set, bson.E{Key: path, Value: b.codec.encode(op.Value, false)})
		case backend.Append:
			elems := op.Value.([]any)
			if b.ferret && len(elems) == 0 {
				if emptyNew[i] {
					set = append(set, bson.E{Key: path, Value: bson.A{}})
				}
				continue
			}
			a := make(bson.A, len(elems))
			for j, e := range elems {
				a[j] = b.codec.encode(e, true)
			}
			push = append(push, bson.E{Key: path, Value: bson.D{{Key: "$each", Value: a}}})
		case backend.Unset:
			unset = append(unset, bson.E{Key: path, Value: ""})
		}
	}
	var u bson.D
	if len(set) > 0 {
		u = append(u, bson.E{Key: "$set", Value: set})
	}
	if len(push) > 0 {
		u = append(u, bson.E{Key: "$push", Value: push})
	}
	if len(unset) > 0 {
		u = append(u, bson.E{Key: "$unset", Value: unset})
	}
	return u
}

// guards returns the filter conditions that every parent on the ops' paths
// is missing or an object. Without them MongoDB would index into arrays
// with numeric keys ("a.0") and silently ignore $unset through a scalar.
func (b *Backend) guards(ops []backend.Op) bson.D {
	var g bson.D
	seen := map[string]bool{}
	for _, op := range ops {
		for i := 1; i < len(op.Path); i++ {
			p := b.codec.path(op.Path[:i])
			if seen[p] {
				continue
			}
			seen[p] = true
			g = append(g, bson.E{Key: p, Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: notObject}}}}})
		}
	}
	return g
}

// docSize is the BSON size of the document with its _id.
func docSize(sid any, d bson.D) (int, error) {
	raw, err := bson.Marshal(append(bson.D{{Key: "_id", Value: sid}}, d...))
	return len(raw), err
}

// valuesSize is the BSON size of an update: a lower bound of what it adds
// to a document when its values are large.
func valuesSize(update bson.D) (int, error) {
	raw, err := bson.Marshal(update)
	return len(raw), err
}
