package record_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/record"
)

// groupStore opens mem:// and inserts docs under ids g00, g01, ...
// directly, so that any stored value, summaries included, can be tried.
func groupStore(t *testing.T, docs []map[string]any) *record.Store {
	t.Helper()
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	var b backend.Backend
	if !st.As(&b) {
		t.Fatal("Store.As(*backend.Backend) = false")
	}
	for i, d := range docs {
		id := "g" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		d["id"] = id
		n, err := record.Normalize(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Insert(t.Context(), "c", id, n.(map[string]any)); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// Groups form by exact value: int 1 and float 1.0 are one group, and so
// are 0 and -0, null and absent; strings with quotes and control
// characters, NaN, bools, times in two zones, arrays and objects group by
// value, and groups come in CompareAt order with nil last.
func TestGroupKeys(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	when := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	hostile := "a\"b\\c\x01\n<script>"
	vals := []any{
		int64(1), 1.0, 0.0, math.Copysign(0, -1), nil, "absent",
		hostile, hostile, math.NaN(), math.NaN(), true, false,
		when, when.In(cet), []any{1.0, "x"}, map[string]any{"k": "v"},
		math.Inf(-1), -math.MaxFloat64, int64(math.MaxInt64), 0x1p63, "", 5e-324,
	}
	var docs []map[string]any
	for _, v := range vals {
		d := map[string]any{"m": 1.0}
		if s, ok := v.(string); !ok || s != "absent" {
			d["lr"] = v
		}
		docs = append(docs, d)
	}
	st := groupStore(t, docs)
	groups, err := st.Group(t.Context(), "c", []string{"lr"}, []string{"m"})
	if err != nil {
		t.Fatal(err)
	}
	type g struct {
		Value string
		IDs   []string
	}
	var got []g
	for _, gr := range groups {
		got = append(got, g{valueText(gr.Values[0]), gr.IDs})
	}
	want := []g{
		{"float64 -Inf", []string{"g16"}},
		{"float64 -1.7976931348623157e+308", []string{"g17"}},
		{"float64 0", []string{"g02", "g03"}},
		{"float64 5e-324", []string{"g21"}},
		{"int64 1", []string{"g00", "g01"}},
		{"int64 9223372036854775807", []string{"g18"}},
		{"float64 9.223372036854776e+18", []string{"g19"}},
		{"string ", []string{"g20"}},
		{`string a"b\c` + "\x01\n<script>", []string{"g06", "g07"}},
		{"time.Time 2026-11-25 10:00:00 +0000 UTC", []string{"g12", "g13"}},
		{"bool false", []string{"g11"}},
		{"bool true", []string{"g10"}},
		{"float64 NaN", []string{"g08", "g09"}},
		{"[]interface {} [1 x]", []string{"g14"}},
		{"map[string]interface {} map[k:v]", []string{"g15"}},
		{"<nil> <nil>", []string{"g04", "g05"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
	for _, gr := range groups {
		if s := gr.Stats["m"]; s.N != len(gr.IDs) || s.Mean != 1 || (s.N > 1 && s.Std != 0) {
			t.Errorf("group %v: stat %+v", gr.Values, s)
		}
	}
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil> <nil>"
	case time.Time:
		return "time.Time " + x.UTC().String()
	}
	return fmt.Sprintf("%T %v", v, v)
}

// Hostile numbers: huge, tiny, mixed signs, ints, NaN and ±Inf, nulls and
// strings, summaries whose null stands for NaN; every aggregate is
// checked against a reference in big floats, and nothing overflows that
// need not.
func TestGroupStats(t *testing.T) {
	M := math.MaxFloat64
	cases := []struct {
		name string
		xs   []any // one member each; "absent" leaves the path out
		n    int
		nonF int
		miss int
	}{
		{"plain", []any{0.1, 0.2, 0.3, 0.4, 0.5}, 5, 0, 0},
		{"equal", []any{0.1, 0.1, 0.1}, 3, 0, 0},
		{"one", []any{42.5}, 1, 0, 0},
		{"none", []any{"absent", nil, "x"}, 0, 0, 3},
		{"max", []any{M, M, M}, 3, 0, 0},
		{"maxmix", []any{M, -M, M / 2}, 3, 0, 0},
		{"tiny", []any{5e-324, 1e-320, 2.2e-308}, 3, 0, 0},
		{"offset", []any{1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16}, 4, 0, 0},
		{"ints", []any{int64(math.MaxInt64), int64(math.MinInt64), int64(3)}, 3, 0, 0},
		{"nonfinite", []any{math.NaN(), math.Inf(1), math.Inf(-1), 2.0, 4.0, true, "absent"}, 2, 3, 2},
		{"negzero", []any{math.Copysign(0, -1), 0.0}, 2, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var docs []map[string]any
			var finite []float64
			for _, x := range c.xs {
				d := map[string]any{}
				if s, ok := x.(string); !ok || s != "absent" {
					d["v"] = x
				}
				docs = append(docs, d)
				switch n := x.(type) {
				case float64:
					if !math.IsNaN(n) && !math.IsInf(n, 0) {
						finite = append(finite, n)
					}
				case int64:
					finite = append(finite, float64(n))
				}
			}
			st := groupStore(t, docs)
			groups, err := st.Group(t.Context(), "c", nil, []string{"v"})
			if err != nil {
				t.Fatal(err)
			}
			if len(groups) != 1 || len(groups[0].Values) != 0 || len(groups[0].IDs) != len(c.xs) {
				t.Fatalf("groups %+v", groups)
			}
			s := groups[0].Stats["v"]
			if s.N != c.n || s.NonFinite != c.nonF || s.Missing != c.miss {
				t.Fatalf("counts %+v, want N %d NonFinite %d Missing %d", s, c.n, c.nonF, c.miss)
			}
			want := reference(finite)
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"mean", s.Mean, want.Mean}, {"std", s.Std, want.Std}, {"stderr", s.Stderr, want.Stderr}, {"min", s.Min, want.Min}, {"max", s.Max, want.Max}} {
				if !closeTo(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
		})
	}
}

// reference computes the aggregates in 2000-bit floats.
func reference(xs []float64) record.Stat {
	nan := math.NaN()
	r := record.Stat{N: len(xs), Mean: nan, Std: nan, Stderr: nan, Min: nan, Max: nan}
	if len(xs) == 0 {
		return r
	}
	r.Min, r.Max = xs[0], xs[0]
	sum := new(big.Float).SetPrec(2000)
	for _, x := range xs {
		r.Min, r.Max = min(r.Min, x), max(r.Max, x)
		sum.Add(sum, big.NewFloat(x))
	}
	n := new(big.Float).SetPrec(2000).SetInt64(int64(len(xs)))
	mean := new(big.Float).SetPrec(2000).Quo(sum, n)
	r.Mean, _ = mean.Float64()
	if len(xs) < 2 {
		return r
	}
	ss := new(big.Float).SetPrec(2000)
	for _, x := range xs {
		d := new(big.Float).SetPrec(2000).Sub(big.NewFloat(x), mean)
		ss.Add(ss, d.Mul(d, d))
	}
	ss.Quo(ss, new(big.Float).SetPrec(2000).SetInt64(int64(len(xs)-1)))
	std := new(big.Float).SetPrec(2000).Sqrt(ss)
	r.Std, _ = std.Float64()
	se := new(big.Float).SetPrec(2000).Quo(std, new(big.Float).SetPrec(2000).Sqrt(n))
	r.Stderr, _ = se.Float64()
	return r
}

// closeTo reports whether got is within 4 ulps of want (or both NaN, or
// equal infinities); results below 1e-300 may differ by 1e-310.
func closeTo(got, want float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0) || got == want:
		return got == want
	}
	return math.Abs(got-want) <= 4*ulp(want) || math.Abs(got-want) < 1e-310
}

func ulp(x float64) float64 {
	x = math.Abs(x)
	return math.Nextafter(x, math.Inf(1)) - x
}

// Best follows the metric's goal: the smallest loss, the greatest acc
// (goals.acc = max), ties to the first id; non-finite values never win,
// and a group without a finite value has no best. Groups by two paths,
// with records lacking one.
func TestGroupBestAndTwoPaths(t *testing.T) {
	goals := map[string]any{"acc": "max"}
	docs := []map[string]any{
		{"lr": 0.1, "batch": int64(32), "goals": goals, "metrics": map[string]any{"loss": map[string]any{"min": 0.5}, "acc": map[string]any{"max": 0.7}}},
		{"lr": 0.1, "batch": int64(32), "goals": goals, "metrics": map[string]any{"loss": map[string]any{"min": 0.3}, "acc": map[string]any{"max": 0.9}}},
		{"lr": 0.1, "batch": int64(32), "goals": goals, "metrics": map[string]any{"loss": map[string]any{"min": 0.3}, "acc": map[string]any{"max": math.Inf(1)}}},
		{"lr": 0.1, "batch": 64.0, "metrics": map[string]any{"loss": map[string]any{"min": nil, "finite": int64(0), "count": int64(3), "last": nil, "last_nonfinite": "NaN"}}},
		{"lr": 0.1},
		{"batch": int64(32), "metrics": map[string]any{"loss": map[string]any{"min": -1.0, "last": 2.0}}},
	}
	st := groupStore(t, docs)
	groups, err := st.Group(t.Context(), "c", []string{"lr", "batch"},
		[]string{"metrics.loss.min", "metrics.acc.max", "metrics.loss.last"}, record.Where("id", "!=", "g99"))
	if err != nil {
		t.Fatal(err)
	}
	type g struct {
		Values []any
		IDs    []string
		Best   map[string]string
		N      [3]int
		NonF   [3]int
		Miss   [3]int
	}
	var got []g
	for _, gr := range groups {
		x := g{Values: gr.Values, IDs: gr.IDs, Best: gr.Best}
		for i, m := range []string{"metrics.loss.min", "metrics.acc.max", "metrics.loss.last"} {
			x.N[i], x.NonF[i], x.Miss[i] = gr.Stats[m].N, gr.Stats[m].NonFinite, gr.Stats[m].Missing
		}
		got = append(got, x)
	}
	want := []g{
		{[]any{0.1, int64(32)}, []string{"g00", "g01", "g02"},
			map[string]string{"metrics.loss.min": "g01", "metrics.acc.max": "g01"},
			[3]int{3, 2, 0}, [3]int{0, 1, 0}, [3]int{0, 0, 3}},
		{[]any{0.1, 64.0}, []string{"g03"}, map[string]string{}, [3]int{}, [3]int{1, 0, 1}, [3]int{0, 1, 0}},
		{[]any{0.1, nil}, []string{"g04"}, map[string]string{}, [3]int{}, [3]int{}, [3]int{1, 1, 1}},
		{[]any{nil, int64(32)}, []string{"g05"}, map[string]string{"metrics.loss.min": "g05", "metrics.loss.last": "g05"}, [3]int{1, 0, 1}, [3]int{}, [3]int{0, 1, 0}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}
}

// Bad paths and bad conditions are ErrInvalid; a missing collection has
// no groups.
func TestGroupErrors(t *testing.T) {
	st := groupStore(t, nil)
	ctx := t.Context()
	for _, c := range []struct{ by, metrics []string }{
		{[]string{"a..b"}, nil}, {nil, []string{""}}, {[]string{"$x"}, []string{"m"}},
	} {
		if _, err := st.Group(ctx, "c", c.by, c.metrics); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("Group(%q, %q): %v, want ErrInvalid", c.by, c.metrics, err)
		}
	}
	if _, err := st.Group(ctx, "c", nil, nil, record.WhereText("lr<<1")); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("bad condition: %v, want ErrInvalid", err)
	}
	if _, err := st.Group(ctx, "bad name!", nil, nil); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("bad collection: %v, want ErrInvalid", err)
	}
	if gs, err := st.Group(ctx, "none", []string{"lr"}, []string{"m"}); err != nil || len(gs) != 0 {
		t.Errorf("empty collection: %v, %v", gs, err)
	}
}

