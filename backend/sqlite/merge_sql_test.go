package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/docops"
)

// mergeKeys are keys that SQLite's JSON path syntax treats specially or
// that JSON must escape; each must be reached through a quoted path.
var mergeKeys = []string{
	`a"b`, `a\b`, `\"`, `"\`, `""`, `\u0041`, `\\`, "\x01", "a\tb", "\n", "\x7f", "\u2028", "a\u2029b",
	"λόγος", "🔥", "[0]", "a[#]", "#", "*", " ", "a b", "'", "0", "-1", "a$", "%", "a)b", "a,b",
}

// mergeValues are the hostile values every path gets: the tagged forms
// and numbers whose text must survive SQLite's JSON functions exactly.
func mergeValues() []any {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)
	return []any{
		math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.0, 5e-324, 2.2250738585072014e-308,
		math.MaxFloat64, -math.MaxFloat64, 0.1 + 0.2, 1e21, 1e-7, math.Pi, float64(math.MaxInt64),
		int64(math.MaxInt64), int64(math.MinInt64), int64(1<<53 + 1), int64(0), true, false, nil, t0,
		"", `quote " and backslash \ and \" and \\u0041`, "ctl \x01\x1f\x7f\t\r\n", "nul \x00 inside", "\u2028\u2029",
		"日本語 🔥", strings.Repeat("x", 5000),
		[]any{math.NaN(), int64(-1), "s", nil, []any{}, map[string]any{}},
		map[string]any{`k"`: math.Inf(-1), `k\`: t0, "nested": map[string]any{"z": math.Copysign(0, -1)}},
	}
}

func openMerge(t *testing.T) (*sqlite.Backend, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "records.db")
	b, err := sqlite.Open(t.Context(), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, path
}

// mergeBase is a document holding every merge key at the top and under
// "obj", with a tagged value, a time, a string, an array and null beside.
func mergeBase() map[string]any {
	obj := map[string]any{}
	doc := map[string]any{"obj": obj, "nan": math.NaN(), "negzero": math.Copysign(0, -1), "when": time.Unix(5, 0).UTC(),
		"nul": "a\x00b", "str": "s", "arr": []any{int64(1)}, "null": nil, "int": int64(math.MinInt64)}
	for i, k := range mergeKeys {
		doc[k] = int64(i)
		obj[k] = map[string]any{k: float64(i) / 3}
	}
	return doc
}

// mergeInSQL runs ops through the SQL statement only and checks that it
// did the work and that the stored document equals what docops makes of
// the same ops in Go.
func mergeInSQL(t *testing.T, b *sqlite.Backend, want map[string]any, ops []backend.Op) {
	t.Helper()
	if err := docops.Apply(want, ops); err != nil {
		t.Fatalf("reference: %v", err)
	}
	done, err := sqlite.MergeInSQL(t.Context(), b, "c", "r", ops)
	if err != nil || !done {
		t.Fatalf("merge in SQL of %v: done %v, %v; want done", mergeOpsText(ops), done, err)
	}
	got, err := b.Get(t.Context(), "c", "r")
	if err != nil {
		t.Fatal(err)
	}
	if d := backendtest.Diff(want, got); d != "" {
		t.Fatalf("after %v (-want +got):\n%s", mergeOpsText(ops), d)
	}
}

func mergeOpsText(ops []backend.Op) string {
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %q", op.Kind, op.Path))
	}
	if len(parts) > 4 {
		parts = append(parts[:4], fmt.Sprintf("... (%d ops)", len(parts)))
	}
	return strings.Join(parts, ", ")
}

// TestMergeSQLExact checks that Set, Append and Unset run as one SQL
// statement at paths through every hostile key, with every hostile value,
// and leave exactly what the Go reference (docops) leaves.
func TestMergeSQLExact(t *testing.T) {
	b, _ := openMerge(t)
	want := mergeBase()
	if err := b.Insert(t.Context(), "c", "r", docops.CopyDoc(want)); err != nil {
		t.Fatal(err)
	}
	values := mergeValues()
	for i, k := range mergeKeys {
		v := values[i%len(values)]
		// Overwrite an existing key, create one under new parents, set
		// inside an existing object, append to a new and an existing array.
		mergeInSQL(t, b, want, []backend.Op{{Kind: backend.Set, Path: []string{k}, Value: v}})
		mergeInSQL(t, b, want, []backend.Op{{Kind: backend.Set, Path: []string{"new", k, k}, Value: v}})
		mergeInSQL(t, b, want, []backend.Op{{Kind: backend.Set, Path: []string{"obj", k, "x"}, Value: v}})
		mergeInSQL(t, b, want, []backend.Op{{Kind: backend.Append, Path: []string{"lists", k}, Value: []any{v, k}}})
		mergeInSQL(t, b, want, []backend.Op{{Kind: backend.Append, Path: []string{"lists", k}, Value: []any{v}}})
	}
	for _, v := range values {
		mergeInSQL(t, b, want, []backend.Op{
			{Kind: backend.Set, Path: []string{"v"}, Value: v},
			{Kind: backend.Append, Path: []string{"arr"}, Value: []any{v}},
		})
	}
	for _, k := range mergeKeys {
		mergeInSQL(t, b, want, []backend.Op{
			{Kind: backend.Unset, Path: []string{k}},
			{Kind: backend.Unset, Path: []string{"obj", k, k}},
			{Kind: backend.Unset, Path: []string{"missing", k}},
		})
	}
}

// TestMergeSQLManyOps checks statements longer than one SQL function call
// takes (127 arguments): hundreds of Sets, Appended elements and Unsets in
// one Merge, all applied.
func TestMergeSQLManyOps(t *testing.T) {
	b, _ := openMerge(t)
	want := map[string]any{}
	for i := range 300 {
		want[fmt.Sprintf("old%03d", i)] = int64(i)
	}
	if err := b.Insert(t.Context(), "c", "r", docops.CopyDoc(want)); err != nil {
		t.Fatal(err)
	}
	var ops []backend.Op
	var elems []any
	for i := range 300 {
		ops = append(ops,
			backend.Op{Kind: backend.Set, Path: []string{"p", fmt.Sprintf("k%03d", i)}, Value: float64(i) / 7},
			backend.Op{Kind: backend.Unset, Path: []string{fmt.Sprintf("old%03d", i)}})
		elems = append(elems, math.Inf(1-2*(i%2)), int64(i))
	}
	ops = append(ops, backend.Op{Kind: backend.Append, Path: []string{"l"}, Value: elems})
	mergeInSQL(t, b, want, ops)
}

// TestMergeConflictChangesNothing checks each conflict: the SQL statement
// matches no row (the document's text and updated_at stay as they were),
// and Merge then reports ErrInvalid; an absent record is ErrNotFound.
func TestMergeConflictChangesNothing(t *testing.T) {
	b, path := openMerge(t)
	if err := b.Insert(t.Context(), "c", "r", mergeBase()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stored := func() (doc string, updated int64) {
		t.Helper()
		if err := raw.QueryRowContext(t.Context(), `SELECT json(doc), updated_at FROM records WHERE collection = 'c' AND id = 'r'`).Scan(&doc, &updated); err != nil {
			t.Fatal(err)
		}
		return doc, updated
	}
	ok := backend.Op{Kind: backend.Set, Path: []string{"fine", "x"}, Value: int64(1)}
	for _, op := range []backend.Op{
		{Kind: backend.Set, Path: []string{"nan", "x"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"negzero", "x"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"when", "x", "y"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"nul", "x"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"str", "x"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"arr", "0"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"null", "x"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"int", "x"}, Value: int64(1)},
		{Kind: backend.Set, Path: []string{"obj", `a"b`, `a"b`, "deeper"}, Value: int64(1)},
		{Kind: backend.Append, Path: []string{"str"}, Value: []any{int64(1)}},
		{Kind: backend.Append, Path: []string{"obj"}, Value: []any{int64(1)}},
		{Kind: backend.Append, Path: []string{"nan"}, Value: []any{int64(1)}},
		{Kind: backend.Append, Path: []string{"null"}, Value: []any{}},
		{Kind: backend.Append, Path: []string{"when", "x"}, Value: []any{int64(1)}},
		{Kind: backend.Unset, Path: []string{"nan", "$float"}},
		{Kind: backend.Unset, Path: []string{"arr", "0"}},
	} {
		before, at := stored()
		ops := []backend.Op{ok, op}
		done, err := sqlite.MergeInSQL(t.Context(), b, "c", "r", ops)
		if err != nil || done {
			t.Errorf("merge in SQL of %v: done %v, %v; want not done", mergeOpsText(ops), done, err)
		}
		err = b.Merge(t.Context(), "c", "r", ops)
		if !errors.Is(err, backend.ErrInvalid) || !strings.Contains(err.Error(), strings.Join(op.Path, ".")) {
			t.Errorf("Merge of %v: %v, want ErrInvalid naming the path", mergeOpsText(ops), err)
		}
		if after, at2 := stored(); after != before || at2 != at {
			t.Errorf("Merge of %v changed the document:\n%s\n%s", mergeOpsText(ops), before, after)
		}
	}
	before, _ := stored()
	if err := b.Merge(t.Context(), "c", "r", nil); err != nil {
		t.Errorf("Merge of no ops: %v", err)
	}
	if err := b.Merge(t.Context(), "c", "absent", nil); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Merge of no ops into an absent record: %v, want ErrNotFound", err)
	}
	if got, err := b.Get(t.Context(), "c", "r"); err != nil || backendtest.Diff(mustDecode(t, before), got) != "" {
		t.Errorf("Merge of no ops changed the document: %v\n%s", err, backendtest.Diff(mustDecode(t, before), got))
	}
	done, err := sqlite.MergeInSQL(t.Context(), b, "c", "absent", []backend.Op{ok})
	if err != nil || done {
		t.Errorf("merge in SQL of an absent record: done %v, %v", done, err)
	}
	if err := b.Merge(t.Context(), "c", "absent", []backend.Op{ok}); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Merge of an absent record: %v, want ErrNotFound", err)
	}
}

// TestMergeStoredNumberText checks that the SQL merge keeps the stored
// text of numbers it does not touch, and writes new ones as docjson does.
func TestMergeStoredNumberText(t *testing.T) {
	b, path := openMerge(t)
	doc := map[string]any{"f": 0.1 + 0.2, "big": 1e21, "i": int64(math.MaxInt64), "one": 1.0}
	if err := b.Insert(t.Context(), "c", "r", doc); err != nil {
		t.Fatal(err)
	}
	if err := b.Merge(t.Context(), "c", "r", []backend.Op{{Kind: backend.Set, Path: []string{"n", "x"}, Value: 5e-324}}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var text string
	if err := raw.QueryRowContext(t.Context(), `SELECT json(doc) FROM records`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{0.1 + 0.2, 1e21, int64(math.MaxInt64), 1.0, 5e-324} {
		enc, _ := docjson.Marshal(v)
		if !strings.Contains(text, ":"+string(enc)) {
			t.Errorf("stored %s lacks %s", text, enc)
		}
	}
}

func mustDecode(t *testing.T, text string) map[string]any {
	t.Helper()
	doc, err := docjson.Unmarshal([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
