package backend_test

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
)

// at returns a document holding v at m.v, or none for missing.
func at(v any) map[string]any {
	if v == missing {
		return map[string]any{}
	}
	return map[string]any{"m": map[string]any{"v": v}}
}

var path = []string{"m", "v"}

func TestRank(t *testing.T) {
	cases := []struct {
		v    any
		want int
	}{
		{int64(0), backend.RankNumber},
		{int64(math.MinInt64), backend.RankNumber},
		{-0.5, backend.RankNumber},
		{math.Inf(1), backend.RankNumber},
		{math.Inf(-1), backend.RankNumber},
		{math.NaN(), backend.RankOther},
		{"", backend.RankString},
		{"x", backend.RankString},
		{t0, backend.RankTime},
		{nil, backend.RankOther},
		{true, backend.RankOther},
		{false, backend.RankOther},
		{[]any{int64(1)}, backend.RankOther},
		{map[string]any{"a": int64(1)}, backend.RankOther},
		{missing, backend.RankOther},
	}
	for _, tc := range cases {
		if got := backend.Rank(at(tc.v), path); got != tc.want {
			t.Errorf("Rank(%s) = %d, want %d", show(tc.v), got, tc.want)
		}
	}
	if got := backend.Rank(map[string]any{"m": "scalar"}, path); got != backend.RankOther {
		t.Errorf("Rank through a scalar = %d, want RankOther", got)
	}
}

func TestCompareAt(t *testing.T) {
	cases := []struct {
		name string
		a, b any
		want int
	}{
		{"IntInt", int64(1), int64(2), -1},
		{"IntExtremes", int64(math.MaxInt64), int64(math.MinInt64), 1},
		{"IntFloatLess", int64(1), 1.5, -1},
		{"FloatIntGreater", 1.5, int64(1), 1},
		{"IntFloatEqual", int64(2), 2.0, 0},
		{"NegativeZero", math.Copysign(0, -1), 0.0, 0},
		{"NegativeZeroInt", math.Copysign(0, -1), int64(0), 0},
		{"BeyondFloatPrecision", int64(1<<53 + 1), float64(1 << 53), 1},
		{"BeyondFloatPrecisionBelow", int64(1<<53 - 1), float64(1 << 53), -1},
		{"NegativeBeyondPrecision", int64(-(1<<53 + 1)), -float64(1 << 53), -1},
		{"FloatOfMaxIntAboveMaxInt", 0x1p63, int64(math.MaxInt64), 1},
		{"FloatOfMinIntEqualsMinInt", -0x1p63, int64(math.MinInt64), 0},
		{"BelowMinInt", -0x1p64, int64(math.MinInt64), -1},
		{"NegativeFraction", -1.5, int64(-1), -1},
		{"NegativeFractionAboveNext", -0.5, int64(-1), 1},
		{"PositiveFraction", 0.5, int64(0), 1},
		{"PosInfAboveMaxInt", math.Inf(1), int64(math.MaxInt64), 1},
		{"NegInfBelowMinInt", math.Inf(-1), int64(math.MinInt64), -1},
		{"InfInf", math.Inf(1), math.Inf(1), 0},
		{"NegInfMaxFloat", math.Inf(-1), -math.MaxFloat64, -1},
		{"Subnormal", 5e-324, 0.0, 1},
		{"NumberBeforeString", math.Inf(1), "", -1},
		{"StringBeforeTime", "zzz", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), -1},
		{"TimeBeforeOther", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), nil, -1},
		{"NumberBeforeNaN", math.Inf(1), math.NaN(), -1},
		{"NumberBeforeMissing", int64(0), missing, -1},
		{"StringsByteWise", "B", "a", -1},
		{"StringsAccent", "é", "z", 1},
		{"StringsDigits", "10", "9", -1},
		{"StringsPrefix", "a", "a\x00", -1},
		{"Times", t0, t0.Add(time.Millisecond), -1},
		{"TimesEqual", t0, t0.In(time.FixedZone("X", 3600)), 0},
		{"OtherAllEqualNullBool", nil, true, 0},
		{"OtherAllEqualNaNNull", math.NaN(), nil, 0},
		{"OtherAllEqualObjects", map[string]any{"a": int64(1)}, []any{}, 0},
		{"OtherAllEqualMissing", missing, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := at(tc.a), at(tc.b)
			if got := backend.CompareAt(a, b, path); got != tc.want {
				t.Errorf("CompareAt(%s, %s) = %d, want %d", show(tc.a), show(tc.b), got, tc.want)
			}
			if got := backend.CompareAt(b, a, path); got != -tc.want {
				t.Errorf("CompareAt(%s, %s) = %d, want %d (antisymmetric)", show(tc.b), show(tc.a), got, -tc.want)
			}
		})
	}
}

