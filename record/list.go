package record

import (
	"context"
	"iter"
	"slices"
	"strings"

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
			yield(nil, invalid("value", "after", "After pages in id order; it cannot be combined with OrderBy"))
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
		bq := q.Query
		if q.fields != nil {
			bq.Fields = slices.Clone(q.fields)
			for _, c := range q.Where {
				bq.Fields = append(bq.Fields, c.Path)
			}
			if q.OrderBy != nil {
				bq.Fields = append(bq.Fields, q.OrderBy)
			}
		}
		n := 0
		for it, err := range l.List(ctx, coll, bq) {
			if err != nil {
				yield(nil, s.fail(ctx, "list", coll, "", err))
				return
			}
			if !q.Follows(it.ID) || !backend.Match(it.Doc, q.Where) {
				continue
			}
			doc := it.Doc
			if q.fields != nil {
				doc = project(doc, q.fields)
			}
			if !yield(newSnapshot(s, coll, it.ID, doc), nil) {
				return
			}
			if n++; q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
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

// project returns a document holding only the values at fields that doc has.
func project(doc map[string]any, fields [][]string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		v, ok := backend.Lookup(doc, f)
		if !ok {
			continue
		}
		m := out
		for _, k := range f[:len(f)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[f[len(f)-1]] = v
	}
	return out
}

// pathString joins keys back into dotted text, for messages.
func pathString(keys []string) string { return strings.Join(keys, ".") }
