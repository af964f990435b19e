package record

import (
	"context"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
)

// List yields snapshots of the records of coll that satisfy every
// condition, oldest first (by id) unless NewestFirst or OrderBy says
// otherwise, stopping at Limit. Records stream from the backend: memory
// holds one record at a time, and an order and limit the backend can use
// an index for (see Store.Index) read only what they return. Fields
// restricts the snapshots to the paths a caller reads. Stopping the loop
// early releases the backend's cursor. An error is yielded once, last.
//
//	for snap, err := range store.List(ctx, "Nov-25-2026", record.Where("lr", "<", 0.1)) {
//		if err != nil { return err }
//		...
//	}
func (s *Store) List(ctx context.Context, coll string, opts ...ListOption) iter.Seq2[*Snapshot, error] {
	return func(yield func(*Snapshot, error) bool) {
		if err := ValidCollection(coll); err != nil {
			yield(nil, err)
			return
		}
		var q listQuery
		for _, o := range opts {
			o(&q)
		}
		if q.err != nil {
			yield(nil, q.err)
			return
		}
		if q.OrderBy != nil && q.After != "" {
			yield(nil, invalid("value", "after", "After pages in id order; with OrderBy, use AfterValue"))
			return
		}
		if q.cursor != nil && q.OrderBy == nil {
			yield(nil, invalid("value", "after", "AfterValue pages an OrderBy listing; in id order, use After"))
			return
		}
		if err := s.enter(ctx); err != nil {
			yield(nil, s.fail(ctx, "list", coll, "", err))
			return
		}
		defer s.leave()
		l, ok := s.b.(backend.Lister)
		if !ok {
			yield(nil, s.fail(ctx, "list", coll, "", ErrUnsupported))
			return
		}
		now := time.Now()
		if q.cursor == nil {
			s.listPart(ctx, coll, l, q, now, nil, yield)
			return
		}
		left := q.Limit
		for _, part := range q.cursor.parts(q) {
			part.Limit = left
			n, more := s.listPart(ctx, coll, l, part.listQuery, now, part.keep, yield)
			if !more {
				return
			}
			if q.Limit > 0 {
				if left -= n; left <= 0 {
					return
				}
			}
		}
	}
}

// listPart runs one listing of q, yielding the records that satisfy its
// conditions and keep (when not nil), up to q.Limit. It returns how many
// it yielded, and false when the caller stopped or an error ended it.
func (s *Store) listPart(ctx context.Context, coll string, l backend.Lister, q listQuery, now time.Time, keep func(backend.Item) bool, yield func(*Snapshot, error) bool) (int, bool) {
	bq := q.Query
	pushed, exact, touched := statusConds(q.Where, now)
	bq.Where = pushed
	if !exact || keep != nil {
		bq.Limit = 0
	}
	if q.fields != nil {
		bq.Fields = slices.Clone(q.fields)
		for _, c := range q.Where {
			bq.Fields = append(bq.Fields, c.Path)
		}
		if q.OrderBy != nil {
			bq.Fields = append(bq.Fields, q.OrderBy)
		}
		if touched || slices.ContainsFunc(q.fields, func(f []string) bool { return f[0] == "status" }) {
			bq.Fields = append(bq.Fields, []string{aliveKey})
		}
	}
	if q.omit != nil && q.fields == nil {
		// Only what no condition or order needs may stay on the server.
		for _, o := range q.omit {
			if !overlaps(o, q.Where, q.OrderBy) {
				bq.Omit = append(bq.Omit, o)
			}
		}
	}
	var tree fieldTree
	if q.fields != nil {
		tree = newFieldTree(q.fields)
	}
	n := 0
	for it, err := range l.List(ctx, coll, bq) {
		if err != nil {
			yield(nil, s.fail(ctx, "list", coll, "", err))
			return n, false
		}
		markCrashed(it.Doc, now)
		if !q.Follows(it.ID) || !backend.Match(it.Doc, q.Where) || keep != nil && !keep(it) {
			continue
		}
		doc := it.Doc
		if tree != nil {
			doc = tree.project(doc)
		}
		for _, o := range q.omit {
			doc = omitPath(doc, o)
		}
		if !yield(snapshotAt(s, coll, it.ID, doc, now), nil) {
			return n, false
		}
		if n++; q.Limit > 0 && n >= q.Limit {
			return n, true
		}
	}
	return n, true
}

// listPhase is one listing of a keyset page (see cursor.parts).
type listPhase struct {
	listQuery
	keep func(backend.Item) bool
}

// exactCond reports whether conditions comparing with the number v agree
// with the exact order of numbers (backend.CompareAt): they compare an
// int64 with a float64 as floats, which is exact when v is below 2^53 in
// magnitude.
func exactCond(v any) bool {
	switch x := v.(type) {
	case int64:
		return x > -1<<53 && x < 1<<53
	case float64:
		return math.Abs(x) < 1<<53
	}
	return true
}

// minTime is a time before every stored one: stored times are RFC 3339,
// from year 1 on.
var minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)

