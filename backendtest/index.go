package backendtest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// indexQueries are the listings an index on m.v serves.
func indexQueries() []backend.Query {
	var qs []backend.Query
	for _, desc := range []bool{false, true} {
		for _, lim := range []int{1, 20, 0} {
			for _, w := range orderWheres[:4] {
				qs = append(qs, backend.Query{Where: w.where, OrderBy: []string{"m", "v"}, Desc: desc, Limit: lim})
			}
		}
	}
	return qs
}

// testIndex checks backend.Indexer where a backend implements it: Index
// is idempotent, safe to call concurrently, works on missing and dropped
// collections, and listings give the same answers with the index as
// without it, including after later writes.
func (s *suite) testIndex(t *testing.T) {
	t.Run("Index", func(t *testing.T) {
		b, l := s.lister(t)
		ix, ok := b.(backend.Indexer)
		if !ok {
			t.Skip("backend does not implement Indexer")
		}
		ctx := t.Context()
		path := []string{"m", "v"}
		for range 2 {
			if err := ix.Index(ctx, coll, path); err != nil {
				t.Fatalf("Index on a missing collection: %v", err)
			}
		}
		c := orderCorpus()
		c.insert(t, b, coll)
		check := func(when string) {
			t.Helper()
			for _, q := range indexQueries() {
				got := listChecked(ctx, t, l, coll, q, c)
				if diff := cmp.Diff(c.want(q), got); diff != "" {
					t.Fatalf("%s: List %s (-want +got):\n%s", when, describe(q), diff)
				}
			}
		}
		check("indexed before the records were inserted")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for _, p := range [][]string{path, path, path, {"i"}, {"i"}, {"it's", `q"k`}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- ix.Index(ctx, coll, p)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Index: %v", err)
			}
		}
		check("indexed again, concurrently")
		for k, v := range []any{int64(-3), 7.5, "c", nil, orderT0.AddDate(0, 0, 1)} {
			id := fmt.Sprintf("p%02d", k)
			c[id] = map[string]any{"m": map[string]any{"v": v}, "i": int64(k)}
			mustInsert(t, b, coll, id, c[id])
		}
		if err := b.Merge(ctx, coll, "o001", []backend.Op{set(-1e9, "m", "v")}); err != nil {
			t.Fatal(err)
		}
		c["o001"]["m"] = map[string]any{"v": -1e9}
		check("after writes to indexed records")
		if err := b.Drop(ctx, coll); err != nil {
			t.Fatal(err)
		}
		if err := ix.Index(ctx, coll, path); err != nil {
			t.Fatalf("Index after Drop: %v", err)
		}
		c = orderCorpus()
		c.insert(t, b, coll)
		check("after Drop and Index")
	})
	t.Run("StoreIndex", func(t *testing.T) {
		b, _, st := s.listerStore(t)
		ctx := t.Context()
		c := orderCorpus()
		c.insert(t, b, coll)
		for range 2 {
			if err := st.Index(ctx, coll, "m.v"); err != nil {
				t.Fatalf("Store.Index: %v", err)
			}
		}
		for _, desc := range []bool{false, true} {
			snaps, err := st.ListAll(ctx, coll, record.OrderBy("m.v", desc), record.Limit(5))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, sn := range snaps {
				got = append(got, sn.ID())
			}
			q := backend.Query{OrderBy: []string{"m", "v"}, Desc: desc, Limit: 5}
			if diff := cmp.Diff(c.want(q), got); diff != "" {
				t.Fatalf("Store.List %s after Store.Index (-want +got):\n%s", describe(q), diff)
			}
		}
	})
}
