package backend_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
)

var allCmps = []backend.Cmp{backend.Eq, backend.Ne, backend.Lt, backend.Le, backend.Gt, backend.Ge}

// missing stands for a path the document does not have.
type missingValue struct{}

var missing = missingValue{}

// pointThree is 0.1 + 0.2 computed in float64: 0.30000000000000004.
var pointThree = func(a, b float64) float64 { return a + b }(0.1, 0.2)

var t0 = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

func TestMatchEveryCmp(t *testing.T) {
	cases := []struct {
		name   string
		stored any    // missing: the path is absent
		value  any    // the condition's value
		true_  string // the comparisons that hold, space-separated
	}{
		{"IntEqual", int64(3), int64(3), "= <= >="},
		{"IntLess", int64(3), int64(5), "!= < <="},
		{"IntGreater", int64(5), int64(3), "!= > >="},
		{"IntExtremes", int64(math.MaxInt64), int64(math.MaxInt64 - 1), "!= > >="},
		{"IntMin", int64(math.MinInt64), int64(math.MinInt64), "= <= >="},
		{"IntEqualsFloat", int64(3), 3.0, "= <= >="},
		{"FloatEqualsInt", 3.0, int64(3), "= <= >="},
		{"FloatLessThanInt", 2.5, int64(3), "!= < <="},
		{"FloatGreaterThanInt", 3.5, int64(3), "!= > >="},
		{"FloatEqual", pointThree, pointThree, "= <= >="},
		{"FloatNotRounded", pointThree, 0.3, "!= > >="},
		{"NegativeZeroIsZero", math.Copysign(0, -1), 0.0, "= <= >="},
		{"NegativeZeroIsIntZero", math.Copysign(0, -1), int64(0), "= <= >="},
		{"PosInf", math.Inf(1), math.MaxFloat64, "!= > >="},
		{"PosInfEqual", math.Inf(1), math.Inf(1), "= <= >="},
		{"NegInfBelowMinInt", math.Inf(-1), int64(math.MinInt64), "!= < <="},
		{"Subnormal", 5e-324, 0.0, "!= > >="},
		{"StoredNaN", math.NaN(), 1.0, "!="},
		{"StoredNaNVsInt", math.NaN(), int64(1), "!="},
		{"ConditionNaN", 1.0, math.NaN(), "!="},
		{"IntVsConditionNaN", int64(1), math.NaN(), "!="},
		{"NaNVsNaN", math.NaN(), math.NaN(), "!="},
		{"StringEqual", "a", "a", "= <= >="},
		{"StringLess", "a", "b", "!= < <="},
		{"StringByteOrderUpperFirst", "B", "a", "!= < <="},
		{"StringByteOrderAccentAfterZ", "é", "z", "!= > >="},
		{"StringPrefixFirst", "ab", "abc", "!= < <="},
		{"StringDigits", "10", "9", "!= < <="},
		{"StringEmpty", "", "", "= <= >="},
		{"StringQuotes", `it's "x"`, `it's "x"`, "= <= >="},
		{"StringVsInt", "3", int64(3), "!="},
		{"IntVsString", int64(3), "3", "!="},
		{"TimeEqual", t0, t0, "= <= >="},
		{"TimeLess", t0, t0.Add(time.Millisecond), "!= < <="},
		{"TimeGreater", t0, t0.Add(-time.Hour), "!= > >="},
		{"TimeBefore1970", time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), time.UnixMilli(0).UTC(), "!= < <="},
		{"TimeVsString", t0, t0.Format(time.RFC3339Nano), "!="},
		{"StringVsTime", t0.Format(time.RFC3339Nano), t0, "!="},
		{"TimeVsInt", t0, t0.UnixMilli(), "!="},
		{"BoolEqual", true, true, "="},
		{"BoolFalseEqual", false, false, "="},
		{"BoolDiffer", true, false, "!="},
		{"BoolVsInt", true, int64(1), "!="},
		{"IntVsBool", int64(0), false, "!="},
		{"NullEqual", nil, nil, "="},
		{"NullVsFalse", nil, false, "!="},
		{"NullVsZero", nil, int64(0), "!="},
		{"NullVsEmptyString", nil, "", "!="},
		{"ZeroVsNull", int64(0), nil, "!="},
		{"StringVsNull", "x", nil, "!="},
		{"MissingVsInt", missing, int64(1), "!="},
		{"MissingVsNull", missing, nil, "!="},
		{"MissingVsString", missing, "", "!="},
		{"ArrayVsElement", []any{int64(1)}, int64(1), "!="},
		{"ArrayVsNull", []any{}, nil, "!="},
		{"ObjectVsNull", map[string]any{}, nil, "!="},
		{"ObjectVsString", map[string]any{"a": "x"}, "x", "!="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := map[string]any{"other": int64(1)}
			if tc.stored != missing {
				doc["m"] = map[string]any{"v": tc.stored}
			}
			want := strings.Fields(tc.true_)
			for _, c := range allCmps {
				holds := false
				for _, w := range want {
					holds = holds || w == string(c)
				}
				where := []backend.Cond{{Path: []string{"m", "v"}, Cmp: c, Value: tc.value}}
				if got := backend.Match(doc, where); got != holds {
					t.Errorf("%s %s %s = %v, want %v", show(tc.stored), c, show(tc.value), got, holds)
				}
			}
		})
	}
}

