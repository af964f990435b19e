package backendtest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

var orderT0 = time.Date(2026, 11, 25, 10, 30, 0, 123_000_000, time.UTC)

// orderValues are the values the order tests sort by: every rank, the
// number edge cases (-0, ±Inf, int64 extremes, ints beyond 2^53 next to
// the float that rounds to them, int/float ties), strings whose byte order
// differs from a collation's, times, and the values that rank last.
func orderValues() []any {
	return []any{
		int64(3), 3.0, int64(-7), int64(0), math.Copysign(0, -1), 0.0, 2.5, 0.1, -1e-300,
		int64(math.MaxInt64), int64(math.MinInt64), float64(math.MinInt64), 0x1p63, -0x1p63 * 2,
		int64(1<<53 + 1), int64(1 << 53), float64(1 << 53), int64(1<<53 - 1), int64(-(1<<53 + 1)),
		math.Inf(1), math.Inf(-1), 1e300, -1e300, math.MaxFloat64, 5e-324,
		"", "a", "B", "b", "a b", "é", "e", "z", "日本", "🔥", "it's", `say "hi"`, `back\slash`, "10", "9", "A", "a\tb",
		orderT0, orderT0.Add(time.Millisecond), time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		nil, true, false, math.NaN(), map[string]any{"a": int64(1)}, []any{int64(1)}, []any{},
	}
}

// orderCorpus holds one record per order value at m.v (and a tie-prone
// int at i), plus records where m.v is missing or runs through a scalar.
// Ids are assigned out of value order, so ties show the id order.
func orderCorpus() corpus {
	vals := orderValues()
	c := corpus{}
	n := len(vals) + 4
	id := func(k int) string { return fmt.Sprintf("o%03d", (k*37+11)%n) }
	for k, v := range vals {
		doc := map[string]any{"m": map[string]any{"v": v}}
		if k%5 != 0 {
			doc["i"] = int64(k / 3)
		} else {
			doc["i"] = float64(k/3) + 0.5
		}
		c[id(k)] = doc
	}
	k := len(vals)
	c[id(k)] = map[string]any{"i": int64(-1)}
	c[id(k+1)] = map[string]any{"m": map[string]any{}, "i": int64(-1)}
	c[id(k+2)] = map[string]any{"m": "scalar", "i": nil}
	c[id(k+3)] = map[string]any{"m": map[string]any{"v": map[string]any{"deeper": int64(1)}}}
	if len(c) != n {
		panic("backendtest: order corpus ids collide")
	}
	return c
}

// orderWheres are conditions combined with every order and limit: none,
// ones an adapter pushes down exactly, and ones it may only narrow.
var orderWheres = []struct {
	name  string
	where []backend.Cond
}{
	{"All", nil},
	{"IntGe", []backend.Cond{{Path: []string{"i"}, Cmp: backend.Ge, Value: int64(5)}}},
	{"NumberGt", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Gt, Value: int64(0)}}},
	{"FloatLe", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Le, Value: 0.1}}},
	{"StringLt", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Lt, Value: "b"}}},
	{"NeString", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Ne, Value: "a"}}},
	{"NeNumber", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Ne, Value: int64(3)}}},
	{"EqNull", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Eq, Value: nil}}},
	{"EqBool", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Eq, Value: false}}},
	{"TimeGe", []backend.Cond{{Path: []string{"m", "v"}, Cmp: backend.Ge, Value: orderT0}}},
	{"Both", []backend.Cond{
		{Path: []string{"i"}, Cmp: backend.Lt, Value: int64(12)},
		{Path: []string{"m", "v"}, Cmp: backend.Ne, Value: "z"},
	}},
}

var orderLimits = []int{0, 1, 7}

// orderPaths are the orders: by id, by a mixed-rank nested value, by a
// tie-prone number.
var orderPaths = []struct {
	name string
	path []string
}{
	{"ByID", nil},
	{"ByMixed", []string{"m", "v"}},
	{"ByTies", []string{"i"}},
}

// testOrder checks that List yields exactly q's order (backend.Less) for
// mixed ranks, both directions and every condition and limit, through the
// Backend and through record.Store.List.
func (s *suite) testOrder(t *testing.T) {
	t.Run("OrderMixed", func(t *testing.T) {
		b, l := s.lister(t)
		c := orderCorpus()
		c.insert(t, b, coll)
		mustInsert(t, b, "other", "o000", map[string]any{"m": map[string]any{"v": int64(-100)}})
		for _, o := range orderPaths {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/Desc=%v", o.name, desc), func(t *testing.T) {
					for _, w := range orderWheres {
						for _, lim := range orderLimits {
							q := backend.Query{Where: w.where, OrderBy: o.path, Desc: desc, Limit: lim}
							got := listChecked(t.Context(), t, l, coll, q, c)
							if diff := cmp.Diff(c.want(q), got); diff != "" {
								t.Fatalf("List %s (%s) (-want +got):\n%s", describe(q), w.name, diff)
							}
						}
					}
				})
			}
		}
	})
	t.Run("StoreOrderMixed", func(t *testing.T) {
		b, _, st := s.listerStore(t)
		c := orderCorpus()
		c.insert(t, b, coll)
		for _, o := range orderPaths {
			for _, desc := range []bool{false, true} {
				for _, w := range orderWheres {
					for _, lim := range []int{0, 3} {
						q := backend.Query{Where: w.where, OrderBy: o.path, Desc: desc, Limit: lim}
						opts := []record.ListOption{record.Limit(lim)}
						for _, cond := range w.where {
							opts = append(opts, record.Where(strings.Join(cond.Path, "."), string(cond.Cmp), cond.Value))
						}
						switch {
						case o.path != nil:
							opts = append(opts, record.OrderBy(strings.Join(o.path, "."), desc))
						case desc:
							opts = append(opts, record.NewestFirst())
						}
						snaps, err := st.ListAll(t.Context(), coll, opts...)
						if err != nil {
							t.Fatalf("Store.List %s: %v", describe(q), err)
						}
						got := []string{}
						for _, sn := range snaps {
							got = append(got, sn.ID())
							if d := Diff(c[sn.ID()], sn.Doc()); d != "" {
								t.Fatalf("Store.List %s: record %s (-stored +listed):\n%s", describe(q), sn.ID(), d)
							}
						}
						if diff := cmp.Diff(c.want(q), got); diff != "" {
							t.Fatalf("Store.List %s (%s) (-want +got):\n%s", describe(q), w.name, diff)
						}
					}
				}
			}
		}
	})
}
