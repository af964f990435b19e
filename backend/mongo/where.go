package mongo

import (
	"math"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/recordlab/go-record/backend"
)

// where translates the conditions that the server can evaluate exactly as
// backend.Match does into filter documents; exact reports whether every
// condition was translated. The others are left to package record.
func (b *Backend) where(conds []backend.Cond) (filter []any, exact bool) {
	exact = true
	for _, c := range conds {
		f, ok := b.cond(c)
		if !ok {
			exact = false
			continue
		}
		filter = append(filter, f...)
	}
	return filter, exact
}

// ops maps the comparisons that have a MongoDB operator. Ne has none:
// MongoDB's $ne excludes arrays that hold the value, backend.Match does not.
var ops = map[backend.Cmp]string{backend.Eq: "$eq", backend.Lt: "$lt", backend.Le: "$lte", backend.Gt: "$gt", backend.Ge: "$gte"}

// cond translates one condition into filter documents that match exactly
// the documents backend.Match accepts. Guards that no value on the path is
// an array keep MongoDB from matching inside arrays; MongoDB then compares
// only values of the condition's type (numbers with numbers), as Match
// does, and never matches NaN except by equality with NaN.
func (b *Backend) cond(c backend.Cond) ([]any, bool) {
	op, ok := ops[c.Cmp]
	if !ok || c.Path[0] == "_id" {
		return nil, false
	}
	path := b.codec.path(c.Path)
	test := func(op string, v any) bson.D { return bson.D{{Key: path, Value: bson.D{{Key: op, Value: v}}}} }
	var f bson.D
	switch v := c.Value.(type) {
	case string:
		f = test(op, v)
	case bool:
		if c.Cmp != backend.Eq {
			return nil, false
		}
		f = test(op, v)
	case nil:
		if c.Cmp != backend.Eq {
			return nil, false
		}
		f = test("$type", "null") // {path: null} would match missing paths too
	case time.Time:
		// Stored times have milliseconds; a condition finer than that
		// compares with the millisecond below it.
		t := v.Truncate(time.Millisecond)
		if !t.Equal(v) {
			switch c.Cmp {
			case backend.Eq:
				return nil, false
			case backend.Lt:
				op = "$lte"
			case backend.Ge:
				op = "$gt"
			}
		}
		f = test(op, bson.NewDateTimeFromTime(t))
	case int64:
		// Match compares a double with float64(v): exact up to 2^53.
		if v < -1<<53 || v > 1<<53 {
			return nil, false
		}
		f = b.number(path, c.Cmp, op, float64(v), v)
	case float64:
		// Match compares an int64 with v as float64(int64): exact unless
		// v is near an int64 beyond 2^53.
		a := math.Abs(v)
		if math.IsNaN(v) || (a >= 1<<53 && a <= 1<<64) || (b.ferret && math.IsInf(v, 0)) {
			return nil, false
		}
		f = b.number(path, c.Cmp, op, v, v)
	default:
		return nil, false
	}
	return append(b.arrayGuards(c.Path), f), true
}

// number returns the filter of a comparison with the number v (f is its
// value as a float64). On FerretDB it adds the tagged floats that satisfy
// it: -Inf below every number, +Inf above, -0 equal to 0.
func (b *Backend) number(path string, cmp backend.Cmp, op string, f float64, v any) bson.D {
	test := bson.D{{Key: path, Value: bson.D{{Key: op, Value: v}}}}
	if !b.ferret {
		return test
	}
	or := bson.A{test}
	tag := func(x float64) { or = append(or, bson.D{{Key: path, Value: floatTag(x)}}) }
	switch cmp {
	case backend.Lt, backend.Le:
		tag(math.Inf(-1))
	case backend.Gt, backend.Ge:
		tag(math.Inf(1))
	}
	if (cmp == backend.Eq && f == 0) || (cmp == backend.Lt && 0 < f) || (cmp == backend.Le && 0 <= f) ||
		(cmp == backend.Gt && 0 > f) || (cmp == backend.Ge && 0 >= f) {
		tag(math.Copysign(0, -1))
	}
	return bson.D{{Key: "$or", Value: or}}
}

// arrayGuards returns the filters that no value along path (path included)
// is an array: with them MongoDB reads path as backend.Lookup does.
func (b *Backend) arrayGuards(path []string) []any {
	g := make([]any, len(path))
	for i := range path {
		g[i] = bson.D{{Key: b.codec.path(path[:i+1]), Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}}}
	}
	return g
}

// projection returns the projection of the paths in fields and the paths
// it holds, or nil (whole documents) for nil fields or an empty path.
// MongoDB refuses a path beside one of its
// prefixes; the prefix is kept.
func (b *Backend) projection(fields [][]string) (bson.D, [][]string) {
	if fields == nil {
		return nil, nil
	}
	paths := slices.Clone(fields)
	slices.SortFunc(paths, slices.Compare)
	proj := bson.D{{Key: "_id", Value: 1}}
	var kept [][]string
	for _, p := range paths {
		switch {
		case len(p) == 0:
			return nil, nil // the whole document
		case p[0] == "_id":
			continue
		case len(kept) > 0:
			if last := kept[len(kept)-1]; len(last) <= len(p) && slices.Equal(last, p[:len(last)]) {
				continue
			}
		}
		kept = append(kept, p)
		proj = append(proj, bson.E{Key: b.codec.path(p), Value: 1})
	}
	return proj, kept
}

// exclusion returns the projection that leaves out the paths of omit
// (Query.Omit) at the top level, or nil when there are none it can name.
// Deeper paths are left to package record: MongoDB would also exclude
// them inside the elements of an array on the way, which Lookup does not
// reach.
func (b *Backend) exclusion(omit [][]string) bson.D {
	var proj bson.D
	for _, p := range omit {
		if len(p) == 1 && p[0] != "_id" && !slices.ContainsFunc(proj, func(e bson.E) bool { return e.Key == b.codec.key(p[0]) }) {
			proj = append(proj, bson.E{Key: b.codec.key(p[0]), Value: 0})
		}
	}
	return proj
}

// prune removes from a projected document what the projection of paths
// left behind that the stored document does not hold at those paths: a
// value on the way to a path that is not an object (MongoDB projects a
// path inside each element of an array on the way), and objects left
// empty (the parents of a path that is absent).
func prune(doc map[string]any, paths [][]string) {
	for _, p := range paths {
		pruneAt(doc, p)
	}
}

func pruneAt(m map[string]any, path []string) {
	if len(path) < 2 {
		return
	}
	v, ok := m[path[0]]
	if !ok {
		return
	}
	next, ok := v.(map[string]any)
	if ok {
		pruneAt(next, path[1:])
	}
	if !ok || len(next) == 0 {
		delete(m, path[0])
	}
}
