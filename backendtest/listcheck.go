package backendtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
)

// corpus is what a test stored in one collection: id -> document.
type corpus map[string]map[string]any

// insert stores every document of c in coll.
func (c corpus) insert(t *testing.T, b backend.Backend, coll string) {
	t.Helper()
	ids := make([]string, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		mustInsert(t, b, coll, id, c[id])
	}
}

// want returns the ids that List must end up with for q, by the
// definitions of package backend: those after q.After that Match q.Where,
// ordered by Less, the first q.Limit of them.
func (c corpus) want(q backend.Query) []string {
	items := []backend.Item{}
	for id, doc := range c {
		if q.Follows(id) && backend.Match(doc, q.Where) {
			items = append(items, backend.Item{ID: id, Doc: doc})
		}
	}
	slices.SortFunc(items, func(a, b backend.Item) int {
		switch {
		case backend.Less(q, a, b):
			return -1
		case backend.Less(q, b, a):
			return 1
		}
		return 0
	})
	if q.Limit > 0 && len(items) > q.Limit {
		items = items[:q.Limit]
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

// describe prints a query for failure messages.
func describe(q backend.Query) string {
	var parts []string
	for _, c := range q.Where {
		parts = append(parts, fmt.Sprintf("%s %s %#v", strings.Join(c.Path, "."), c.Cmp, c.Value))
	}
	s := "where [" + strings.Join(parts, ", ") + "]"
	if q.OrderBy != nil {
		s += " order by " + strings.Join(q.OrderBy, ".")
	} else {
		s += " order by id"
	}
	if q.Desc {
		s += " desc"
	}
	if q.After != "" {
		s += " after " + q.After
	}
	if q.Limit > 0 {
		s += fmt.Sprintf(" limit %d", q.Limit)
	}
	if q.Fields != nil {
		var fs []string
		for _, f := range q.Fields {
			fs = append(fs, strings.Join(f, "."))
		}
		s += " fields [" + strings.Join(fs, ", ") + "]"
	}
	return s
}

// listChecked runs List for q on what c holds in coll and checks what it
// yields against the contract of Lister.List: only records of coll, each
// once, in q's order (Less) throughout, each document equal to the stored
// one (or, with q.Fields, holding at least the requested paths, exactly,
// and nothing that is not stored). It returns the ids that satisfy q the
// way package record counts them (After, Match, then Limit), stopping the
// iteration at Limit as record does.
func listChecked(ctx context.Context, t *testing.T, l backend.Lister, coll string, q backend.Query, c corpus) []string {
	t.Helper()
	ids := []string{}
	seen := map[string]bool{}
	var prev backend.Item
	n := 0
	for it, err := range l.List(ctx, coll, q) {
		if err != nil {
			t.Fatalf("List %s: %v", describe(q), err)
		}
		stored, ok := c[it.ID]
		if !ok {
			t.Fatalf("List %s yielded id %q, which is not in the collection", describe(q), it.ID)
		}
		if seen[it.ID] {
			t.Fatalf("List %s yielded %q twice", describe(q), it.ID)
		}
		seen[it.ID] = true
		if msg := checkListedDoc(q, stored, it.Doc); msg != "" {
			t.Fatalf("List %s: document %s: %s", describe(q), it.ID, msg)
		}
		cur := backend.Item{ID: it.ID, Doc: stored}
		if n > 0 && backend.Less(q, cur, prev) {
			t.Fatalf("List %s yielded %q (%s) after %q (%s): out of order", describe(q),
				it.ID, showAt(stored, q.OrderBy), prev.ID, showAt(prev.Doc, q.OrderBy))
		}
		prev = cur
		n++
		if !q.Follows(it.ID) || !backend.Match(it.Doc, q.Where) {
			continue
		}
		ids = append(ids, it.ID)
		if q.Limit > 0 && len(ids) == q.Limit {
			break
		}
	}
	return ids
}

// showAt prints the value at path for messages.
func showAt(doc map[string]any, path []string) string {
	if path == nil {
		return "-"
	}
	v, ok := backend.Lookup(doc, path)
	if !ok {
		return "missing"
	}
	return show(v)
}

// checkListedDoc compares a listed document with the stored one: equal
// without q.Fields; with q.Fields, every requested path (and every path of
// q.Where and q.OrderBy, which package record always requests) that the
// stored document has is present with the same value, every one it lacks
// is absent, and nothing is there that the stored document does not hold.
func checkListedDoc(q backend.Query, stored, got map[string]any) string {
	if q.Fields == nil {
		if d := Diff(stored, got); d != "" {
			return "differs from the stored one (-stored +listed):\n" + d
		}
		return ""
	}
	if msg := subDoc("", stored, got); msg != "" {
		return msg
	}
	paths := slices.Clone(q.Fields)
	for _, c := range q.Where {
		paths = append(paths, c.Path)
	}
	if q.OrderBy != nil {
		paths = append(paths, q.OrderBy)
	}
	for _, p := range paths {
		want, wok := backend.Lookup(stored, p)
		v, ok := backend.Lookup(got, p)
		switch {
		case wok && !ok:
			return fmt.Sprintf("requested field %s is missing (stored: %s)", strings.Join(p, "."), show(want))
		case !wok && ok:
			return fmt.Sprintf("requested field %s is absent from the stored document but listed as %s", strings.Join(p, "."), show(v))
		case wok:
			if d := Diff(want, v); d != "" {
				return fmt.Sprintf("requested field %s differs (-stored +listed):\n%s", strings.Join(p, "."), d)
			}
		}
	}
	return ""
}

// subDoc reports how got holds something that stored does not: a key
// stored lacks, or a non-object value that differs.
func subDoc(path string, stored, got map[string]any) string {
	for k, gv := range got {
		sv, ok := stored[k]
		p := strings.TrimPrefix(path+"."+k, ".")
		if !ok {
			return fmt.Sprintf("listed field %s = %s is not in the stored document", p, show(gv))
		}
		sm, sIsMap := sv.(map[string]any)
		gm, gIsMap := gv.(map[string]any)
		if sIsMap && gIsMap {
			if msg := subDoc(p, sm, gm); msg != "" {
				return msg
			}
			continue
		}
		if d := Diff(sv, gv); d != "" {
			return fmt.Sprintf("listed field %s differs from the stored one (-stored +listed):\n%s", p, d)
		}
	}
	return ""
}

// project returns the parts of doc at paths, the way a caller of
// record.Fields sees a record.
func project(doc map[string]any, paths [][]string) map[string]any {
	out := map[string]any{}
	for _, p := range paths {
		v, ok := backend.Lookup(doc, p)
		if !ok {
			continue
		}
		m := out
		for _, k := range p[:len(p)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[p[len(p)-1]] = docops.Copy(v)
	}
	return out
}
