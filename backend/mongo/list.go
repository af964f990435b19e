package mongo

import (
	"context"
	"errors"
	"iter"
	"math"
	"regexp"
	"slices"
	"strings"

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
	names, err := b.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fail(ctx, err)
	}
	var out []string
	for _, n := range names {
		if !collectionName.MatchString(n) {
			continue
		}
		err := b.db.Collection(n).FindOne(ctx, bson.D{}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return nil, fail(ctx, err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// Index creates, if missing, the index {<path>: 1, _id: 1} on coll: the
// order List asks the server for with Query.OrderBy on path (its keys in
// their stored forms on FerretDB).
func (b *Backend) Index(ctx context.Context, coll string, path []string) error {
	_, err := b.db.Collection(coll).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: b.codec.path(path), Value: 1}, {Key: "_id", Value: 1}},
	})
	if err != nil {
		return fail(ctx, err)
	}
	return nil
}

// List yields the records of coll in q's order from server cursors,
// closed when the caller stops. The conditions of q.Where that the server
// evaluates exactly as backend.Match go to the server; q.Fields becomes a
// projection; q.Limit limits each query when every condition went to the
// server. See "List" in the package documentation.
//
// _id values of the two types sort apart on the server (strings before
// ObjectIds), so every query is made twice, once per type, and the two
// streams are merged by the ids' string form. With q.OrderBy, values of
// different types sort apart too, and differently from backend.Less: the
// records are read rank after rank (see byValue).
func (b *Backend) List(ctx context.Context, coll string, q backend.Query) iter.Seq2[backend.Item, error] {
	l := &lister{b: b, c: b.db.Collection(coll), q: q}
	l.proj, l.fields = b.projection(q.Fields)
	if q.Fields == nil {
		l.proj = b.exclusion(q.Omit)
	}
	var exact bool
	l.where, exact = b.where(q.Where)
	if exact && q.Limit > 0 {
		l.limit = int64(q.Limit)
	}
	if q.OrderBy == nil {
		return l.byID(ctx, nil, "")
	}
	return l.byValue(ctx)
}

// lister holds what the queries of one List share.
type lister struct {
	b      *Backend
	c      *mongo.Collection
	q      backend.Query
	where  []any      // conditions pushed down, each a filter document
	proj   bson.D     // nil: whole documents
	fields [][]string // the paths of proj
	limit  int64      // 0: none
}

// idTypes are the BSON types of _id that List reads: ObjectIds for ids of
// 24 lower-case hex digits, strings for the others (see storedID).
var idTypes = []string{"string", "objectId"}

// byID yields the records that satisfy filter and l.where, sorted by the
// value at sortBy (none: "") and then by id, merged from one query per id
// type. Every value at sortBy must be of one rank.
func (l *lister) byID(ctx context.Context, filter []any, sortBy string) iter.Seq2[backend.Item, error] {
	dir := 1
	if l.q.Desc {
		dir = -1
	}
	sort := bson.D{{Key: "_id", Value: dir}}
	q := l.q
	q.OrderBy = nil
	if sortBy != "" {
		sort = append(bson.D{{Key: sortBy, Value: dir}}, sort...)
		q.OrderBy = l.q.OrderBy
	}
	var seqs []iter.Seq2[backend.Item, error]
	for _, t := range idTypes {
		id := bson.D{{Key: "$type", Value: t}}
		if l.q.After != "" {
			after, ok := idAfter(t, l.q.After, l.q.Desc)
			if !ok {
				continue // no id of this type follows
			}
			id = append(id, after)
		}
		seqs = append(seqs, l.find(ctx, and([]any{bson.D{{Key: "_id", Value: id}}}, filter, l.where), l.options().SetSort(sort)))
	}
	return backend.MergeSorted(q, seqs...)
}

// options returns the options of every query: projection and limit.
func (l *lister) options() *options.FindOptionsBuilder {
	opts := options.Find()
	if l.proj != nil {
		opts.SetProjection(l.proj)
	}
	if l.limit > 0 {
		opts.SetLimit(l.limit)
	}
	return opts
}

// find yields the documents of a query as items, closing the cursor when
// the caller stops.
func (l *lister) find(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		cur, err := l.c.Find(ctx, filter, opts)
		if err != nil {
			yield(backend.Item{}, fail(ctx, err))
			return
		}
		defer cur.Close(context.WithoutCancel(ctx))
		for cur.Next(ctx) {
			doc, err := l.b.codec.decodeDoc(cur.Current, true)
			if err != nil {
				yield(backend.Item{}, err)
				return
			}
			prune(doc, l.fields)
			if !yield(backend.Item{ID: idString(cur.Current.Lookup("_id")), Doc: doc}, nil) {
				return
			}
		}
		if err := cur.Err(); err != nil {
			yield(backend.Item{}, fail(ctx, err))
		}
	}
}

