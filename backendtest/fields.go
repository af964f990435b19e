package backendtest

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
	"github.com/recordlab/go-record/record"
)

// fieldsCorpus has documents where the requested fields are present with
// values of every type, absent, or unreachable through a scalar or an
// array.
func fieldsCorpus() corpus {
	return corpus{
		"f1": {
			"status": "completed", "n": nil, "ok": true,
			"params":  map[string]any{"lr": 0.1, "epochs": int64(10), "name": "x", "big": int64(math.MaxInt64), "neg0": math.Copysign(0, -1)},
			"metrics": map[string]any{"loss": map[string]any{"min": 0.5, "count": int64(3), "nan": math.NaN(), "inf": math.Inf(-1)}},
			"arr":     []any{int64(1), 2.0, "three", nil},
			"when":    time.UnixMilli(1234567).UTC(),
			"host":    map[string]any{"blob": strings.Repeat("h", 5000), "cpus": int64(64)},
			"empty":   map[string]any{},
		},
		"f2": {
			"status":  "failed",
			"params":  "scalar",
			"metrics": map[string]any{"loss": map[string]any{}},
			"arr":     []any{map[string]any{"x": int64(1)}},
			"host":    map[string]any{"blob": "small"},
		},
		"f3": {},
		"f4": {
			"params":  map[string]any{"lr": int64(1), "epochs": 10.0},
			"metrics": map[string]any{"loss": map[string]any{"min": int64(0)}},
			"n":       map[string]any{"nested": nil},
			"empty":   []any{},
		},
	}
}

var fieldsRequests = []struct {
	name   string
	fields [][]string
}{
	{"Three", [][]string{{"status"}, {"params", "lr"}, {"metrics", "loss", "min"}}},
	{"Types", [][]string{{"n"}, {"ok"}, {"arr"}, {"when"}, {"empty"}, {"params", "big"}, {"params", "neg0"}, {"metrics", "loss", "nan"}, {"metrics", "loss", "inf"}}},
	{"Objects", [][]string{{"params"}, {"metrics", "loss"}}},
	{"Overlapping", [][]string{{"params"}, {"params", "lr"}, {"metrics", "loss", "count"}, {"metrics"}}},
	{"Absent", [][]string{{"missing"}, {"params", "missing", "deep"}, {"status", "through"}, {"arr", "0"}, {"n", "nested"}}},
	{"None", [][]string{}},
}

// testFields checks Query.Fields: a listed document holds every requested
// path the stored one has, exactly (types included), none that it lacks,
// and nothing the stored one does not hold; through record, exactly the
// requested paths.
func (s *suite) testFields(t *testing.T) {
	t.Run("Fields", func(t *testing.T) {
		b, l := s.lister(t)
		c := fieldsCorpus()
		c.insert(t, b, coll)
		for _, f := range fieldsRequests {
			t.Run(f.name, func(t *testing.T) {
				for _, q := range []backend.Query{
					{Fields: f.fields},
					{Fields: f.fields, Desc: true, Limit: 2},
					{Fields: f.fields, OrderBy: []string{"params", "lr"}, Limit: 3},
					{Fields: f.fields, Where: []backend.Cond{{Path: []string{"status"}, Cmp: backend.Ne, Value: "failed"}}},
				} {
					q = withQueryPaths(q)
					got := listChecked(t.Context(), t, l, coll, q, c)
					if diff := cmp.Diff(c.want(q), got); diff != "" {
						t.Fatalf("List %s (-want +got):\n%s", describe(q), diff)
					}
				}
			})
		}
	})
	t.Run("FieldsOddKeys", func(t *testing.T) {
		b, l := s.lister(t)
		odd := []string{"it's", "with space", "日本", "🔥", "0", "-", "a$b", "x[0]", `q"uote`, `back\slash`}
		doc := map[string]any{"nested": map[string]any{"_id": int64(-1), "b$": int64(-2)}}
		fields := [][]string{{"nested", "_id"}}
		for i, k := range odd {
			doc[k] = map[string]any{k: int64(i)}
			fields = append(fields, []string{k, k})
		}
		c := corpus{"r1": doc, "r2": map[string]any{"it's": "scalar"}}
		c.insert(t, b, coll)
		for _, q := range []backend.Query{
			{Fields: fields},
			{Fields: fields[:3]},
			{Fields: [][]string{{"it's"}}, OrderBy: []string{"it's", "it's"}},
		} {
			q = withQueryPaths(q)
			got := listChecked(t.Context(), t, l, coll, q, c)
			if diff := cmp.Diff(c.want(q), got); diff != "" {
				t.Fatalf("List %s (-want +got):\n%s", describe(q), diff)
			}
		}
	})
	t.Run("StoreFields", func(t *testing.T) {
		b, _, st := s.listerStore(t)
		c := fieldsCorpus()
		c.insert(t, b, coll)
		for _, f := range fieldsRequests {
			paths := make([]string, len(f.fields))
			for i, p := range f.fields {
				paths[i] = strings.Join(p, ".")
			}
			snaps, err := st.ListAll(t.Context(), coll, record.Fields(paths...))
			if err != nil {
				t.Fatalf("Store.List with Fields %q: %v", paths, err)
			}
			if len(snaps) != len(c) {
				t.Fatalf("Store.List with Fields %q: %d records, want %d", paths, len(snaps), len(c))
			}
			for _, sn := range snaps {
				if d := Diff(project(c[sn.ID()], f.fields), sn.Doc()); d != "" {
					t.Fatalf("Store.List with Fields %q: record %s (-want +got):\n%s", paths, sn.ID(), d)
				}
			}
		}
	})
}

