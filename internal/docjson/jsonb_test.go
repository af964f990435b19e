package docjson_test

import (
	"database/sql"
	"math"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
)

// sqliteDB is an in-memory SQLite database: the JSONB of these tests is
// made by SQLite itself, as the SQLite adapter stores documents.
func sqliteDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// jsonbOf returns SQLite's jsonb() of text.
func jsonbOf(t *testing.T, db *sql.DB, text string) []byte {
	t.Helper()
	var b []byte
	if err := db.QueryRow(`SELECT jsonb(?)`, text).Scan(&b); err != nil {
		t.Fatalf("jsonb(%.80q): %v", text, err)
	}
	return b
}

// hostileJSONBDoc holds every awkward value and key the record value
// model allows.
func hostileJSONBDoc() map[string]any {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)
	values := []any{
		math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.0, 5e-324, 2.2250738585072014e-308,
		math.MaxFloat64, -math.MaxFloat64, 0.1 + 0.2, 1e21, 1e-7, 1.0, float64(math.MaxInt64),
		int64(math.MaxInt64), int64(math.MinInt64), int64(1<<53 + 1), int64(0), int64(-1), true, false, nil, t0,
		"", `quote " and backslash \ and \" and \\u0041`, "ctl \x01\x1f\x7f\t\r\n\b\f", "nul \x00 inside",
		"\u2028\u2029", "日本語 🔥", strings.Repeat("x", 70000), "/slash",
		[]any{}, map[string]any{}, []any{[]any{[]any{int64(1)}}},
	}
	doc := map[string]any{"values": values}
	for i, k := range []string{`a"b`, `a\b`, `\"`, "\x01", "a\tb", "\n", "\x7f", "\u2028", "λόγος", "🔥",
		"[0]", "a[#]", "#", "*", " ", "'", "0", "-1", "a$", "%", strings.Repeat("k", 300)} {
		doc[k] = map[string]any{k: values[i%len(values)], "i": int64(i)}
	}
	return doc
}

// TestJSONBMatchesText: a document that SQLite turned into JSONB decodes
// in Go to exactly what its JSON text decodes to, for every hostile value
// and key, through headers of every size (payloads of 0 to 70,000 bytes).
func TestJSONBMatchesText(t *testing.T) {
	db := sqliteDB(t)
	want := hostileJSONBDoc()
	text, err := docjson.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	blob := jsonbOf(t, db, string(text))
	if !docjson.IsJSONBObject(blob) || docjson.IsJSONBObject(text) {
		t.Fatalf("IsJSONBObject: blob %v, text %v; want true, false", docjson.IsJSONBObject(blob), docjson.IsJSONBObject(text))
	}
	for name, decode := range map[string]func([]byte) (map[string]any, error){
		"UnmarshalJSONB": docjson.UnmarshalJSONB, "UnmarshalStored": docjson.UnmarshalStored,
	} {
		got, err := decode(blob)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := backendtest.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if got, err := docjson.UnmarshalStored(text); err != nil || backendtest.Diff(want, got) != "" {
		t.Errorf("UnmarshalStored of the text: %v\n%s", err, backendtest.Diff(want, got))
	}

	// SQLite's own edits (jsonb_set with new keys from a path, jsonb_insert)
	// decode as their rendered text does.
	var edited []byte
	err = db.QueryRow(`SELECT jsonb_insert(jsonb_set(?, '$."new\"key"."a\\b"', json('{"$float":"NaN"}'), '$."x y"', 'raw "text"\'),
		'$.values[#]', json('1.50'))`, blob).Scan(&edited)
	if err != nil {
		t.Fatal(err)
	}
	var rendered string
	if err := db.QueryRow(`SELECT json(?)`, edited).Scan(&rendered); err != nil {
		t.Fatal(err)
	}
	wantEdited, err := docjson.Unmarshal([]byte(rendered))
	if err != nil {
		t.Fatal(err)
	}
	gotEdited, err := docjson.UnmarshalJSONB(edited)
	if err != nil {
		t.Fatal(err)
	}
	if diff := backendtest.Diff(wantEdited, gotEdited); diff != "" {
		t.Errorf("edited by SQLite (-json() text +JSONB):\n%s", diff)
	}
	if v := gotEdited["x y"]; v != `raw "text"\` {
		t.Errorf(`"x y" = %#v; want the raw SQL text`, v)
	}
}

