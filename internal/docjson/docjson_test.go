package docjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// FuzzUnmarshal checks the decoder against encoding/json: both accept the
// same texts, and agree on every value (numbers compared as float64 or
// int64 as the text says).
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1.5,-0.0,"x\n\u00e9\ud83d\ude00"],"c":{"d":null,"e":true}}`,
		`{"a":{"$float":"NaN"}}`, `{"t":{"$time":"2026-01-01T00:00:00.000Z"}}`, `{"a":"\ud800"}`, `{"a":1e400}`,
		`{"a":[[[]]]}`, ` { "a" : 01 } `, `{"a":"\x00"}`, `{"a":1}x`, `{"a":9223372036854775808}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := docjson.UnmarshalValue(data)
		var ref any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		refErr := dec.Decode(&ref)
		if refErr == nil && len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
			refErr = errors.New("trailing data")
		}
		if refErr != nil {
			if err == nil && !strings.Contains(refErr.Error(), "out of range") {
				t.Fatalf("%q: decoder accepted what encoding/json refuses (%v): %v", data, refErr, got)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "tag") || strings.Contains(err.Error(), "range") {
				return // a malformed $tag, or a number beyond float64
			}
			t.Fatalf("%q: encoding/json accepts it, the decoder says %v", data, err)
		}
		want, convErr := fromEncodingJSON(ref)
		if convErr != nil {
			return
		}
		b1, _ := docjson.Marshal(want)
		b2, _ := docjson.Marshal(got)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("%q: decoder %s, encoding/json %s", data, b2, b1)
		}
	})
}

// fromEncodingJSON converts encoding/json's UseNumber output to the value
// model, with tags, as the decoder should produce it.
func fromEncodingJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return docjson.ParseNumber(string(x))
	case []any:
		for i := range x {
			c, err := fromEncodingJSON(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	case map[string]any:
		for k := range x {
			c, err := fromEncodingJSON(x[k])
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		if len(x) == 1 {
			m, err := docjson.Marshal(x)
			if err != nil {
				return nil, err
			}
			return docjson.UnmarshalValue(m)
		}
		return x, nil
	}
	return v, nil
}

// BenchmarkUnmarshal decodes a record of the quickstart's shape (11 KB:
// host facts, two models with parameters and 100 losses each), next to
// encoding/json decoding the same text into interface values.
func BenchmarkUnmarshal(b *testing.B) {
	doc := map[string]any{"host": map[string]any{"hostname": "vm", "num_cpu": int64(2)}, "build": map[string]any{}}
	deps := []any{}
	for i := range 35 {
		deps = append(deps, map[string]any{"path": fmt.Sprintf("github.com/example/module%d", i), "version": "v1.2.3", "sum": "h1:SsKoMO1v1OZmzkG2DY+7ZkCL9U+rrWI09niOLfQ5Bo0="})
	}
	doc["build"].(map[string]any)["deps"] = deps
	for m := range 2 {
		losses := make([]any, 100)
		for i := range losses {
			losses[i] = 1 / float64(i+1)
		}
		doc[fmt.Sprintf("model_%d", m)] = map[string]any{"losses": losses, "label": "model", "color": []any{0.1, 0.2, 0.3}}
	}
	data, err := docjson.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("docjson", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := docjson.Unmarshal(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