// testOmit checks record.Omit through every backend: the omitted paths
// are gone from what List yields, everything else is exact, and
// conditions and OrderBy on omitted paths still work.
func (s *suite) testOmit(t *testing.T) {
	t.Run("StoreOmit", func(t *testing.T) {
		b, _, st := s.listerStore(t)
		c := fieldsCorpus()
		c.insert(t, b, coll)
		omitted := func(doc map[string]any, paths ...[]string) map[string]any {
			out := docops.CopyDoc(doc)
			for _, p := range paths {
				m := out
				for _, k := range p[:len(p)-1] {
					next, ok := m[k].(map[string]any)
					if !ok {
						m = nil
						break
					}
					m = next
				}
				if m != nil {
					delete(m, p[len(p)-1])
				}
			}
			return out
		}
		for _, tc := range []struct {
			name string
			omit []string
			opts []record.ListOption
			ids  []string
		}{
			{"Host", []string{"host"}, nil, []string{"f1", "f2", "f3", "f4"}},
			{"Nested", []string{"host.blob", "metrics.loss.nan", "params.missing"}, nil, []string{"f1", "f2", "f3", "f4"}},
			{"ThroughArrays", []string{"arr.0", "arr.x", "empty.0"}, nil, []string{"f1", "f2", "f3", "f4"}},
			{"WhereOnOmitted", []string{"host"}, []record.ListOption{record.Where("host.cpus", ">", 8)}, []string{"f1"}},
			{"OrderOnOmitted", []string{"metrics"}, []record.ListOption{record.OrderBy("metrics.loss.min", true)}, []string{"f1", "f4", "f3", "f2"}},
			{"WithFields", []string{"params.lr"}, []record.ListOption{record.Fields("params", "status")}, []string{"f1", "f2", "f3", "f4"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				opts := append([]record.ListOption{record.Omit(tc.omit...)}, tc.opts...)
				snaps, err := st.ListAll(t.Context(), coll, opts...)
				if err != nil {
					t.Fatalf("Store.List with Omit %q: %v", tc.omit, err)
				}
				var ids []string
				for _, sn := range snaps {
					ids = append(ids, sn.ID())
					want := c[sn.ID()]
					if tc.name == "WithFields" {
						want = project(want, [][]string{{"params"}, {"status"}})
					}
					var paths [][]string
					for _, o := range tc.omit {
						paths = append(paths, strings.Split(o, "."))
					}
					if d := Diff(omitted(want, paths...), sn.Doc()); d != "" {
						t.Fatalf("record %s with Omit %q (-want +got):\n%s", sn.ID(), tc.omit, d)
					}
				}
				if d := cmp.Diff(tc.ids, ids); d != "" {
					t.Fatalf("ids with Omit %q (-want +got):\n%s", tc.omit, d)
				}
			})
		}
	})
}

// withQueryPaths adds the paths of q.Where and q.OrderBy to q.Fields, as
// package record always does when it asks for fields.
func withQueryPaths(q backend.Query) backend.Query {
	if q.Fields == nil {
		return q
	}
	fs := append([][]string{}, q.Fields...)
	for _, c := range q.Where {
		fs = append(fs, c.Path)
	}
	if q.OrderBy != nil {
		fs = append(fs, q.OrderBy)
	}
	q.Fields = fs
	return q
}