// TestJSONBJSON5: elements SQLite keeps in their JSON5 form (hex integers,
// bare decimal points, single quotes, \x and line-continuation escapes)
// decode to what json() renders them as.
func TestJSONBJSON5(t *testing.T) {
	db := sqliteDB(t)
	for _, in := range []string{
		`{a: 0x1F, b: -0x10, c: +7, d: .5, e: 5., f: +1.5, g: 'it\'s', h: "\x41\v\0", i: "line\
cont", j: 0x7FFFFFFFFFFFFFFF, k: -0x8000000000000000}`,
		`{'single': [1, 2, ], "trailing": {x: 1,},}`,
	} {
		blob := jsonbOf(t, db, in)
		var rendered string
		if err := db.QueryRow(`SELECT json(?)`, blob).Scan(&rendered); err != nil {
			t.Fatal(err)
		}
		want, err := docjson.Unmarshal([]byte(rendered))
		if err != nil {
			t.Fatalf("json() text %s: %v", rendered, err)
		}
		got, err := docjson.UnmarshalJSONB(blob)
		if err != nil {
			t.Fatalf("UnmarshalJSONB of %s: %v", in, err)
		}
		if diff := backendtest.Diff(want, got); diff != "" {
			t.Errorf("%s (-json() text +JSONB):\n%s", in, diff)
		}
	}
}

// TestLookupJSONB: every path of a hostile document finds what SQLite's
// doc -> path finds, and a path that is missing, or runs through a
// scalar, an array or a tagged value, finds nothing there as in SQLite.
func TestLookupJSONB(t *testing.T) {
	db := sqliteDB(t)
	doc := hostileJSONBDoc()
	doc["nested"] = map[string]any{"a": map[string]any{"b": map[string]any{"c": int64(3)}}, "arr": []any{int64(1)}}
	text, err := docjson.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	blob := jsonbOf(t, db, string(text))
	paths := [][]string{{"nested", "a", "b", "c"}, {"nested", "a"}, {"nested", "arr"}, {"nested", "arr", "0"},
		{"nested", "missing"}, {"missing"}, {"values"}, {"values", "0"}, {"nested", "a", "b", "c", "d"}}
	for k := range doc {
		if m, ok := doc[k].(map[string]any); ok {
			paths = append(paths, []string{k, k}, []string{k, "i"})
			for kk := range m {
				paths = append(paths, []string{k, kk, "below"})
			}
		}
	}
	for _, p := range paths {
		var sqlPath strings.Builder
		sqlPath.WriteString("$")
		for _, k := range p {
			enc, _ := docjson.Marshal(k)
			sqlPath.WriteString(".")
			sqlPath.Write(enc)
		}
		var wantText sql.NullString
		if err := db.QueryRow(`SELECT ? -> ?`, blob, sqlPath.String()).Scan(&wantText); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		elem, found, err := docjson.LookupJSONB(blob, p)
		if err != nil {
			t.Fatalf("LookupJSONB %q: %v", p, err)
		}
		if found != wantText.Valid {
			t.Errorf("LookupJSONB %q: found %v; SQLite's -> found %v", p, found, wantText.Valid)
			continue
		}
		if !found {
			continue
		}
		want, err := docjson.UnmarshalValue([]byte(wantText.String))
		if err != nil {
			t.Fatal(err)
		}
		got, err := docjson.UnmarshalJSONBValue(elem)
		if err != nil {
			t.Fatalf("UnmarshalJSONBValue at %q: %v", p, err)
		}
		if diff := backendtest.Diff(want, got); diff != "" {
			t.Errorf("at %q (-SQLite +Go):\n%s", p, diff)
		}
	}
}

