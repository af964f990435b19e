package backendtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// testKeyset pages through OrderBy listings of the mixed order corpus
// with record.AfterValue, a page at a time, and checks that the pages
// put together are the whole listing: no record lost or repeated across
// ties (int 1 and float 1.0, -0 and 0), kinds of value (numbers, strings,
// times, then the rest) and both directions, with and without conditions
// and Fields.
func (s *suite) testKeyset(t *testing.T) {
	b, _, st := s.listerStore(t)
	c := orderCorpus()
	c.insert(t, b, coll)
	type walk struct {
		path   []string
		desc   bool
		where  int // index in orderWheres
		size   int
		fields bool
	}
	mixed, ties := orderPaths[1].path, orderPaths[2].path
	var walks []walk
	for _, desc := range []bool{false, true} {
		walks = append(walks, walk{mixed, desc, 0, 3, false}, walk{mixed, desc, 0, 4, true}, walk{ties, desc, 0, 2, false})
		for w, cond := range orderWheres {
			switch cond.name {
			case "NumberGt", "StringLt", "TimeGe", "EqNull":
				walks = append(walks, walk{mixed, desc, w, 4, false})
			}
		}
	}
	walks = append(walks, walk{mixed, false, 0, 1, false})
	for _, wk := range walks {
		path := strings.Join(wk.path, ".")
		w := orderWheres[wk.where]
		q := backend.Query{Where: w.where, OrderBy: wk.path, Desc: wk.desc}
		want := c.want(q)
		base := []record.ListOption{record.OrderBy(path, wk.desc), record.Limit(wk.size)}
		for _, cond := range w.where {
			base = append(base, record.Where(strings.Join(cond.Path, "."), string(cond.Cmp), cond.Value))
		}
		if wk.fields {
			base = append(base, record.Fields("id", path))
		}
		what := fmt.Sprintf("%s desc=%v %s pages of %d fields=%v", path, wk.desc, w.name, wk.size, wk.fields)
		got := []string{}
		var after []record.ListOption
		for pages := 0; ; pages++ {
			if pages > len(c)+1 {
				t.Fatalf("%s: no end after %d pages: %v", what, pages, got)
			}
			snaps, err := st.ListAll(t.Context(), coll, append(base, after...)...)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			for _, sn := range snaps {
				got = append(got, sn.ID())
			}
			if len(snaps) < wk.size {
				break
			}
			last := snaps[len(snaps)-1]
			v, _ := last.Get(path)
			after = []record.ListOption{record.AfterValue(v, last.ID())}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", what, diff)
		}
	}
	for _, bad := range [][]record.ListOption{
		{record.AfterValue(1, "r1")},
		{record.OrderBy("i", false), record.AfterValue(1, "r1"), record.After("r1")},
		{record.OrderBy("i", false), record.AfterValue(1, "bad id!")},
		{record.OrderBy("i", false), record.AfterValue(make(chan int), "r1")},
	} {
		if _, err := st.ListAll(t.Context(), coll, bad...); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("List with a bad AfterValue: %v; want ErrInvalid", err)
		}
	}
}
