package mongo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
)

// TestHexAfter checks the bound on ObjectId _ids that List derives from
// Query.After against string comparison, for random hex strings and
// After values that are hex, prefixes, longer, or not hex at all.
func TestHexAfter(t *testing.T) {
	const alphabet = "0123456789abcdef-AFgz~"
	r := rand.New(rand.NewPCG(1, 2))
	randHex := func() string {
		b := make([]byte, 24)
		for i := range b {
			b[i] = "0123456789abcdef"[r.IntN(16)]
		}
		// Runs of 0 and f test the carries.
		if k := r.IntN(30); k < 24 {
			for i := k; i < 24; i++ {
				b[i] = "0f"[r.IntN(2)]
			}
		}
		return string(b)
	}
	afters := []string{"0", "f", "ffffffffffffffffffffffff", "000000000000000000000000", "ffffffffffffffffffffffffff", "~", "-", "g"}
	for range 3000 {
		h := randHex()
		switch n := r.IntN(4); n {
		case 0: // a hex id itself, or a prefix of one
			afters = append(afters, h[:1+r.IntN(24)])
		case 1: // longer than an ObjectId
			afters = append(afters, h+string(alphabet[r.IntN(len(alphabet))]))
		default: // a hex prefix, then anything
			b := []byte(h[:r.IntN(25)])
			for range r.IntN(4) {
				b = append(b, alphabet[r.IntN(len(alphabet))])
			}
			if len(b) > 0 {
				afters = append(afters, string(b))
			}
		}
	}
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = randHex()
	}
	for _, after := range afters {
		for _, desc := range []bool{false, true} {
			bound, op, ok := recmongo.HexAfter(after, desc)
			for _, h := range append(ids[:50:50], after[:min(24, len(after))]+strings.Repeat("0", 24-min(24, len(after)))) {
				if !isHex(h) {
					continue
				}
				want := h > after
				if desc {
					want = h < after
				}
				got := ok
				if ok {
					switch op {
					case "$gt":
						got = h > bound
					case "$gte":
						got = h >= bound
					case "$lt":
						got = h < bound
					case "$lte":
						got = h <= bound
					default:
						t.Fatalf("HexAfter(%q, %v): op %q", after, desc, op)
					}
				}
				if got != want {
					t.Fatalf("HexAfter(%q, desc=%v) = %q %s %v: says %v for %s, want %v", after, desc, op, bound, ok, got, h, want)
				}
			}
		}
	}
}

func isHex(s string) bool {
	return len(s) == 24 && strings.Trim(s, "0123456789abcdef") == ""
}

// TestListMixedIDs checks List's order and paging in a collection that
// holds both kinds of _id (ObjectIds and strings, which MongoDB sorts
// apart), with ties on the ordered value, tagged floats (FerretDB), and
// After values that fall between, before and after every id.
func TestListMixedIDs(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	docs := map[string]map[string]any{}
	vals := []any{int64(1), 1.0, 2.5, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), int64(0),
		"a", "b", "a", time.UnixMilli(5).UTC(), true, nil, []any{int64(1)}, map[string]any{}}
	ids := []string{"0", "6b07", "6b07a0c1702b2363df7f83f1x", "6B07A0C1702B2363DF7F83F1", "a", "g-run", "run-7", "zz", "~"}
	for i := range 24 {
		ids = append(ids, fmt.Sprintf("6b07a0c1702b2363df7f%04x", i*2731))
	}
	for i, id := range ids {
		doc := map[string]any{"k": int64(i % 4)}
		if i%9 != 8 {
			doc["m"] = map[string]any{"v": vals[i%len(vals)]}
		}
		docs[id] = doc
		if err := b.Insert(ctx, coll, id, doc); err != nil {
			t.Fatal(err)
		}
	}
	afters := []string{"", "0", "00", "6b", "6b07", "6b07a0c1702b2363df7f0ab6", "6b07a0c1702b2363df7f0ab6z", "6b07a0c1702b2363df7f0ab", "6b07g", "7", "g", "run-7", "~~"}
	wheres := [][]backend.Cond{nil,
		{{Path: []string{"k"}, Cmp: backend.Lt, Value: int64(2)}},
		{{Path: []string{"m", "v"}, Cmp: backend.Le, Value: 1.0}},
		{{Path: []string{"m", "v"}, Cmp: backend.Ne, Value: "a"}},
	}
	for _, orderBy := range [][]string{nil, {"m", "v"}, {"k"}} {
		for _, desc := range []bool{false, true} {
			for _, where := range wheres {
				for _, after := range afters {
					if orderBy != nil && after != "" {
						continue // record pages by id only
					}
					for _, limit := range []int{0, 1, 4} {
						q := backend.Query{Where: where, OrderBy: orderBy, Desc: desc, After: after, Limit: limit}
						var got []string
						for _, it := range list(t, b, coll, q) {
							if !q.Follows(it.ID) || !backend.Match(it.Doc, q.Where) {
								continue
							}
							if got = append(got, it.ID); len(got) == limit {
								break
							}
						}
						if diff := cmp.Diff(want(docs, q), got); diff != "" {
							t.Fatalf("List %+v (-want +got):\n%s", q, diff)
						}
					}
				}
			}
		}
	}
}