// Group a sweep over seeds: the mean ± std, stderr and best run of each
// learning rate's final loss.
func ExampleStore_Group() {
	ctx := context.Background()
	st, err := record.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer st.Close(ctx)
	for i, lr := range []float64{0.1, 0.1, 0.01, 0.01, 0.01} {
		rec, err := st.Create(ctx, "sweep", record.WithID(fmt.Sprintf("run-%d", i)), record.WithoutHost())
		if err != nil {
			panic(err)
		}
		if err := rec.Update(ctx, map[string]any{"lr": lr}); err != nil {
			panic(err)
		}
		rec.Log(0, record.Metrics{"loss": 1 - lr*float64(i)})
		if err := rec.Close(ctx, nil); err != nil {
			panic(err)
		}
	}
	groups, err := st.Group(ctx, "sweep", []string{"lr"}, []string{"metrics.loss.last"})
	if err != nil {
		panic(err)
	}
	for _, g := range groups {
		s := g.Stats["metrics.loss.last"]
		fmt.Printf("lr=%v runs=%v N=%d mean=%.3f std=%.3f stderr=%.3f best=%s\n",
			g.Values[0], g.IDs, s.N, s.Mean, s.Std, s.Stderr, g.Best["metrics.loss.last"])
	}
	// Output:
	// lr=0.01 runs=[run-2 run-3 run-4] N=3 mean=0.970 std=0.010 stderr=0.006 best=run-4
	// lr=0.1 runs=[run-0 run-1] N=2 mean=0.950 std=0.071 stderr=0.050 best=run-1
}

