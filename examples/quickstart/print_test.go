package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/recordlab/go-record/record"
)

// TestPrintRecordHostile prints a record holding hostile values and checks
// that the output is JSON holding exactly what Snapshot.MarshalJSON holds
// (numbers by their exact text, NaN and infinities as tagged objects),
// with the run's own fields before the ones the library manages.
func TestPrintRecordHostile(t *testing.T) {
	ctx := t.Context()
	st, err := record.Open(ctx, "mem://print-hostile")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "hostile")
	if err != nil {
		t.Fatal(err)
	}
	hostile := map[string]any{
		"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1),
		"max": math.MaxFloat64, "nmax": -math.MaxFloat64, "tiny": 5e-324, "negzero": math.Copysign(0, -1),
		"int": int64(math.MaxInt64), "float_int": 10.0,
		"quotes":              `say "hi" it's`,
		"slashes":             `C:\path\n not a newline \\`,
		"control":             "a\x00b\x01c\td\ne\x1f\x7f",
		"html":                "<b>&amp;</b>",
		"unicode":             "loss ↓ 😀 \u2028",
		`key "quoted" \ back`: true,
		"nested":              map[string]any{"losses": []any{math.NaN(), 1.5, math.Inf(-1)}, "empty": map[string]any{}, "none": []any{}, "null": nil},
		"matrix":              [][]float64{{1, 2}, {math.Inf(1), -0.5}},
	}
	if err := rec.Update(ctx, hostile); err != nil {
		t.Fatal(err)
	}
	if err := rec.Set(ctx, "bad", "\xff\xfe"); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("invalid UTF-8: %v, want ErrInvalid", err)
	}
	rec.Log(0, record.Metrics{"loss": math.NaN()})
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Get(ctx, "hostile", rec.ID())
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := printRecord(&out, snap); err != nil {
		t.Fatal(err)
	}
	raw, err := snap.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, want := decodeNumbers(t, out.Bytes()), decodeNumbers(t, raw)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("printed record differs from MarshalJSON:\n%s\nwant %s", out.Bytes(), raw)
	}
	for _, s := range []string{`"nan": {"$float": "NaN"}`, `"negzero": {"$float": "-0"}`, `"float_int": 10.0`, `"html": "<b>&amp;</b>"`,
		`"losses": [{"$float": "NaN"}, 1.5, {"$float": "-Inf"}]`, `"quotes": "say \"hi\" it's"`} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("printed record lacks %s:\n%s", s, out.Bytes())
		}
	}
	text := out.String()
	if i, j := strings.Index(text, `"quotes"`), strings.Index(text, `"status"`); i < 0 || j < 0 || i > j {
		t.Errorf("the run's fields do not come before the managed ones:\n%s", text)
	}
}

// decodeNumbers decodes JSON keeping numbers as their text.
func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}
