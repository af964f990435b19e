package sqlite_test

import (
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
)

// values holds one value of every kind that List must compare, order and
// decode exactly, with the neighbours where a rounding would show.
func values() []any {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return []any{
		nil, true, false,
		int64(0), int64(-1), int64(1), int64(10), int64(1<<53 + 1), int64(1 << 53), int64(1<<53 - 1), int64(math.MaxInt64), int64(math.MinInt64),
		int64(math.MaxInt64 - 1),
		0.0, math.Copysign(0, -1), 1.5, 10.0, 9007199254740992.0, 9007199254740994.0, 5e-324, -5e-324, math.Inf(1), math.Inf(-1), math.NaN(),
		math.MaxFloat64, -math.MaxFloat64, 0.1, 0.30000000000000004, 0.3, 1e21, 1e-7, 0x1p63, -0x1p63,
		"", "a", "b", "ab", "a\x00", "a\x00b", "\x00", "é", "10", "Z", "\u2028", `{"$float":"NaN"}`, `{"$time":"2026-11-25T10:00:00.000Z"}`,
		t0, t0.Add(time.Millisecond), t0.Add(-time.Millisecond), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), time.UnixMilli(0).UTC(),
		[]any{int64(1)}, []any{}, map[string]any{"v": int64(1)}, map[string]any{},
	}
}

// listDocs inserts documents holding each value at v, at n.v and (for
// some) under keys SQL paths cannot name, and returns them by id.
func listDocs(t *testing.T, b *sqlite.Backend, coll string) map[string]map[string]any {
	t.Helper()
	docs := map[string]map[string]any{}
	add := func(d map[string]any) {
		id := fmt.Sprintf("%04d", len(docs))
		d["other"] = strings.Repeat("x", len(docs)%7)
		docs[id] = d
		if err := b.Insert(t.Context(), coll, id, d); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range values() {
		add(map[string]any{"v": v})
		add(map[string]any{"n": map[string]any{"v": v}})
		if i%4 == 0 {
			add(map[string]any{`we"ird`: v, `back\slash`: v})
		}
	}
	// Ties: the same value in several documents.
	for range 3 {
		add(map[string]any{"v": int64(1), "n": map[string]any{"v": "a"}})
		add(map[string]any{"v": 1.0, "n": map[string]any{"v": math.Copysign(0, -1)}})
	}
	add(map[string]any{})
	add(map[string]any{"n": int64(1)})
	add(map[string]any{"n": []any{map[string]any{"v": int64(1)}}})
	return docs
}

// collect gathers what List yields the way package record does: it
// applies Match and stops at Limit. It fails t if the stream is not in
// q's order, even before Match.
func collect(t *testing.T, b *sqlite.Backend, coll string, q backend.Query) []string {
	t.Helper()
	ids := []string{}
	var prev *backend.Item
	for it, err := range b.List(t.Context(), coll, q) {
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		if prev != nil && !backend.Less(q, *prev, it) {
			t.Fatalf("List(%+v) yielded %s (%v) after %s (%v)", q, it.ID, it.Doc, prev.ID, prev.Doc)
		}
		prev = &it
		if !backend.Match(it.Doc, q.Where) {
			continue
		}
		ids = append(ids, it.ID)
		if q.Limit > 0 && len(ids) == q.Limit {
			break
		}
	}
	return ids
}

// want is what List must yield for q over docs: Match, Less, Limit.
func want(docs map[string]map[string]any, q backend.Query) []string {
	var items []backend.Item
	for id, d := range docs {
		if backend.Match(d, q.Where) && q.Follows(id) {
			items = append(items, backend.Item{ID: id, Doc: d})
		}
	}
	slices.SortFunc(items, func(a, b backend.Item) int {
		if backend.Less(q, a, b) {
			return -1
		}
		return 1
	})
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
		if q.Limit > 0 && len(ids) == q.Limit {
			break
		}
	}
	return ids
}