// want is what List must yield for q, once filtered as package record does.
func want(docs map[string]map[string]any, q backend.Query) []string {
	var items []backend.Item
	for id, doc := range docs {
		if q.Follows(id) && backend.Match(doc, q.Where) {
			items = append(items, backend.Item{ID: id, Doc: doc})
		}
	}
	slices.SortFunc(items, func(a, b backend.Item) int {
		if backend.Less(q, a, b) {
			return -1
		}
		return 1
	})
	var ids []string
	for _, it := range items {
		if ids = append(ids, it.ID); len(ids) == q.Limit {
			break
		}
	}
	return ids
}

// TestListLimitAndFields checks that a List whose conditions all go to
// the server stops there at Limit, that one with a condition left to
// package record does not, and that Fields leaves out what was not asked
// for, including arrays on the way to a requested path.
func TestListLimitAndFields(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	big := strings.Repeat("h", 10_000)
	for i := range 5 {
		doc := map[string]any{
			"host":    map[string]any{"blob": big},
			"metrics": map[string]any{"loss": map[string]any{"min": float64(i) / 10, "max": int64(i)}},
			"arr":     []any{map[string]any{"x": int64(i)}},
			"s":       fmt.Sprint("s", i),
		}
		if err := b.Insert(ctx, coll, bson.NewObjectID().Hex(), doc); err != nil {
			t.Fatal(err)
		}
	}
	fields := [][]string{{"metrics", "loss", "min"}, {"arr", "x"}, {"metrics", "loss"}, {"s"}}
	for _, tc := range []struct {
		name  string
		where []backend.Cond
		n     int
	}{
		{"NoCondition", nil, 2},
		{"Exact", []backend.Cond{{Path: []string{"metrics", "loss", "min"}, Cmp: backend.Ge, Value: 0.1}, {Path: []string{"s"}, Cmp: backend.Lt, Value: "s9"}}, 2},
		{"LeftToRecord", []backend.Cond{{Path: []string{"s"}, Cmp: backend.Ne, Value: "s9"}}, 5},
	} {
		q := backend.Query{Where: tc.where, Fields: fields, OrderBy: []string{"metrics", "loss", "min"}, Desc: true, Limit: 2}
		got := list(t, b, coll, q)
		if len(got) != tc.n {
			t.Errorf("%s: List with Limit 2 yields %d records, want %d", tc.name, len(got), tc.n)
		}
		for _, it := range got {
			want := map[string]any{"metrics": map[string]any{"loss": map[string]any{"min": it.Doc["metrics"].(map[string]any)["loss"].(map[string]any)["min"], "max": it.Doc["metrics"].(map[string]any)["loss"].(map[string]any)["max"]}}, "s": it.Doc["s"]}
			if diff := cmp.Diff(want, it.Doc); diff != "" {
				t.Errorf("%s: listed document (-want +got):\n%s", tc.name, diff)
			}
		}
	}
}

// TestIndex checks the index that Index creates, once however often it is
// called, and that it serves the server's sort for OrderBy.
func TestIndex(t *testing.T) {
	b, raw := open(t)
	ctx := t.Context()
	for range 2 {
		if err := b.Index(ctx, coll, []string{"metrics", "loss", "min"}); err != nil {
			t.Fatal(err)
		}
	}
	specs, err := raw.Collection(coll).Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range specs {
		keys = append(keys, s.KeysDocument.String())
	}
	want := []string{`{"_id": {"$numberInt":"1"}}`, `{"metrics.loss.min": {"$numberInt":"1"},"_id": {"$numberInt":"1"}}`}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("indexes (-want +got):\n%s", diff)
	}
}

// TestReadSeriesBatches checks that ReadSeries yields a batch per bucket
// document, a large bucket in several.
func TestReadSeriesBatches(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	var all []backend.Point
	for _, n := range []int{1000, 3, 10_000} {
		pts := make([]backend.Point, n)
		for i := range pts {
			s := int64(len(all) + i)
			pts[i] = backend.Point{Step: s, Value: float64(s) / 7, Time: time.UnixMilli(s).UTC()}
		}
		if err := b.AppendSeries(ctx, coll, "r", "loss", pts); err != nil {
			t.Fatal(err)
		}
		all = append(all, pts...)
	}
	var sizes []int
	var got []backend.Point
	for batch, err := range b.ReadSeries(ctx, coll, "r", "loss") {
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(batch))
		got = append(got, batch...)
	}
	if diff := cmp.Diff([]int{1000, 3, 4096, 4096, 1808}, sizes); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
}