func TestLess(t *testing.T) {
	asc := backend.Query{OrderBy: path}
	desc := backend.Query{OrderBy: path, Desc: true}
	cases := []struct {
		name string
		q    backend.Query
		a, b backend.Item
		want bool
	}{
		{"ByID", backend.Query{}, item("a", nil), item("b", nil), true},
		{"ByIDDesc", backend.Query{Desc: true}, item("a", nil), item("b", nil), false},
		{"ByIDIgnoresDoc", backend.Query{}, item("b", int64(1)), item("a", int64(2)), false},
		{"Value", asc, item("b", int64(1)), item("a", int64(2)), true},
		{"ValueDesc", desc, item("b", int64(1)), item("a", int64(2)), false},
		{"TieByID", asc, item("a", int64(1)), item("b", 1.0), true},
		{"TieByIDDesc", desc, item("a", int64(1)), item("b", 1.0), false},
		{"TieByIDDescOther", desc, item("b", int64(1)), item("a", 1.0), true},
		{"RanksAsc", asc, item("z", "a"), item("a", t0), true},
		{"RanksDescReverse", desc, item("z", "a"), item("a", t0), false},
		{"NumberBeforeStringDesc", desc, item("a", int64(5)), item("b", "x"), false},
		{"OtherLastAsc", asc, item("z", t0), item("a", nil), true},
		{"OtherLastDesc", desc, item("z", int64(1)), item("a", nil), true},
		{"OtherNotFirstDesc", desc, item("a", nil), item("z", int64(1)), false},
		{"NaNLastDesc", desc, item("z", math.Inf(-1)), item("a", math.NaN()), true},
		{"MissingLastDesc", desc, item("z", "s"), item("a", missing), true},
		{"OtherTieByID", asc, item("a", nil), item("b", true), true},
		{"OtherTieByIDDesc", desc, item("a", nil), item("b", true), false},
		{"Irreflexive", asc, item("a", int64(1)), item("a", int64(1)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := backend.Less(tc.q, tc.a, tc.b); got != tc.want {
				t.Fatalf("Less(%s %s, %s %s) = %v, want %v", tc.a.ID, showAt(tc.a), tc.b.ID, showAt(tc.b), got, tc.want)
			}
		})
	}
}

func item(id string, v any) backend.Item { return backend.Item{ID: id, Doc: at(v)} }

func showAt(it backend.Item) string {
	v, ok := backend.Lookup(it.Doc, path)
	if !ok {
		return "(missing)"
	}
	return show(v)
}

// sortedItems returns items holding values of every rank, in ascending
// order (Desc=false) by m.v.
func sortedItems() []backend.Item {
	vals := []any{math.Inf(-1), int64(math.MinInt64), int64(-1), math.Copysign(0, -1), int64(0), 0.5, int64(1 << 53), int64(1<<53 + 1), math.Inf(1),
		"", "B", "a", "é", t0, t0.Add(time.Second), nil, true, math.NaN(), missing}
	items := make([]backend.Item, len(vals))
	for i, v := range vals {
		items[i] = item(fmt.Sprintf("i%02d", i), v)
	}
	return items
}

func ids(items []backend.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func seqOf(items []backend.Item, err error) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
		if err != nil {
			yield(backend.Item{}, err)
		}
	}
}

func collectSeq(seq iter.Seq2[backend.Item, error]) ([]backend.Item, error) {
	var out []backend.Item
	for it, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}