// TestListMatchesMatch: whatever List pushes down to SQL, its answer equals
// backend.Match's over every pair of stored value and condition value, and
// a Limit applied in SQL never cuts a match.
func TestListMatchesMatch(t *testing.T) {
	b := open(t, tempDSN(t))
	docs := listDocs(t, b, "c")
	conds := []any{}
	for _, v := range values() {
		switch v.(type) {
		case []any, map[string]any:
			continue
		}
		conds = append(conds, v)
	}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	conds = append(conds, t0.Add(500*time.Microsecond), float64(1<<53+2), int64(1<<53+2), 9007199254740993.0, int64(1<<53+3))
	paths := [][]string{{"v"}, {"n", "v"}, {`we"ird`}, {`back\slash`}, {"missing"}}
	cmps := []backend.Cmp{backend.Eq, backend.Ne, backend.Lt, backend.Le, backend.Gt, backend.Ge}
	run := func(t *testing.T) {
		n, pushed := 0, 0
		for pi, p := range paths {
			for ci, cv := range conds {
				if pi >= 2 && ci%4 != 0 {
					continue // keys that are never pushed down, and missing paths: a sample is enough
				}
				for _, c := range cmps {
					q := backend.Query{Where: []backend.Cond{{Path: p, Cmp: c, Value: cv}}}
					all := want(docs, q)
					if diff := cmp.Diff(all, collect(t, b, "c", q)); diff != "" {
						t.Errorf("List(%s %s %#v) ids (-want +got):\n%s", strings.Join(p, "."), c, cv, diff)
					}
					for _, limit := range []int{1, len(all)/2 + 1} {
						q.Limit = limit
						if sqlite.PushedLimit(t.Context(), b, "c", q) {
							pushed++
						}
						if diff := cmp.Diff(want(docs, q), collect(t, b, "c", q)); diff != "" {
							t.Errorf("List(%s %s %#v) Limit %d ids (-want +got):\n%s", strings.Join(p, "."), c, cv, limit, diff)
						}
					}
					n++
				}
			}
		}
		t.Logf("%d conditions over %d documents; Limit pushed down in %d of %d", n, len(docs), pushed, 2*n)
	}
	t.Run("NoIndex", run)
	for _, p := range paths {
		if err := b.Index(t.Context(), "c", p); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Indexed", run)

	// Several conditions and a limit.
	q := backend.Query{Where: []backend.Cond{{Path: []string{"v"}, Cmp: backend.Ge, Value: int64(0)}, {Path: []string{"v"}, Cmp: backend.Lt, Value: 11.0}}, Limit: 3}
	if diff := cmp.Diff(want(docs, q), collect(t, b, "c", q)); diff != "" {
		t.Errorf("List with two conditions and Limit 3 (-want +got):\n%s", diff)
	}
	if !sqlite.PushedLimit(t.Context(), b, "c", q) {
		t.Errorf("two numeric conditions: Limit not pushed down")
	}
	if ids := collect(t, b, "missing", backend.Query{}); len(ids) != 0 {
		t.Errorf("List(missing) = %q; want nothing", ids)
	}
}

// TestListOrder: List yields in backend.Less's order for every kind of
// value, with and without an index, Fields, conditions and limits.
func TestListOrder(t *testing.T) {
	b := open(t, tempDSN(t))
	docs := listDocs(t, b, "c")
	paths := [][]string{{"v"}, {"n", "v"}, {`we"ird`}, {"missing"}, {"n"}}
	wheres := [][]backend.Cond{
		nil,
		{{Path: []string{"other"}, Cmp: backend.Ne, Value: "x"}},                    // not pushed down
		{{Path: []string{"other"}, Cmp: backend.Eq, Value: "xx"}},                   // exact
		{{Path: []string{"v"}, Cmp: backend.Ge, Value: int64(1)}},                   // exact, on an ordered path
		{{Path: []string{"n", "v"}, Cmp: backend.Lt, Value: "b"}},                   // a superset
		{{Path: []string{"v"}, Cmp: backend.Ne, Value: nil}},                        // not pushed down
		{{Path: []string{"v"}, Cmp: backend.Eq, Value: 1.0}},                        // exact
		{{Path: []string{"v"}, Cmp: backend.Le, Value: time.UnixMilli(0).UTC()}},    // a superset
		{{Path: []string{"n", "v"}, Cmp: backend.Gt, Value: math.Inf(-1)}},          // exact
		{{Path: []string{"n", "v"}, Cmp: backend.Eq, Value: int64(1)}},              // exact
		{{Path: []string{"n", "v"}, Cmp: backend.Eq, Value: int64(math.MaxInt64)}},  // exact
		{{Path: []string{"v"}, Cmp: backend.Gt, Value: float64(math.MaxInt64 - 1)}}, // exact
		{{Path: []string{"v"}, Cmp: backend.Lt, Value: int64(math.MinInt64)}},       // exact
		{{Path: []string{"v"}, Cmp: backend.Le, Value: -0x1p63}},                    // exact
		{{Path: []string{"v"}, Cmp: backend.Ge, Value: float64(1<<53 + 2)}},         // exact
		{{Path: []string{"v"}, Cmp: backend.Eq, Value: "a"}},                        // exact
		{{Path: []string{"other"}, Cmp: backend.Gt, Value: ""}, {Path: []string{"v"}, Cmp: backend.Lt, Value: 0.5}},
	}
	run := func(t *testing.T) {
		for _, p := range paths {
			for _, desc := range []bool{false, true} {
				for wi, where := range wheres {
					for _, limit := range []int{0, 7} {
						for fi, fields := range [][][]string{nil, {{"other"}}, {}} {
							if fi > 0 && wi%4 != 0 {
								continue // projections: a sample of the conditions is enough
							}
							q := backend.Query{OrderBy: p, Desc: desc, Where: where, Limit: limit, Fields: fields}
							if fi == 1 { // as package record asks
								q.Fields = append(q.Fields, p)
							}
							for _, c := range where {
								if q.Fields != nil {
									q.Fields = append(q.Fields, c.Path)
								}
							}
							if diff := cmp.Diff(want(docs, q), collect(t, b, "c", q)); diff != "" {
								t.Fatalf("List OrderBy %q Desc %v where #%d Limit %d Fields %v (-want +got):\n%s", p, desc, wi, limit, fields, diff)
							}
							if wi == 0 && limit == 0 {
								checkFields(t, b, docs, q)
							}
						}
					}
				}
			}
		}
	}
	t.Run("NoIndex", run)
	for _, p := range paths {
		if err := b.Index(t.Context(), "c", p); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Indexed", run)
}

// checkFields fails t unless every document List yields holds, at each
// path of q.Fields and q.OrderBy, exactly the stored value.
func checkFields(t *testing.T, b *sqlite.Backend, docs map[string]map[string]any, q backend.Query) {
	t.Helper()
	for it, err := range b.List(t.Context(), "c", q) {
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(slices.Clip(q.Fields), q.OrderBy) {
			want, wok := backend.Lookup(docs[it.ID], f)
			got, gok := backend.Lookup(it.Doc, f)
			if wok != gok || backendtest.Diff(map[string]any{"v": want}, map[string]any{"v": got}) != "" {
				t.Fatalf("List(%+v): %s at %q = %#v (%v), want %#v (%v)", q, it.ID, f, got, gok, want, wok)
			}
		}
	}
}

// TestListOrderRandom: many random documents, ordered by a path that holds
// mostly numbers, close together, through an index and without.
func TestListOrderRandom(t *testing.T) {
	b := open(t, tempDSN(t))
	r := rand.New(rand.NewPCG(1, 2))
	pool := values()
	docs := map[string]map[string]any{}
	for i := range 2000 {
		var v any
		switch r.IntN(6) {
		case 0:
			v = pool[r.IntN(len(pool))]
		case 1:
			v = int64(1<<53) + r.Int64N(8) - 4
		case 2:
			v = float64(1<<53) + float64(r.Int64N(8)-4)
		case 3:
			v = math.Float64frombits(r.Uint64())
		default:
			v = r.NormFloat64()
		}
		id := strconv.FormatUint(r.Uint64(), 36)
		docs[id] = map[string]any{"m": map[string]any{"loss": v}, "k": int64(i % 3)}
		if err := b.Insert(t.Context(), "c", id, docs[id]); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T) {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{0, 20} {
				for _, where := range [][]backend.Cond{nil, {{Path: []string{"k"}, Cmp: backend.Eq, Value: int64(1)}}} {
					q := backend.Query{OrderBy: []string{"m", "loss"}, Desc: desc, Limit: limit, Where: where}
					if diff := cmp.Diff(want(docs, q), collect(t, b, "c", q)); diff != "" {
						t.Fatalf("Desc %v Limit %d where %v (-want +got):\n%s", desc, limit, where, diff)
					}
				}
			}
		}
	}
	t.Run("NoIndex", check)
	if err := b.Index(t.Context(), "c", []string{"m", "loss"}); err != nil {
		t.Fatal(err)
	}
	t.Run("Indexed", check)
}

// TestListEarlyStop: stopping a listing early releases its cursor, so
// the database can be closed and a write checkpoint is not held back.
func TestListEarlyStop(t *testing.T) {
	b := open(t, tempDSN(t))
	for i := range 100 {
		if err := b.Insert(t.Context(), "c", fmt.Sprintf("%03d", i), map[string]any{"v": int64(i % 10), "s": "\x00"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Index(t.Context(), "c", []string{"v"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []backend.Query{{}, {OrderBy: []string{"v"}}, {OrderBy: []string{"s"}}, {OrderBy: []string{"v"}, Desc: true, Limit: 5}} {
		for range 50 { // more than any pool would hold open
			for range b.List(t.Context(), "c", q) {
				break
			}
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close after stopped listings: %v", err)
	}
}

// TestListIndexPlan: with an index, OrderBy with a Limit, and conditions on
// the indexed path, are index range scans that SQLite does not sort.
func TestListIndexPlan(t *testing.T) {
	ctx := t.Context()
	b := open(t, tempDSN(t))
	path := []string{"metrics", "it's", "min"}
	for i := range 200 {
		doc := map[string]any{"metrics": map[string]any{"it's": map[string]any{"min": float64(i) / 3}}, "status": "completed"}
		if err := b.Insert(ctx, "c", fmt.Sprintf("%03d", i), doc); err != nil {
			t.Fatal(err)
		}
	}
	q := backend.Query{OrderBy: path, Limit: 20}
	before, err := sqlite.ListPlan(ctx, b, "c", q)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := b.Index(ctx, "c", path); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    backend.Query
		want string
	}{
		{"OrderBy", q, "USING INDEX records_ix_"},
		{"OrderByDesc", backend.Query{OrderBy: path, Desc: true, Limit: 20}, "USING INDEX records_ix_"},
		{"Where", backend.Query{Where: []backend.Cond{{Path: path, Cmp: backend.Lt, Value: 3.0}}}, "USING INDEX records_ix_"},
		{"OrderByWhere", backend.Query{OrderBy: path, Limit: 20, Where: []backend.Cond{{Path: []string{"status"}, Cmp: backend.Eq, Value: "completed"}}}, "USING INDEX records_ix_"},
	} {
		plan, err := sqlite.ListPlan(ctx, b, "c", tc.q)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "; ")
		if !strings.Contains(text, tc.want) || tc.q.OrderBy != nil && strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s: plan %q; want %s and no sort (without index: %q)", tc.name, text, tc.want, before)
		}
		if tc.q.Limit > 0 && !sqlite.PushedLimit(ctx, b, "c", tc.q) {
			t.Errorf("%s: Limit not pushed down", tc.name)
		}
	}
	got := collect(t, b, "c", q)
	if len(got) != 20 || got[0] != "000" || got[19] != "019" {
		t.Errorf("top 20 = %q", got)
	}
}

// TestIndexConcurrent: Index from several backends on one file at once
// creates one index.
func TestIndexConcurrent(t *testing.T) {
	dsn := tempDSN(t)
	errs := make(chan error)
	for range 4 {
		go func() {
			b, err := sqlite.Open(t.Context(), dsn)
			if err == nil {
				err = b.Index(t.Context(), "c", []string{"a", "b"})
				b.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	db := rawDB(t, strings.TrimPrefix(dsn, "sqlite://"))
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'records_ix_%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d indexes, %v; want 1", n, err)
	}
	b := open(t, dsn)
	if err := b.Index(t.Context(), "c", []string{`we"ird`}); err != nil {
		t.Errorf("Index on a path SQL cannot name: %v, want nil (no index)", err)
	}
}

// TestFields: a projection holds exactly the values docjson gives for
// the fields a document has, and nothing else.
func TestFields(t *testing.T) {
	b := open(t, tempDSN(t))
	t0 := time.UnixMilli(1764064800123).UTC()
	doc := map[string]any{
		"i": int64(10), "f": 10.0, "big": int64(math.MaxInt64), "nan": math.NaN(), "inf": math.Inf(-1), "negz": math.Copysign(0, -1),
		"t": t0, "s": "a\x00b", "u": "é\u2028\"\\", "null": nil, "b": true,
		"m":    map[string]any{"x": []any{int64(1), 2.5, map[string]any{"y": t0}}, "z": map[string]any{}},
		"host": map[string]any{"facts": strings.Repeat("h", 5000)},
	}
	if err := b.Insert(t.Context(), "c", "1", doc); err != nil {
		t.Fatal(err)
	}
	all := [][]string{{"i"}, {"f"}, {"big"}, {"nan"}, {"inf"}, {"negz"}, {"t"}, {"s"}, {"u"}, {"null"}, {"b"}, {"m", "x"}, {"m", "z"}, {"m"}, {"missing"}, {"i", "through"}}
	sets := [][][]string{all, {}}
	for _, f := range all {
		sets = append(sets, [][]string{f})
	}
	for _, fields := range sets {
		items, err := list(t.Context(), b, "c", backend.Query{Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		wantDoc := map[string]any{}
		for _, f := range fields {
			if v, ok := backend.Lookup(doc, f); ok {
				backend.SetAt(wantDoc, f, v)
			}
		}
		if diff := backendtest.Diff(wantDoc, items[0].Doc); diff != "" {
			t.Errorf("Fields %q (-want +got):\n%s", fields, diff)
		}
	}
	// A key SQL cannot name: the whole document, which holds the field.
	if err := b.Insert(t.Context(), "c", "2", map[string]any{`we"ird`: int64(1), "x": "y"}); err != nil {
		t.Fatal(err)
	}
	items, err := list(t.Context(), b, "c", backend.Query{Fields: [][]string{{`we"ird`}}, After: "1"})
	if err != nil || len(items) != 1 || items[0].Doc[`we"ird`] != int64(1) {
		t.Errorf("Fields with an unusual key = %v, %v", items, err)
	}
}

// TestFloatText: SQLite reads every JSON float docjson writes as the
// float64 Go wrote, which exact pushdown and ordering rely on.
func TestFloatText(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.PrepareContext(t.Context(), `SELECT json_extract(?, '$')`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(3, 4))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		f := math.Float64frombits(r.Uint64())
		switch i % 4 {
		case 1:
			f = r.NormFloat64()
		case 2:
			f = float64(r.Int64N(1<<60)) / 1024
		case 3:
			f = math.Nextafter(float64(r.Int64N(1<<54)), math.Inf(1))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
			continue
		}
		text := docjson.AppendFloat(nil, f)
		var got float64
		if err := st.QueryRowContext(t.Context(), string(text)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != f {
			t.Fatalf("SQLite reads %s as %v (%x), Go wrote %v (%x)", text, got, math.Float64bits(got), f, math.Float64bits(f))
		}
	}
}
