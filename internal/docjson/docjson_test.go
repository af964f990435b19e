package docjson_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
)

func TestRoundTrip(t *testing.T) {
	doc := map[string]any{
		"int": int64(10), "float": 10.0, "max": int64(math.MaxInt64), "min": int64(math.MinInt64),
		"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1), "nzero": math.Copysign(0, -1),
		"sub": 5e-324, "big": math.MaxFloat64, "e21": 1e21, "third": 1.0 / 3,
		"t":   time.Date(2026, 11, 25, 1, 2, 3, 4_000_000, time.UTC),
		"nul": "a\x00b", "ctl": "\x01\x1f\x7f\u2028", "uni": "日本🔥", "arr": []any{nil, true, false, []any{}},
		"obj": map[string]any{"": map[string]any{}, `"`: "\\"},
	}
	b, err := docjson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %s", b)
	}
	got, err := docjson.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := backendtest.Diff(doc, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
}

func TestNaturalForm(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{int64(10), `10`},
		{10.0, `10.0`},
		{1e21, `1000000000000000000000.0`},
		{1e-7, `0.0000001`},
		{math.NaN(), `{"$float":"NaN"}`},
		{math.Copysign(0, -1), `{"$float":"-0"}`},
		{time.UnixMilli(1).UTC(), `{"$time":"1970-01-01T00:00:00.001Z"}`},
		{map[string]any{"b": int64(1), "a": "x"}, `{"a":"x","b":1}`},
	} {
		b, err := docjson.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.v, b, err, tc.want)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, bad := range []string{`[1]`, `{"a":`, `{"a":{"$float":"nope"}}`, `{"a":{"$time":"yesterday"}}`, `{"a":{"$string":"!!"}}`} {
		if _, err := docjson.Unmarshal([]byte(bad)); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
	if _, err := docjson.Marshal(map[string]any{"c": make(chan int)}); err == nil {
		t.Error("Marshal of a channel succeeded")
	}
}

func FuzzFloatRoundTrip(f *testing.F) {
	for _, v := range []float64{0, 1, 0.1, 1e21, 5e-324, math.MaxFloat64, -2.5e-300} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		b, err := docjson.Marshal(map[string]any{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(string(b), "eE") && !math.IsNaN(v) && !math.IsInf(v, 0) {
			t.Fatalf("exponent in %s", b)
		}
		got, err := docjson.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := got["v"].(float64)
		if !ok || math.Float64bits(g) != bits && !(math.IsNaN(v) && math.IsNaN(g)) {
			t.Fatalf("%v (%x) came back as %v (%T)", v, bits, got["v"], got["v"])
		}
	})
}
