package backendtest

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
)

// valueCases are the values every backend must round-trip exactly, as
// stored (already normalized) values.
func valueCases() []struct {
	name string
	v    any
} {
	deep := any("bottom")
	for i := range 63 {
		deep = map[string]any{"k" + string(rune('a'+i%26)): deep}
	}
	deepArr := any(int64(1))
	for range 63 {
		deepArr = []any{deepArr}
	}
	return []struct {
		name string
		v    any
	}{
		{"IntTen", int64(10)},
		{"FloatTen", 10.0},
		{"FloatOne", 1.0},
		{"IntZero", int64(0)},
		{"FloatZero", 0.0},
		{"NegativeZero", math.Copysign(0, -1)},
		{"IntMax", int64(math.MaxInt64)},
		{"IntMin", int64(math.MinInt64)},
		{"IntBeyondFloat", int64(1<<53 + 1)},
		{"NaN", math.NaN()},
		{"PosInf", math.Inf(1)},
		{"NegInf", math.Inf(-1)},
		{"SmallestSubnormal", 5e-324},
		{"MaxFloat", 1.7976931348623157e308},
		{"NegMaxFloat", -1.7976931348623157e308},
		{"SmallestNormal", 2.2250738585072014e-308},
		{"PointThree", 0.1 + 0.2},
		{"BigFloat", 1e21},
		{"TinyFloat", 1e-7},
		{"Pi", math.Pi},
		{"FloatOfMaxInt", float64(math.MaxInt64)},
		{"True", true},
		{"False", false},
		{"Null", nil},
		{"EmptyString", ""},
		{"Unicode", "λόγος 日本語 Ελληνικά"},
		{"Emoji", "🧪🔥👩🏽‍🔬"},
		{"ControlChars", "tab\tnewline\nreturn\rbell\x07del\x7f"},
		{"QuotesAndBackslashes", `"quoted" \back\slash\ 'single' \u0041`},
		{"NULInString", "a\x00b"},
		{"LineSeparators", "a\u2028b\u2029c"},
		{"LongString", strings.Repeat("0123456789", 100000)},
		{"TimeUTC", time.Date(2026, 11, 25, 10, 30, 0, 123_000_000, time.UTC)},
		{"TimeEpoch", time.UnixMilli(0).UTC()},
		{"TimeBefore1970", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		{"TimeFarFuture", time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
		{"EmptyMap", map[string]any{}},
		{"EmptyArray", []any{}},
		{"NullsInArray", []any{nil, int64(1), nil, 2.0, nil}},
		{"MixedArray", []any{int64(1), 1.0, "1", true, nil, []any{}, map[string]any{}, time.UnixMilli(1).UTC(), math.NaN()}},
		{"NestedArrays", []any{[]any{int64(1), int64(2)}, []any{int64(3)}, []any{}}},
		{"ArrayOfObjects", []any{map[string]any{"a": int64(1)}, map[string]any{"b": []any{2.5}}}},
		{"Matrix", []any{[]any{0.1, 0.2, 0.3}, []any{0.4, 0.5, 0.6}}},
		{"SpecialFloatsInArray", []any{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324}},
		{"OddKeys", map[string]any{
			"'); drop table records; --": int64(1), `a"b`: int64(2), `back\slash`: int64(3),
			"with space": int64(4), "日本": int64(5), "🔥": int64(6), "_id": int64(7), "a$b": int64(8),
			"0": int64(9), "-": int64(10), "x[0]": int64(11), "tab\tkey": int64(12),
		}},
		{"TagLookalikes", map[string]any{"float": "NaN", "time": "2026-01-01T00:00:00.000Z", "string": "YQ=="}},
		{"Deep64", deep},
		{"DeepArrays64", deepArr},
	}
}

func (s *suite) testValues(t *testing.T) {
	for _, tc := range valueCases() {
		t.Run(tc.name, func(t *testing.T) {
			b := s.backend(t)
			ctx := t.Context()
			// Insert: the value inside a new document.
			doc := map[string]any{"v": tc.v, "nested": map[string]any{"v": tc.v}}
			mustInsert(t, b, coll, "ins", doc)
			wantDoc(t, b, coll, "ins", map[string]any{"v": tc.v, "nested": map[string]any{"v": tc.v}})
			// Merge Set: over a scalar, and into a new parent.
			mustInsert(t, b, coll, "set", map[string]any{"v": int64(0)})
			if err := b.Merge(ctx, coll, "set", []backend.Op{set(tc.v, "v"), set(tc.v, "p", "q", "v")}); err != nil {
				t.Fatalf("Merge Set: %v", err)
			}
			wantDoc(t, b, coll, "set", map[string]any{"v": tc.v, "p": map[string]any{"q": map[string]any{"v": tc.v}}})
			// Merge Append: as an element of an array.
			mustInsert(t, b, coll, "app", map[string]any{"l": []any{"first"}})
			if err := b.Merge(ctx, coll, "app", []backend.Op{push([]any{tc.v, tc.v}, "l")}); err != nil {
				t.Fatalf("Merge Append: %v", err)
			}
			wantDoc(t, b, coll, "app", map[string]any{"l": []any{"first", tc.v, tc.v}})
		})
	}
}