// parts splits the listing after c in q's OrderBy order into listings
// the backend can serve from an index: the records whose value equals
// the cursor's, in id order after its id; those beyond its value, by a
// condition on the order's path; then the kinds of value that come later
// in the order (numbers, strings, times: each by a condition that matches
// all of its kind), and last the records without such a value, which no
// condition selects: that listing reads every record and keeps those
// after the cursor.
func (c *cursor) parts(q listQuery) []listPhase {
	at := backend.Item{ID: c.id, Doc: map[string]any{}}
	if c.ok {
		backend.SetAt(at.Doc, q.OrderBy, c.value)
	}
	rank := backend.Rank(at.Doc, q.OrderBy)
	with := func(conds ...backend.Cond) listQuery {
		p := q
		p.cursor = nil
		p.Where = append(slices.Clip(q.Where), conds...)
		return p
	}
	cond := func(cmp backend.Cmp, v any) backend.Cond { return backend.Cond{Path: q.OrderBy, Cmp: cmp, Value: v} }
	var out []listPhase
	if rank != backend.RankOther {
		ties := with(cond(backend.Eq, c.value))
		ties.OrderBy, ties.After = nil, c.id // ties come in id order, in the listing's direction
		beyond := backend.Gt
		if q.Desc {
			beyond = backend.Lt
		}
		switch {
		case rank == backend.RankNumber && !exactCond(c.value):
			// Conditions compare ints with floats as floats, exact only
			// below 2^53 in magnitude: beyond, read the values from the
			// cursor's on and keep those after it in the exact order.
			from := backend.Ge
			if q.Desc {
				from = backend.Le
			}
			out = append(out, listPhase{listQuery: with(cond(from, c.value)), keep: func(it backend.Item) bool {
				return backend.Rank(it.Doc, q.OrderBy) == backend.RankNumber && backend.Less(q.Query, at, it)
			}})
		default:
			out = append(out, listPhase{listQuery: ties}, listPhase{listQuery: with(cond(beyond, c.value))})
		}
		all := map[int]backend.Cond{
			backend.RankNumber: cond(backend.Le, math.Inf(1)),
			backend.RankString: cond(backend.Ge, ""),
			backend.RankTime:   cond(backend.Ge, minTime),
		}
		later := []int{backend.RankString, backend.RankTime}[min(rank, 2):]
		if q.Desc {
			later = []int{backend.RankString, backend.RankNumber}[2-min(rank, 2):]
		}
		for _, r := range later {
			out = append(out, listPhase{listQuery: with(all[r])})
		}
	}
	after := func(it backend.Item) bool {
		return backend.Rank(it.Doc, q.OrderBy) == backend.RankOther && backend.Less(q.Query, at, it)
	}
	return append(out, listPhase{listQuery: with(), keep: after})
}

// ListAll collects what List yields into a slice; use List to stream.
func (s *Store) ListAll(ctx context.Context, coll string, opts ...ListOption) ([]*Snapshot, error) {
	out := []*Snapshot{}
	for snap, err := range s.List(ctx, coll, opts...) {
		if err != nil {
			return nil, err
		}
		out = append(out, snap)
	}
	return out, nil
}

// Index asks the backend to index the value at the dotted path for the
// records of coll, so that OrderBy on it with a Limit, and conditions on
// it, read only what they return. It is idempotent. A backend that cannot
// index (memory) does nothing: listing works without an index, only slower.
func (s *Store) Index(ctx context.Context, coll, path string) error {
	if err := ValidCollection(coll); err != nil {
		return err
	}
	keys, err := ParsePath(path)
	if err != nil {
		return err
	}
	return s.do(ctx, "index "+path+" of", coll, "", func() error {
		if ix, ok := s.b.(backend.Indexer); ok {
			return ix.Index(ctx, coll, keys)
		}
		return nil
	})
}

// overlaps reports whether path is, or lies under or above, the path of a
// condition or the order.
func overlaps(path []string, where []backend.Cond, order []string) bool {
	related := func(p []string) bool {
		n := min(len(p), len(path))
		return slices.Equal(p[:n], path[:n])
	}
	if order != nil && related(order) {
		return true
	}
	return slices.ContainsFunc(where, func(c backend.Cond) bool { return related(c.Path) })
}

// omitPath returns doc without the value at path, sharing what it does
// not change; doc itself is not modified.
func omitPath(doc map[string]any, path []string) map[string]any {
	out, _ := omitted(doc, path)
	return out
}

func omitted(doc map[string]any, path []string) (map[string]any, bool) {
	v, ok := doc[path[0]]
	if !ok {
		return doc, false
	}
	if len(path) == 1 {
		out := maps.Clone(doc)
		delete(out, path[0])
		return out, true
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return doc, false
	}
	sub, changed := omitted(m, path[1:])
	if !changed {
		return doc, false
	}
	out := maps.Clone(doc)
	out[path[0]] = sub
	return out, true
}

// fieldTree is the set of paths Fields asked for, as a tree: a key that
// maps to nil is wanted whole.
type fieldTree map[string]fieldTree

func newFieldTree(fields [][]string) fieldTree {
	root := fieldTree{}
	for _, f := range fields {
		t := root
		for i, k := range f {
			sub, seen := t[k]
			if seen && sub == nil {
				break // an ancestor is wanted whole already
			}
			if i == len(f)-1 {
				t[k] = nil
				break
			}
			if sub == nil {
				sub = fieldTree{}
				t[k] = sub
			}
			t = sub
		}
	}
	return root
}

// project returns doc restricted to the tree's paths. A document that an
// adapter already projected holds nothing else and is returned as it is,
// without copying.
func (t fieldTree) project(doc map[string]any) map[string]any {
	if t.within(doc) {
		return doc
	}
	out := make(map[string]any, len(t))
	for k, sub := range t {
		v, ok := doc[k]
		if !ok {
			continue
		}
		if sub == nil {
			out[k] = v
			continue
		}
		if m, ok := v.(map[string]any); ok {
			if pm := sub.project(m); len(pm) > 0 {
				out[k] = pm
			}
		}
	}
	return out
}

// within reports whether doc holds nothing outside the tree.
func (t fieldTree) within(doc map[string]any) bool {
	for k, v := range doc {
		sub, ok := t[k]
		if !ok {
			return false
		}
		if sub == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 || !sub.within(m) {
			return false // project drops what is not there, and parents left empty
		}
	}
	return true
}

// pathString joins keys back into dotted text, for messages.
func pathString(keys []string) string { return strings.Join(keys, ".") }
