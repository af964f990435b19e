package backendtest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

func (s *suite) lister(t *testing.T) (backend.Backend, backend.Lister) {
	t.Helper()
	b := s.backend(t)
	l, ok := b.(backend.Lister)
	if !ok {
		t.Skip("backend does not implement Lister")
	}
	return b, l
}

// listerStore returns a fresh Backend that implements Lister and a
// record.Store over it, which closes it when t ends.
func (s *suite) listerStore(t *testing.T) (backend.Backend, backend.Lister, *record.Store) {
	t.Helper()
	b := fresh(t, s.h)
	st := storeOver(t, b)
	l, ok := b.(backend.Lister)
	if !ok {
		t.Skip("backend does not implement Lister")
	}
	return b, l, st
}

func listIDs(t *testing.T, l backend.Lister, c string, q backend.Query) []string {
	t.Helper()
	items, err := collect(t.Context(), l, c, q)
	if err != nil {
		t.Fatalf("List(%s, %+v): %v", c, q, err)
	}
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func (s *suite) testList(t *testing.T) {
	t.Run("Collections", func(t *testing.T) {
		b, l := s.lister(t)
		names, err := l.Collections(t.Context())
		if err != nil {
			t.Fatalf("Collections: %v", err)
		}
		if len(names) != 0 {
			t.Fatalf("Collections of an empty store = %q, want none", names)
		}
		for _, c := range []string{"Nov-26-2026", "Nov-25-2026", "a.b_c-d", "0"} {
			mustInsert(t, b, c, "r1", map[string]any{})
		}
		if err := b.Drop(t.Context(), "a.b_c-d"); err != nil {
			t.Fatal(err)
		}
		names, err = l.Collections(t.Context())
		if err != nil {
			t.Fatalf("Collections: %v", err)
		}
		if diff := cmp.Diff([]string{"0", "Nov-25-2026", "Nov-26-2026"}, names); diff != "" {
			t.Fatalf("Collections (-want +got):\n%s", diff)
		}
	})
	t.Run("OrderAndLimit", func(t *testing.T) {
		b, l := s.lister(t)
		ids := []string{"b", "a", "6b077e18781f37f886849a87", "c", "6b077e18781f37f886849a88"}
		for i, id := range ids {
			mustInsert(t, b, coll, id, map[string]any{"i": int64(i)})
		}
		mustInsert(t, b, "other", "z", map[string]any{})
		want := []string{"6b077e18781f37f886849a87", "6b077e18781f37f886849a88", "a", "b", "c"}
		if diff := cmp.Diff(want, listIDs(t, l, coll, backend.Query{})); diff != "" {
			t.Fatalf("List order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want[:2], listIDs(t, l, coll, backend.Query{Limit: 2})); diff != "" {
			t.Fatalf("List with Limit 2 (-want +got):\n%s", diff)
		}
		items, err := collect(t.Context(), l, coll, backend.Query{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if diff := Diff(map[string]any{"i": int64(2)}, items[0].Doc); diff != "" {
			t.Fatalf("listed document (-want +got):\n%s", diff)
		}
	})
	t.Run("DescendingAndPages", func(t *testing.T) {
		b, l := s.lister(t)
		ids := []string{"b", "a", "6b077e18781f37f886849a87", "c", "6b077e18781f37f886849a88", "6B077E18781F37F886849A89", "_z", "0"}
		for i, id := range ids {
			mustInsert(t, b, coll, id, map[string]any{"i": int64(i), "even": i%2 == 0})
		}
		asc := []string{"0", "6B077E18781F37F886849A89", "6b077e18781f37f886849a87", "6b077e18781f37f886849a88", "_z", "a", "b", "c"}
		desc := slices.Clone(asc)
		slices.Reverse(desc)
		if diff := cmp.Diff(desc, listIDs(t, l, coll, backend.Query{Desc: true})); diff != "" {
			t.Fatalf("List Desc (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(desc[:3], listIDs(t, l, coll, backend.Query{Desc: true, Limit: 3})); diff != "" {
			t.Fatalf("List Desc Limit 3 (-want +got):\n%s", diff)
		}
		for _, after := range []string{"6b077e18781f37f886849a87", "a", "5", "6b", "zzz", ""} {
			for _, d := range []bool{false, true} {
				want := []string{}
				for _, id := range map[bool][]string{false: asc, true: desc}[d] {
					if after == "" || !d && id > after || d && id < after {
						want = append(want, id)
					}
				}
				got := listIDs(t, l, coll, backend.Query{Desc: d, After: after})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("List Desc=%v After=%q (-want +got):\n%s", d, after, diff)
				}
			}
		}
		for _, d := range []bool{false, true} {
			where := []backend.Cond{{Path: []string{"even"}, Cmp: backend.Eq, Value: true}}
			var all, paged []string
			all = listIDs(t, l, coll, backend.Query{Desc: d, Where: where})
			after := ""
			for range 10 {
				page := listIDs(t, l, coll, backend.Query{Desc: d, Where: where, Limit: 2, After: after})
				if len(page) == 0 {
					break
				}
				paged = append(paged, page...)
				after = page[len(page)-1]
			}
			if len(all) != 4 {
				t.Fatalf("List Desc=%v where even: %q, want 4 records", d, all)
			}
			if diff := cmp.Diff(all, paged); diff != "" {
				t.Fatalf("pages of 2 (Desc=%v) differ from the whole listing (-whole +pages):\n%s", d, diff)
			}
		}
	})
	t.Run("MissingCollection", func(t *testing.T) {
		_, l := s.lister(t)
		if ids := listIDs(t, l, "nope", backend.Query{}); len(ids) != 0 {
			t.Fatalf("List of a missing collection = %q", ids)
		}
	})
	t.Run("Where", func(t *testing.T) {
		b, l := s.lister(t)
		docs := []map[string]any{
			{"lr": 0.01, "epochs": int64(10), "name": "a", "ok": true, "metrics": map[string]any{"loss": map[string]any{"last": 0.2}}, "t": time.UnixMilli(1000).UTC()},
			{"lr": 0.1, "epochs": int64(20), "name": "b", "ok": false, "metrics": map[string]any{"loss": map[string]any{"last": 0.5}}, "t": time.UnixMilli(2000).UTC()},
			{"lr": int64(1), "epochs": 10.0, "name": "c", "ok": nil, "metrics": map[string]any{"loss": map[string]any{"last": math.NaN()}}},
			{"lr": "0.01", "name": "d", "metrics": "none"},
			{"lr": 0.01, "epochs": 15.5, "name": "e", "nested": map[string]any{"x": []any{int64(1)}}},
		}
		for i, d := range docs {
			mustInsert(t, b, coll, fmt.Sprintf("r%d", i), d)
		}
		cases := []struct {
			name  string
			where []backend.Cond
			want  []string
		}{
			{"FloatEq", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Eq, Value: 0.01}}, []string{"r0", "r4"}},
			{"IntMatchesFloat", []backend.Cond{{Path: []string{"epochs"}, Cmp: backend.Eq, Value: int64(10)}}, []string{"r0", "r2"}},
			{"FloatMatchesInt", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Eq, Value: 1.0}}, []string{"r2"}},
			{"Lt", []backend.Cond{{Path: []string{"metrics", "loss", "last"}, Cmp: backend.Lt, Value: 0.3}}, []string{"r0"}},
			{"Ge", []backend.Cond{{Path: []string{"epochs"}, Cmp: backend.Ge, Value: int64(15)}}, []string{"r1", "r4"}},
			{"Le", []backend.Cond{{Path: []string{"epochs"}, Cmp: backend.Le, Value: 10.0}}, []string{"r0", "r2"}},
			{"Gt", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Gt, Value: 0.05}}, []string{"r1", "r2"}},
			{"NeIncludesMissingAndOtherTypes", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Ne, Value: 0.01}}, []string{"r1", "r2", "r3"}},
			{"StringEq", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Eq, Value: "0.01"}}, []string{"r3"}},
			{"StringOrder", []backend.Cond{{Path: []string{"name"}, Cmp: backend.Gt, Value: "b"}}, []string{"r2", "r3", "r4"}},
			{"BoolEq", []backend.Cond{{Path: []string{"ok"}, Cmp: backend.Eq, Value: false}}, []string{"r1"}},
			{"BoolNe", []backend.Cond{{Path: []string{"ok"}, Cmp: backend.Ne, Value: true}}, []string{"r1", "r2", "r3", "r4"}},
			{"NullEq", []backend.Cond{{Path: []string{"ok"}, Cmp: backend.Eq, Value: nil}}, []string{"r2"}},
			{"TimeGt", []backend.Cond{{Path: []string{"t"}, Cmp: backend.Gt, Value: time.UnixMilli(1500).UTC()}}, []string{"r1"}},
			{"PathThroughScalar", []backend.Cond{{Path: []string{"metrics", "loss", "last"}, Cmp: backend.Ge, Value: 0.0}}, []string{"r0", "r1"}},
			{"NaNMatchesNothing", []backend.Cond{{Path: []string{"metrics", "loss", "last"}, Cmp: backend.Ge, Value: math.Inf(-1)}}, []string{"r0", "r1"}},
			{"Conjunction", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Eq, Value: 0.01}, {Path: []string{"epochs"}, Cmp: backend.Gt, Value: int64(12)}}, []string{"r4"}},
			{"ArrayIsNotScalar", []backend.Cond{{Path: []string{"nested", "x"}, Cmp: backend.Eq, Value: int64(1)}}, []string{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := listIDs(t, l, coll, backend.Query{Where: tc.where})
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("List where %+v (-want +got):\n%s", tc.where, diff)
				}
				// The reference semantics agree.
				var ref []string
				for i, d := range docs {
					if backend.Match(d, tc.where) {
						ref = append(ref, fmt.Sprintf("r%d", i))
					}
				}
				if ref == nil {
					ref = []string{}
				}
				if diff := cmp.Diff(ref, got); diff != "" {
					t.Fatalf("List disagrees with backend.Match (-match +list):\n%s", diff)
				}
			})
		}
		t.Run("WithLimit", func(t *testing.T) {
			got := listIDs(t, l, coll, backend.Query{Where: []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Ne, Value: 0.01}}, Limit: 2})
			if diff := cmp.Diff([]string{"r1", "r2"}, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	})
	s.testOrder(t)
	s.testFields(t)
	s.testOmit(t)
	s.testEarlyStop(t)
	s.testIndex(t)
}

// collect gathers what List yields, applying Match and Limit the way
// package record does, since an adapter may yield a superset.
func collect(ctx context.Context, l backend.Lister, c string, q backend.Query) ([]backend.Item, error) {
	items := []backend.Item{}
	for it, err := range l.List(ctx, c, q) {
		if err != nil {
			return items, err
		}
		if !backend.Match(it.Doc, q.Where) {
			continue
		}
		items = append(items, it)
		if q.Limit > 0 && len(items) == q.Limit {
			break
		}
	}
	return items, nil
}