// byValue yields the records in the order of their values at q.OrderBy
// (backend.Less): one rank after the other, numbers, strings, times (the
// reverse with Desc), then the rest by id, each rank read only when the
// caller reaches it. Within a rank the server sorts: every query holds
// values of types that MongoDB orders as backend.Less does. Values whose
// rank depends on more than their BSON type (FerretDB's tagged floats,
// types that package record never writes) are read first with one query,
// sorted in memory and merged into their rank.
func (l *lister) byValue(ctx context.Context) iter.Seq2[backend.Item, error] {
	path := l.b.codec.path(l.q.OrderBy)
	notArray := l.b.arrayGuards(l.q.OrderBy)
	typed := func(types ...any) []any {
		return append(slices.Clip(notArray), bson.D{{Key: path, Value: bson.D{{Key: "$type", Value: bson.A(types)}}}})
	}
	ranks := [backend.RankOther][]any{
		backend.RankNumber: typed("double", "long", "int"),
		backend.RankString: typed("string"),
		backend.RankTime:   typed("date"),
	}
	if !l.b.ferret {
		// MongoDB sorts NaN below every number; backend.Less puts it last.
		ranks[backend.RankNumber] = append(ranks[backend.RankNumber], bson.D{{Key: path, Value: bson.D{{Key: "$ne", Value: math.NaN()}}}})
	}
	oddTypes := bson.A{"binData", "objectId", "regex", "timestamp"}
	if !l.b.ferret {
		// By number: javascript, symbol, dbPointer, code with scope,
		// decimal, minKey, maxKey.
		oddTypes = append(oddTypes, 12, 13, 14, 15, 19, -1, 127)
	}
	odd := typed(oddTypes...)
	var none bson.A
	for _, f := range ranks {
		none = append(none, and(f))
	}
	rest := []any{bson.D{{Key: "$nor", Value: append(none, and(odd))}}}

	order := []int{backend.RankNumber, backend.RankString, backend.RankTime}
	if l.q.Desc {
		slices.Reverse(order)
	}
	order = append(order, backend.RankOther)
	return func(yield func(backend.Item, error) bool) {
		// The odd values, sorted and by rank.
		var odds [backend.RankOther + 1][]backend.Item
		opts := options.Find()
		if l.proj != nil {
			opts.SetProjection(l.proj)
		}
		for it, err := range l.find(ctx, and(odd, l.where), opts) {
			if err != nil {
				yield(backend.Item{}, err)
				return
			}
			r := backend.Rank(it.Doc, l.q.OrderBy)
			odds[r] = append(odds[r], it)
		}
		for _, r := range order {
			var seq iter.Seq2[backend.Item, error]
			if r == backend.RankOther {
				seq = l.byID(ctx, rest, "") // values that backend.Less holds equal
			} else {
				seq = l.byID(ctx, ranks[r], path)
			}
			if len(odds[r]) > 0 {
				seq = backend.MergeSorted(l.q, seq, backend.SortItems(l.q, items(odds[r])))
			}
			for it, err := range seq {
				if !yield(it, err) || err != nil {
					return
				}
			}
		}
	}
}

// items yields the items of a slice.
func items(s []backend.Item) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		for _, it := range s {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// and combines filter documents into one.
func and(parts ...[]any) bson.D {
	var all bson.A
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all) == 0 {
		return bson.D{}
	}
	return bson.D{{Key: "$and", Value: all}}
}

// idAfter returns the condition on _id values of BSON type t that keeps
// the ids following after in id order: greater ones, or smaller ones with
// desc, comparing the ids' string forms. ok is false when no id of that
// type follows.
func idAfter(t, after string, desc bool) (bson.E, bool) {
	if t == "string" {
		if desc {
			return bson.E{Key: "$lt", Value: after}, true
		}
		return bson.E{Key: "$gt", Value: after}, true
	}
	h, op, ok := hexAfter(after, desc)
	if !ok {
		return bson.E{}, false
	}
	oid, _ := bson.ObjectIDFromHex(h)
	return bson.E{Key: op, Value: oid}, true
}

// hexAfter returns the bound of the 24-digit lower-case hex strings that
// follow after in string order: op is "$gt" or "$gte" (or, with desc,
// "$lt" or "$lte") and h the hex string to compare ObjectIds with. ok is
// false when none follows.
func hexAfter(after string, desc bool) (h, op string, ok bool) {
	const digits, n = "0123456789abcdef", 24
	p := 0 // after[:p] is the longest prefix of hex digits, at most n
	for p < len(after) && p < n && strings.IndexByte(digits, after[p]) >= 0 {
		p++
	}
	if p == n {
		// after[:n] is a hex string: after itself, or a prefix of it that
		// comes before it.
		switch {
		case !desc:
			return after[:n], "$gt", true
		case len(after) == n:
			return after, "$lt", true
		}
		return after[:n], "$lte", true
	}
	// The hex strings that share after[:p] follow after or not by their
	// digit at p, compared with after[p] (absent: below every digit).
	fill, step := "0", 1
	if desc {
		fill, step = "f", -1
	}
	pad := func(prefix string) string { return prefix + strings.Repeat(fill, n-len(prefix)) }
	var next byte // the nearest digit beyond after[p] in the direction
	if desc {
		for i := len(digits) - 1; i >= 0; i-- {
			if p < len(after) && digits[i] < after[p] {
				next = digits[i]
				break
			}
		}
	} else {
		for i := range len(digits) {
			if p == len(after) || digits[i] > after[p] {
				next = digits[i]
				break
			}
		}
	}
	if next != 0 {
		return pad(after[:p] + string(next)), op2(desc), true
	}
	// No digit at p follows: the prefix itself must, by one step.
	pre := []byte(after[:p])
	for i := len(pre) - 1; i >= 0; i-- {
		d := strings.IndexByte(digits, pre[i]) + step
		if d >= 0 && d < len(digits) {
			pre[i] = digits[d]
			return pad(string(pre[:i+1])), op2(desc), true
		}
	}
	return "", "", false
}

// op2 is the inclusive comparison in the direction of desc.
func op2(desc bool) string {
	if desc {
		return "$lte"
	}
	return "$gte"
}