func TestSortItems(t *testing.T) {
	want := sortedItems()
	q := backend.Query{OrderBy: path}
	wantDesc := slices.Clone(want[:len(want)-4]) // the Other ranks stay last, by id desc
	slices.Reverse(wantDesc)
	others := slices.Clone(want[len(want)-4:])
	slices.Reverse(others)
	wantDesc = append(wantDesc, others...)
	for seed := range uint64(20) {
		in := slices.Clone(want)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		got, err := collectSeq(backend.SortItems(q, seqOf(in, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
			t.Fatalf("SortItems ascending, seed %d (-want +got):\n%s", seed, diff)
		}
		got, _ = collectSeq(backend.SortItems(backend.Query{OrderBy: path, Desc: true}, seqOf(in, nil)))
		if diff := cmp.Diff(ids(wantDesc), ids(got)); diff != "" {
			t.Fatalf("SortItems descending, seed %d (-want +got):\n%s", seed, diff)
		}
	}
	boom := errors.New("boom")
	got, err := collectSeq(backend.SortItems(q, seqOf(want[:3], boom)))
	if !errors.Is(err, boom) || len(got) != 0 {
		t.Fatalf("SortItems of a failing stream = %d items, %v; want the error and nothing", len(got), err)
	}
	n := 0
	for range backend.SortItems(q, seqOf(want, nil)) {
		if n++; n == 2 {
			break
		}
	}
}

func TestMergeSorted(t *testing.T) {
	all := sortedItems()
	q := backend.Query{OrderBy: path}
	var a, b, c []backend.Item
	for i, it := range all {
		switch i % 3 {
		case 0:
			a = append(a, it)
		case 1:
			b = append(b, it)
		default:
			c = append(c, it)
		}
	}
	t.Run("Merges", func(t *testing.T) {
		got, err := collectSeq(backend.MergeSorted(q, seqOf(a, nil), seqOf(b, nil), seqOf(c, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ids(all), ids(got)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
	t.Run("Desc", func(t *testing.T) {
		qd := backend.Query{OrderBy: path, Desc: true}
		sortDesc := func(s []backend.Item) iter.Seq2[backend.Item, error] {
			return backend.SortItems(qd, seqOf(s, nil))
		}
		got, err := collectSeq(backend.MergeSorted(qd, sortDesc(a), sortDesc(b), sortDesc(c)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := collectSeq(backend.SortItems(qd, seqOf(all, nil)))
		if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
	t.Run("EmptyStreams", func(t *testing.T) {
		got, err := collectSeq(backend.MergeSorted(q, seqOf(nil, nil), seqOf(a, nil), seqOf(nil, nil)))
		if err != nil || !slices.Equal(ids(a), ids(got)) {
			t.Fatalf("got %v, %v; want %v", ids(got), err, ids(a))
		}
		got, err = collectSeq(backend.MergeSorted(q))
		if err != nil || len(got) != 0 {
			t.Fatalf("MergeSorted of nothing = %v, %v", ids(got), err)
		}
	})
	t.Run("One", func(t *testing.T) {
		got, err := collectSeq(backend.MergeSorted(q, seqOf(b, nil)))
		if err != nil || !slices.Equal(ids(b), ids(got)) {
			t.Fatalf("got %v, %v; want %v", ids(got), err, ids(b))
		}
	})
	t.Run("ErrorEnds", func(t *testing.T) {
		boom := errors.New("boom")
		var errs int
		var n int
		for _, err := range backend.MergeSorted(q, seqOf(a, nil), seqOf(b[:2], boom)) {
			if err != nil {
				errs++
				continue
			}
			n++
		}
		if errs != 1 {
			t.Fatalf("the error was yielded %d times, want once", errs)
		}
		if n > len(a)+2 {
			t.Fatalf("%d items yielded", n)
		}
	})
	t.Run("ErrorAtStart", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := collectSeq(backend.MergeSorted(q, seqOf(a, nil), seqOf(nil, boom)))
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
	t.Run("EarlyStopReleasesStreams", func(t *testing.T) {
		var open int
		tracked := func(s []backend.Item) iter.Seq2[backend.Item, error] {
			return func(yield func(backend.Item, error) bool) {
				open++
				defer func() { open-- }()
				for _, it := range s {
					if !yield(it, nil) {
						return
					}
				}
			}
		}
		n := 0
		for range backend.MergeSorted(q, tracked(a), tracked(b), tracked(c)) {
			if n++; n == 3 {
				break
			}
		}
		if open != 0 {
			t.Fatalf("%d streams still open after the consumer stopped", open)
		}
	})
}
