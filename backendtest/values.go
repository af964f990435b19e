package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
	"github.com/recordlab/go-record/record"
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
	s.testKeys(t)
}

// keyCases are keys that every backend must hold, as they are: every
// printable ASCII punctuation character alone (except '.', and '$', which
// may not lead a key) and inside and at the end of a word, every control
// character but NUL alone and inside a word, white space alone, leading
// and trailing, Unicode, quotes and backslashes together, lookalikes of
// the escapes an adapter may use to store keys, and keys of 1000 bytes.
func keyCases() []string {
	var keys []string
	for c := byte('!'); c <= '~'; c++ {
		if c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '.' {
			continue
		}
		if c != '$' {
			keys = append(keys, string(c))
		}
		keys = append(keys, "a"+string(c)+"b", "word"+string(c))
	}
	for c := byte(1); c < 0x20; c++ {
		keys = append(keys, string(c), "a"+string(c)+"b")
	}
	keys = append(keys, "\x7f", "a\x7fb",
		" ", "  ", " lead", "trail ", " both ", "in side", "\t", " \t\n",
		"λόγος", "日本語", "🔥", "👩🏽‍🔬", "\u00a0", "a\u00a0b", "\u2028", "a\u2028b", "\u3000", "a\u0085b", "\ufeff",
		`both\"`, `"\`, `\\`, `""`, `\u0041`, `\x00`, `'); drop table records; --`,
		"%22", "%", "_22", "␛", "␛0022", "a␛0022b", "\\\"␛005C", "＼",
		strings.Repeat("k", 1000), strings.Repeat(`"\`, 500), " "+strings.Repeat("x", 998)+" ",
		strings.Repeat("日", 333)+"k",
	)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// testKeys checks that every key of keyCases round-trips through every
// operation that names keys: Insert and Get, Merge at paths through them,
// List with conditions, orders and projections on them, Collections, and
// package record (Set, Get, Export, Import).
func (s *suite) testKeys(t *testing.T) {
	keys := keyCases()
	t.Run("KeysInsert", func(t *testing.T) {
		b := s.backend(t)
		doc := map[string]any{}
		nested := map[string]any{}
		for i, k := range keys {
			doc[k] = int64(i)
			nested[k] = map[string]any{k: []any{k, map[string]any{k: float64(i)}}}
		}
		doc["nested"] = nested
		mustInsert(t, b, coll, "keys", doc)
		wantDoc(t, b, coll, "keys", doc)
		// One record per key, alone in its document.
		for i, k := range keys {
			id := fmt.Sprintf("k%03d", i)
			mustInsert(t, b, coll, id, map[string]any{k: k})
			wantDoc(t, b, coll, id, map[string]any{k: k})
		}
		wantCollections(t, b)
	})
	t.Run("KeysMerge", func(t *testing.T) {
		b := s.backend(t)
		ctx := t.Context()
		mustInsert(t, b, coll, "m", map[string]any{})
		want := map[string]any{}
		n := map[string]any{}
		// A few keys per Merge (FerretDB reads the document for each).
		const perMerge = 8
		for g := 0; g < len(keys); g += perMerge {
			var ops []backend.Op
			for i := g; i < min(g+perMerge, len(keys)); i++ {
				k := keys[i]
				ops = append(ops, set(int64(i), k), set(k, "n", k, k), push([]any{int64(i), k}, "l", k))
				want[k] = int64(i)
				n[k] = map[string]any{k: k}
			}
			if err := b.Merge(ctx, coll, "m", ops); err != nil {
				t.Fatalf("Merge Set and Append at %q: %v", keys[g:min(g+perMerge, len(keys))], err)
			}
		}
		l := map[string]any{}
		for i, k := range keys {
			l[k] = []any{int64(i), k}
		}
		want["n"], want["l"] = n, l
		wantDoc(t, b, coll, "m", want)
		// Set over existing values at those paths, Unset half of them.
		var ops []backend.Op
		for i, k := range keys {
			if i%2 == 0 {
				ops = append(ops, unset(k), unset("n", k, k), unset("l", k))
				delete(want, k)
				n[k] = map[string]any{}
				delete(l, k)
			} else {
				ops = append(ops, set(true, "n", k, k))
				n[k] = map[string]any{k: true}
			}
		}
		if err := b.Merge(ctx, coll, "m", ops); err != nil {
			t.Fatalf("Merge Unset and Set: %v", err)
		}
		wantDoc(t, b, coll, "m", want)
		wantCollections(t, b)
	})
	t.Run("KeysList", func(t *testing.T) {
		b, l := s.lister(t)
		// Keys in groups, a collection each, to keep documents small.
		const records, group = 4, 24
		var colls []string
		for g := 0; g < len(keys); g += group {
			ks := keys[g:min(g+group, len(keys))]
			coll := fmt.Sprintf("keys-%03d", g)
			colls = append(colls, coll)
			c := corpus{}
			for j := range records {
				n := map[string]any{}
				for i, k := range ks {
					n[k] = int64((i + j) % records)
				}
				c[fmt.Sprintf("r%d", j)] = map[string]any{"n": n}
			}
			for i, k := range ks {
				c[fmt.Sprintf("r%d", i%records)][k] = k
			}
			c.insert(t, b, coll)
			listKeys(t, b, l, coll, c, ks)
		}
		got, err := l.Collections(t.Context())
		if err != nil {
			t.Fatalf("Collections: %v", err)
		}
		if !slices.Equal(got, colls) {
			t.Fatalf("Collections = %q, want %q", got, colls)
		}
	})
	t.Run("KeysRecord", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		r, err := st.Create(ctx, coll, record.WithoutHost())
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		// Set at every fourth key, the others in one UpdateAt; every
		// key at the top level in one Update.
		want := map[string]any{}
		p := map[string]any{}
		for i, k := range keys {
			if i%4 == 0 {
				if err := r.Set(ctx, "p."+k, int64(i)); err != nil {
					t.Fatalf("Set(p.%q): %v", k, err)
				}
			} else {
				p[k] = int64(i)
			}
			want[k] = k
		}
		if err := r.UpdateAt(ctx, "p", p); err != nil {
			t.Fatalf("UpdateAt(p): %v", err)
		}
		if err := r.Update(ctx, want); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if err := r.Append(ctx, "p."+keys[1], "x"); err == nil {
			t.Fatalf("Append to the number at p.%q succeeded", keys[1])
		}
		if err := r.Close(ctx, nil); err != nil {
			t.Fatalf("Close: %v", err)
		}
		snap, err := st.Get(ctx, coll, r.ID())
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		got := snap.Doc()
		p, _ = got["p"].(map[string]any)
		if len(p) != len(keys) {
			t.Fatalf("Get: p holds %d keys, want %d", len(p), len(keys))
		}
		for i, k := range keys {
			if d := Diff(int64(i), p[k]); d != "" {
				t.Fatalf("Get: p.%q: %s", k, d)
			}
			if d := Diff(want[k], got[k]); d != "" {
				t.Fatalf("Get: %q: %s", k, d)
			}
		}
		if _, err := st.Collections(ctx); err != nil {
			t.Fatalf("Collections: %v", err)
		}
		var buf bytes.Buffer
		if n, err := st.Export(ctx, coll, &buf); err != nil || n != 1 {
			t.Fatalf("Export = %d, %v; want 1 record", n, err)
		}
		const other = "keys-copy"
		if _, err := st.Import(ctx, other, bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("Import: %v", err)
		}
		snap2, err := st.Get(ctx, other, r.ID())
		if err != nil {
			t.Fatalf("Get the imported record: %v", err)
		}
		got2 := snap2.Doc()
		got["collection"] = other
		if d := Diff(got, got2); d != "" {
			t.Fatalf("imported record (-exported +imported):\n%s", d)
		}
		colls, err := st.Collections(ctx)
		if err != nil {
			t.Fatalf("Collections: %v", err)
		}
		if !slices.Equal(colls, []string{coll, other}) && !slices.Equal(colls, []string{other, coll}) {
			t.Fatalf("Collections = %q, want %q and %q", colls, coll, other)
		}
		// Copy to a fresh store of the same backend.
		dst := s.store(t)
		if _, err := record.Copy(ctx, st, dst, coll); err != nil {
			t.Fatalf("Copy: %v", err)
		}
		snap3, err := dst.Get(ctx, coll, r.ID())
		if err != nil {
			t.Fatalf("Get the copied record: %v", err)
		}
		got["collection"] = coll
		if d := Diff(got, snap3.Doc()); d != "" {
			t.Fatalf("copied record (-source +copy):\n%s", d)
		}
	})
}

// wantCollections checks that a Lister's Collections answers [coll].
func wantCollections(t *testing.T, b backend.Backend) {
	t.Helper()
	l, ok := b.(backend.Lister)
	if !ok {
		return
	}
	colls, err := l.Collections(t.Context())
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	if !slices.Equal(colls, []string{coll}) {
		t.Fatalf("Collections = %q, want [%q]", colls, coll)
	}
}

// listKeys runs Lists with conditions, orders, projections and
// omissions at each of keys over the corpus c stored in coll.
func listKeys(t *testing.T, b backend.Backend, l backend.Lister, coll string, c corpus, keys []string) {
	t.Helper()
	ctx := t.Context()
	for i, k := range keys {
		ordered := backend.Query{Where: []backend.Cond{{Path: []string{"n", k}, Cmp: backend.Ge, Value: int64(1)}}, OrderBy: []string{"n", k}}
		if i%2 == 1 {
			ordered.Fields, ordered.Desc, ordered.Limit = [][]string{{k}}, true, 2
			ordered = withQueryPaths(ordered)
		}
		qs := []backend.Query{
			{Where: []backend.Cond{{Path: []string{k}, Cmp: backend.Eq, Value: k}}},
			ordered,
		}
		if b, ok := b.(backend.Indexer); ok && i%8 == 0 {
			if err := b.Index(ctx, coll, []string{"n", k}); err != nil {
				t.Fatalf("Index(n.%q): %v", k, err)
			}
		}
		for _, q := range qs {
			got := listChecked(ctx, t, l, coll, q, c)
			if want := c.want(q); !slices.Equal(got, want) {
				t.Fatalf("List %s = %q, want %q", describe(q), got, want)
			}
		}
		// Omit: the backend may leave the omitted paths out; the
		// rest is exact.
		omit := []backend.Op{unset(k), unset("n", k)}
		q := backend.Query{Omit: [][]string{{k}, {"n", k}}, Where: []backend.Cond{{Path: []string{"n", k}, Cmp: backend.Lt, Value: 2.0}}}
		var got []string
		for it, err := range l.List(ctx, coll, q) {
			if err != nil {
				t.Fatalf("List with Omit %q: %v", k, err)
			}
			stored := docops.CopyDoc(c[it.ID])
			if !backend.Match(stored, q.Where) {
				continue
			}
			got = append(got, it.ID)
			listed := docops.CopyDoc(it.Doc)
			if err := errors.Join(docops.Apply(stored, omit), docops.Apply(listed, omit)); err != nil {
				t.Fatalf("Unset omitted paths: %v", err)
			}
			if d := Diff(stored, listed); d != "" {
				t.Fatalf("List with Omit %q: record %s (-stored +listed):\n%s", k, it.ID, d)
			}
		}
		if want := c.want(q); !slices.Equal(got, want) {
			t.Fatalf("List with Omit %q = %q, want %q", k, got, want)
		}
	}
}