// BenchmarkGroup groups 100,000 records (20 learning rates x 5 batch
// sizes x 1,000 seeds) by two params with two metric summaries, on the
// memory backend and on SQLite, beside listing the same fields: the
// issue's bar is under a second.
func BenchmarkGroup(b *testing.B) {
	for _, dsn := range []string{"mem://", "sqlite://" + b.TempDir() + "/group.db"} {
		b.Run(strings.SplitN(dsn, ":", 2)[0], func(b *testing.B) {
			ctx := b.Context()
			st, err := record.Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close(ctx)
			var be backend.Backend
			st.As(&be)
			const n = 100_000
			for i := range n {
				doc := map[string]any{"id": fmt.Sprintf("r%06d", i), "lr": float64(i%20) / 100, "batch": int64(16 << (i / 20 % 5)),
					"seed": int64(i), "host": map[string]any{"hostname": "gpu", "facts": strings.Repeat("x", 500)},
					"metrics": map[string]any{"loss": map[string]any{"min": 1 / float64(i+1), "last": 2 / float64(i+1)}}}
				if err := be.Insert(ctx, "big", doc["id"].(string), doc); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("group", func(b *testing.B) {
				for b.Loop() {
					gs, err := st.Group(ctx, "big", []string{"lr", "batch"}, []string{"metrics.loss.min", "metrics.loss.last"})
					if err != nil || len(gs) != 100 {
						b.Fatalf("%d groups, %v", len(gs), err)
					}
				}
			})
			// The baseline: listing the same fields, grouping nothing.
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					n := 0
					for _, err := range st.List(ctx, "big", record.Fields("lr", "batch", "metrics.loss.min", "metrics.loss.last", "goals", "id")) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n != 100_000 {
						b.Fatalf("%d records", n)
					}
				}
			})
		})
	}
}