func show(v any) string {
	if v == missing {
		return "(missing)"
	}
	return fmt.Sprintf("%#v", v)
}

func TestMatchPaths(t *testing.T) {
	doc := map[string]any{
		"a":      map[string]any{"b": map[string]any{"c": int64(1)}},
		"s":      "scalar",
		"l":      []any{map[string]any{"x": int64(1)}},
		"odd \"": map[string]any{"it's": "yes"},
		"":       "empty key",
	}
	cases := []struct {
		name string
		path []string
		cmp  backend.Cmp
		val  any
		want bool
	}{
		{"Nested", []string{"a", "b", "c"}, backend.Eq, int64(1), true},
		{"NestedNe", []string{"a", "b", "c"}, backend.Ne, int64(1), false},
		{"ThroughScalar", []string{"s", "x"}, backend.Eq, nil, false},
		{"ThroughScalarNe", []string{"s", "x"}, backend.Ne, "x", true},
		{"ThroughArray", []string{"l", "0", "x"}, backend.Eq, int64(1), false},
		{"ObjectItself", []string{"a", "b"}, backend.Ne, int64(1), true},
		{"OddKeys", []string{"odd \"", "it's"}, backend.Eq, "yes", true},
		{"EmptyKey", []string{""}, backend.Eq, "empty key", true},
		{"Missing", []string{"nope"}, backend.Ge, int64(0), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := backend.Match(doc, []backend.Cond{{Path: tc.path, Cmp: tc.cmp, Value: tc.val}})
			if got != tc.want {
				t.Fatalf("Match(%q %s %v) = %v, want %v", tc.path, tc.cmp, tc.val, got, tc.want)
			}
		})
	}
}

func TestMatchConjunction(t *testing.T) {
	doc := map[string]any{"lr": 0.01, "epochs": int64(10), "name": "a"}
	cases := []struct {
		name  string
		where []backend.Cond
		want  bool
	}{
		{"NoConditions", nil, true},
		{"Empty", []backend.Cond{}, true},
		{"AllHold", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Lt, Value: 0.1}, {Path: []string{"epochs"}, Cmp: backend.Eq, Value: 10.0}}, true},
		{"OneFails", []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Lt, Value: 0.1}, {Path: []string{"name"}, Cmp: backend.Eq, Value: "b"}}, false},
		{"Contradiction", []backend.Cond{{Path: []string{"epochs"}, Cmp: backend.Gt, Value: int64(10)}, {Path: []string{"epochs"}, Cmp: backend.Le, Value: int64(10)}}, false},
		{"UnknownCmp", []backend.Cond{{Path: []string{"epochs"}, Cmp: "~", Value: int64(10)}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := backend.Match(doc, tc.where); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
	if !backend.Match(nil, nil) {
		t.Fatal("Match(nil, nil) = false, want true")
	}
	if backend.Match(nil, []backend.Cond{{Path: []string{"a"}, Cmp: backend.Eq, Value: nil}}) {
		t.Fatal("Match of a nil document = true, want false")
	}
}

func TestLookup(t *testing.T) {
	doc := map[string]any{"a": map[string]any{"b": nil}, "s": "x"}
	cases := []struct {
		path   []string
		want   any
		wantOK bool
	}{
		{[]string{"a", "b"}, nil, true},
		{[]string{"s"}, "x", true},
		{[]string{"a", "c"}, nil, false},
		{[]string{"s", "x"}, nil, false},
		{[]string{"a", "b", "c"}, nil, false},
	}
	for _, tc := range cases {
		got, ok := backend.Lookup(doc, tc.path)
		if ok != tc.wantOK || got != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.wantOK)
		}
	}
}