// TestLookupJSONBRepeatedKey: a key twice in one object (SQLite stores
// it; record never writes it) is found as SQLite's -> finds it.
func TestLookupJSONBRepeatedKey(t *testing.T) {
	db := sqliteDB(t)
	blob := jsonbOf(t, db, `{"a":1,"b":{"c":2},"a":3,"b":{"c":4}}`)
	for _, p := range []string{"a", "b"} {
		var want string
		if err := db.QueryRow(`SELECT ? -> ?`, blob, "$."+p).Scan(&want); err != nil {
			t.Fatal(err)
		}
		elem, found, err := docjson.LookupJSONB(blob, []string{p})
		if err != nil || !found {
			t.Fatalf("LookupJSONB %s: %v, %v", p, found, err)
		}
		got, err := docjson.UnmarshalJSONBValue(elem)
		if err != nil {
			t.Fatal(err)
		}
		wantV, _ := docjson.UnmarshalValue([]byte(want))
		if diff := backendtest.Diff(wantV, got); diff != "" {
			t.Errorf("%s (-SQLite +Go):\n%s", p, diff)
		}
	}
}

// TestJSONBCorrupt: cut or damaged blobs give errors, never a panic or a
// wrong document taken for a whole one.
func TestJSONBCorrupt(t *testing.T) {
	db := sqliteDB(t)
	text, err := docjson.Marshal(hostileJSONBDoc())
	if err != nil {
		t.Fatal(err)
	}
	blob := jsonbOf(t, db, string(text))
	for n := range len(blob) {
		if n%97 != 0 && n > 64 {
			continue
		}
		if _, err := docjson.UnmarshalJSONB(blob[:n]); err == nil {
			t.Fatalf("UnmarshalJSONB of the first %d of %d bytes: no error", n, len(blob))
		}
	}
	for _, bad := range [][]byte{
		{0x0d},                   // reserved type
		{0xcc, 0x05, 0x17},       // payload overruns
		{0xfc, 0, 0, 0},          // 8-byte size cut short
		{0x2c, 0x13, 0x37},       // object label that is a number
		{0x3b, 0x10, 0x10, 0x10}, // literal with a payload
		{0x1c, 0x08},             // object with a label and no value
		{0x2c, 0x18, '\\'},       // escape cut short
		{0x0c, 0x00},             // data after the value
	} {
		if v, err := docjson.UnmarshalJSONBValue(bad); err == nil {
			t.Errorf("UnmarshalJSONBValue(% x) = %#v; want an error", bad, v)
		}
	}
	// Damage every byte of a small document in turn: errors or values,
	// never a panic.
	small := jsonbOf(t, db, `{"a":[1,2.5,"x\"y",{"$float":"NaN"}],"b":{"c":null}}`)
	for i := range small {
		for _, x := range []byte{0x00, 0xff, 0x0f, 0xf0} {
			damaged := append([]byte(nil), small...)
			damaged[i] ^= x
			_, _ = docjson.UnmarshalJSONBValue(damaged)
			_, _, _ = docjson.LookupJSONB(damaged, []string{"a"})
		}
	}
}

// FuzzJSONB: any bytes decode or fail without panicking, and a value that
// decodes re-encodes to text that SQLite turns into JSONB decoding the same.
func FuzzJSONB(f *testing.F) {
	f.Add([]byte{0x0c})
	f.Add([]byte{0x5c, 0x17, 'a', 0x13, '1'})
	f.Add([]byte{0xcc, 0x02, 0x17, 'a', 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = docjson.UnmarshalJSONBValue(data)
		_, _, _ = docjson.LookupJSONB(data, []string{"a", "b"})
	})
}

// BenchmarkUnmarshalJSONB decodes a record with host facts stored as
// JSONB beside Unmarshal of its JSON text.
func BenchmarkUnmarshalJSONB(b *testing.B) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	doc := hostileJSONBDoc()
	delete(doc, "values")
	text, err := docjson.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	var blob []byte
	if err := db.QueryRow(`SELECT jsonb(?)`, string(text)).Scan(&blob); err != nil {
		b.Fatal(err)
	}
	b.Run("jsonb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := docjson.UnmarshalJSONB(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := docjson.Unmarshal(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}
