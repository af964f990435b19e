package postgres_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/backendtest"
)

// listAll returns what List yields, as it yields it: no Match, no Limit.
func listAll(t testing.TB, l backend.Lister, coll string, q backend.Query) []backend.Item {
	t.Helper()
	items := []backend.Item{}
	for it, err := range l.List(context.Background(), coll, q) {
		if err != nil {
			t.Fatalf("List(%s, %+v): %v", coll, q, err)
		}
		items = append(items, it)
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

// readAll collects every point ReadSeries yields.
func readAll(t testing.TB, b backend.SeriesStore, coll, id, name string) []backend.Point {
	t.Helper()
	var pts []backend.Point
	for batch, err := range b.ReadSeries(context.Background(), coll, id, name) {
		if err != nil {
			t.Fatalf("ReadSeries(%s, %s, %s): %v", coll, id, name, err)
		}
		pts = append(pts, batch...)
	}
	return pts
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// edgeValues are values at one path that stress the order and the
// conditions: numbers around 2^53 and 2^63 as ints and floats, tagged
// floats, strings with NUL and non-ASCII bytes, times, and values of no
// rank.
var edgeValues = []any{
	int64(0), int64(1), int64(-1), int64(10), 10.0, 0.5, -0.5, 0.1, math.Copysign(0, -1), 0.0,
	int64(1 << 53), int64(1<<53 + 1), int64(-(1<<53 + 1)), float64(1 << 53), float64(1<<53 + 2),
	int64(math.MaxInt64), int64(math.MaxInt64 - 1), int64(math.MinInt64), float64(math.MaxInt64), -float64(math.MaxInt64),
	9223372036854774784.0, int64(9223372036854774785), 1e300, -1e300, 5e-324, math.MaxFloat64,
	math.NaN(), math.Inf(1), math.Inf(-1),
	"", "a", "b", "ab", "a\x00", "a\x00b", "é", "Z", "10", "\x7f", "\u2028",
	t0, t0.Add(time.Millisecond), t0.Add(-time.Hour), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
	true, false, nil, []any{int64(1)}, []any{}, map[string]any{"k": int64(1)}, map[string]any{},
}

// insertEdges stores each edge value twice (for ties) at path, and one
// record without it, and returns the documents by id.
func insertEdges(t *testing.T, b backend.Backend, coll string, path []string) map[string]map[string]any {
	t.Helper()
	docs := map[string]map[string]any{"0-missing": {"other": int64(1)}, "missing": {"other": int64(2)}}
	for i, v := range edgeValues {
		for _, suffix := range []string{"a", "b"} {
			doc := map[string]any{"i": int64(i)}
			m := doc
			for _, k := range path[:len(path)-1] {
				m[k] = map[string]any{}
				m = m[k].(map[string]any)
			}
			m[path[len(path)-1]] = v
			// "b" ids sort before "a" ids of the same value in reverse.
			docs[fmt.Sprintf("%02d%s", len(edgeValues)-i, suffix)] = doc
		}
	}
	for id, doc := range docs {
		mustInsert(t, b, coll, id, doc)
	}
	return docs
}

func items(docs map[string]map[string]any) []backend.Item {
	var out []backend.Item
	for id, doc := range docs {
		out = append(out, backend.Item{ID: id, Doc: doc})
	}
	return out
}

// want returns the ids backend.Less orders first, applying Match and Limit
// as package record does.
func want(q backend.Query, docs map[string]map[string]any) []string {
	all := slices.Values(items(docs))
	got := []string{}
	for it, err := range backend.SortItems(q, func(yield func(backend.Item, error) bool) {
		for it := range all {
			if !yield(it, nil) {
				return
			}
		}
	}) {
		if err != nil {
			panic(err)
		}
		if backend.Match(it.Doc, q.Where) && q.Follows(it.ID) {
			got = append(got, it.ID)
			if q.Limit > 0 && len(got) == q.Limit {
				break
			}
		}
	}
	return got
}

// matched applies Match and Limit to what List yields, as record does.
func matched(q backend.Query, items []backend.Item) []string {
	out := []string{}
	for _, it := range items {
		if backend.Match(it.Doc, q.Where) {
			out = append(out, it.ID)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
	}
	return out
}

// TestListOrderBy: OrderBy yields backend.Less's order exactly, whatever
// the values, in both directions, with and without the index and a limit.
func TestListOrderBy(t *testing.T) {
	b := open(t)
	path := []string{"m", "loss"}
	docs := insertEdges(t, b, "c", path)
	mustInsert(t, b, "other", "x", map[string]any{"m": map[string]any{"loss": int64(-5)}})
	for _, indexed := range []bool{false, true} {
		if indexed {
			if err := b.Index(t.Context(), "c", path); err != nil {
				t.Fatal(err)
			}
		}
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{0, 1, 2, 5, 25, 60, 200} {
				q := backend.Query{OrderBy: path, Desc: desc, Limit: limit}
				got := listAll(t, b, "c", q)
				if limit > 0 && len(got) > limit {
					t.Errorf("indexed=%v desc=%v limit=%d: %d items, want at most the limit (every condition is pushed down)", indexed, desc, limit, len(got))
				}
				if diff := cmp.Diff(want(q, docs), matched(q, got)); diff != "" {
					t.Fatalf("indexed=%v desc=%v limit=%d: order (-want +got):\n%s", indexed, desc, limit, diff)
				}
			}
		}
	}
	// With a condition and a projection, still in order and projected.
	q := backend.Query{OrderBy: path, Desc: true, Limit: 7, Fields: [][]string{path},
		Where: []backend.Cond{{Path: path, Cmp: backend.Gt, Value: int64(-1)}}}
	got := listAll(t, b, "c", q)
	if diff := cmp.Diff(want(q, docs), matched(q, got)); diff != "" {
		t.Fatalf("where + order + fields (-want +got):\n%s", diff)
	}
	for _, it := range got {
		v, _ := backend.Lookup(docs[it.ID], path)
		if diff := backendtest.Diff(map[string]any{"m": map[string]any{"loss": v}}, it.Doc); diff != "" {
			t.Errorf("projected document of %s (-want +got):\n%s", it.ID, diff)
		}
	}
}

// condValues are the values of the conditions TestListWhere tries.
var condValues = []any{
	int64(0), int64(1), int64(10), int64(-1), int64(1 << 53), int64(1<<53 + 1), int64(math.MaxInt64), int64(math.MinInt64),
	int64(9223372036854774785), 0.0, math.Copysign(0, -1), 0.5, 10.0, 0.1, float64(1 << 53), float64(math.MaxInt64), 1e300,
	math.NaN(), math.Inf(1), math.Inf(-1),
	"", "a", "a\x00", "ab", "é", "10",
	t0, t0.Add(time.Millisecond), t0.Add(time.Microsecond), t0.Add(-time.Nanosecond), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	true, false, nil,
}

// TestListWhere: every condition with a number, string, bool, null or
// time is evaluated by the server exactly as backend.Match does, so List
// yields exactly the records that match, and a Limit is honoured.
func TestListWhere(t *testing.T) {
	b := open(t)
	path := []string{"v"}
	docs := insertEdges(t, b, "c", path)
	docs2 := map[string]map[string]any{
		"arr":     {"v": []any{int64(5)}, "w": map[string]any{"0": int64(5)}},
		"scalar":  {"v": int64(5), "w": int64(5)},
		"objectv": {"v": map[string]any{"0": int64(5)}},
	}
	for id, doc := range docs2 {
		mustInsert(t, b, "c", id, doc)
		docs[id] = doc
	}
	cmps := []backend.Cmp{backend.Eq, backend.Ne, backend.Lt, backend.Le, backend.Gt, backend.Ge}
	for _, v := range condValues {
		for _, c := range cmps {
			for _, p := range [][]string{path, {"v", "0"}} {
				q := backend.Query{Where: []backend.Cond{{Path: p, Cmp: c, Value: v}}}
				got := ids(listAll(t, b, "c", q))
				if diff := cmp.Diff(want(q, docs), got); diff != "" {
					t.Errorf("where %s %s %#v: List yields (-match +got):\n%s", strings.Join(p, "."), c, v, diff)
				}
			}
		}
	}
	// Conditions together, with a limit and newest first.
	q := backend.Query{Desc: true, Limit: 3, Where: []backend.Cond{
		{Path: path, Cmp: backend.Ge, Value: int64(0)}, {Path: path, Cmp: backend.Lt, Value: 1e300}, {Path: []string{"i"}, Cmp: backend.Ne, Value: 2.0}}}
	got := listAll(t, b, "c", q)
	if diff := cmp.Diff(want(q, docs), ids(got)); diff != "" {
		t.Errorf("conjunction with limit (-want +got):\n%s", diff)
	}
}

// TestListPlans: with the index of Index, OrderBy with a Limit reads the
// index and stops at the limit; a condition on a number with newest first
// and a limit stops there too.
func TestListPlans(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	path := []string{"metrics", "loss", "min"}
	var rows [][]any
	for i := range 3000 {
		doc := fmt.Sprintf(`{"metrics": {"loss": {"min": %d.5, "last": 1.0}}, "host": {"pad": %q}}`, i*7919%3000, strings.Repeat("x", 200))
		rows = append(rows, []any{"c", fmt.Sprintf("r%05d", i), doc})
	}
	if _, err := b.Pool().CopyFrom(ctx, tableIdentifier(b.Table()), []string{"collection", "id", "doc"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if err := b.Index(ctx, "c", path); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Pool().Exec(ctx, "analyze "+b.Table()); err != nil {
		t.Fatal(err)
	}
	// explain returns the plans of List's queries for q.
	explain := func(q backend.Query) []string {
		sqls, args := b.ListSQL("c", q)
		var plans []string
		for i, sql := range sqls {
			rows, err := b.Pool().Query(ctx, "explain (analyze, costs off, timing off, summary off) "+sql, args[i]...)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			plans = append(plans, strings.Join(lines, "\n"))
		}
		return plans
	}
	indexed := func(plan string) bool {
		return strings.Contains(plan, b.IndexName(path)) && !strings.Contains(plan, "Seq Scan") && !strings.Contains(plan, "Sort")
	}
	for _, desc := range []bool{false, true} {
		plans := explain(backend.Query{OrderBy: path, Desc: desc, Limit: 20})
		numbers := plans[0]
		if desc {
			numbers = plans[1] // after strings and times
		}
		if !indexed(numbers) || !strings.Contains(numbers, "Limit (actual rows=20") {
			t.Errorf("OrderBy desc=%v with Limit 20 does not read the index in order and stop:\n%s", desc, numbers)
		}
		for _, plan := range plans {
			if !strings.Contains(plan, b.IndexName(path)) || strings.Contains(plan, "Seq Scan") {
				t.Errorf("OrderBy desc=%v: a query does not use the index:\n%s", desc, plan)
			}
		}
	}
	plans := explain(backend.Query{Desc: true, Limit: 20, Where: []backend.Cond{{Path: path, Cmp: backend.Lt, Value: 1500.0}}})
	if len(plans) != 1 || !strings.Contains(plans[0], "Limit (actual rows=20") || strings.Contains(plans[0], "Seq Scan") {
		t.Errorf("a condition on a number, newest first, Limit 20 does not stop at 20:\n%s", plans)
	}
	plans = explain(backend.Query{OrderBy: path, Limit: 20, Where: []backend.Cond{{Path: path, Cmp: backend.Gt, Value: int64(1000)}}})
	if !indexed(plans[0]) || !strings.Contains(plans[0], "Index Cond") || !strings.Contains(plans[0], "Limit (actual rows=20") {
		t.Errorf("a range on the indexed path with OrderBy is not an index range:\n%s", plans[0])
	}
}

// TestIndex: Index is idempotent, safe to call from many Backends at once,
// and its name is fixed by the path.
func TestIndex(t *testing.T) {
	dsn := newDSN(t)
	path := []string{"metrics", `a'b\c"d`, "min"}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	bs := make([]*postgres.Backend, len(errs))
	for i := range bs {
		b, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		bs[i] = b
	}
	mustInsert(t, bs[0], "c", "1", map[string]any{"metrics": map[string]any{`a'b\c"d`: map[string]any{"min": 0.5}}})
	for i, b := range bs {
		wg.Go(func() { errs[i] = b.Index(t.Context(), "c", path) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bs[0].Index(t.Context(), "c", path); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := server.admin.QueryRow(t.Context(), `select count(*) from pg_indexes where tablename = $1 and indexname = $2`,
		strings.Split(strings.ReplaceAll(bs[0].Table(), `"`, ""), ".")[1], bs[0].IndexName(path)).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d indexes named %s, %v; want 1", n, bs[0].IndexName(path), err)
	}
	if got := listAll(t, bs[0], "c", backend.Query{OrderBy: path, Limit: 1}); len(got) != 1 {
		t.Errorf("List after Index = %v", got)
	}
}

// TestHostileKeys: keys that would break SQL text are data in Index,
// OrderBy, Where and Fields, and paths through arrays find nothing, as
// backend.Lookup says.
func TestHostileKeys(t *testing.T) {
	b := open(t)
	keys := []string{`'); drop table records; --`, `a"b`, `\`, `\'`, `{a,b}`, `0`, "naïve 🚀", `$1`, `a b`}
	docs := map[string]map[string]any{}
	for i, k := range keys {
		docs[fmt.Sprint(i)] = map[string]any{k: map[string]any{k: int64(len(keys) - i)}}
	}
	docs["arr"] = map[string]any{"0": []any{int64(100)}}
	for id, doc := range docs {
		mustInsert(t, b, "c", id, doc)
	}
	for _, k := range keys {
		path := []string{k, k}
		if err := b.Index(t.Context(), "c", path); err != nil {
			t.Fatalf("Index %q: %v", path, err)
		}
		for _, q := range []backend.Query{
			{OrderBy: path, Limit: 2, Fields: [][]string{path}},
			{OrderBy: path, Desc: true, Where: []backend.Cond{{Path: path, Cmp: backend.Ge, Value: int64(1)}}},
			{Where: []backend.Cond{{Path: path, Cmp: backend.Ne, Value: int64(1)}}, Fields: [][]string{path, {k}}},
		} {
			got := listAll(t, b, "c", q)
			if diff := cmp.Diff(want(q, docs), matched(q, got)); diff != "" {
				t.Errorf("%+v (-want +got):\n%s", q, diff)
			}
			for _, it := range got {
				if diff := backendtest.Diff(project(docs[it.ID], q.Fields), it.Doc); diff != "" {
					t.Errorf("%+v: document of %s (-want +got):\n%s", q, it.ID, diff)
				}
			}
		}
	}
	// "0.0" in a path does not index the array at "0".
	q := backend.Query{Where: []backend.Cond{{Path: []string{"0", "0"}, Cmp: backend.Eq, Value: int64(100)}}, Fields: [][]string{{"0", "0"}}}
	if got := listAll(t, b, "c", q); len(matched(q, got)) != 0 {
		t.Errorf("a path through an array matched: %v", got)
	}
	var n int
	if err := b.Pool().QueryRow(t.Context(), `select count(*) from `+b.Table()).Scan(&n); err != nil || n != len(docs) {
		t.Errorf("table after hostile keys: %d rows, %v", n, err)
	}
}

// TestFields: a projection yields exactly the values at the paths, with
// the types a whole document has.
func TestFields(t *testing.T) {
	b := open(t)
	doc := map[string]any{
		"a":    map[string]any{"b": map[string]any{"c": int64(1), "d": 1.0}, "e": "x"},
		"n":    int64(10),
		"f":    10.0,
		"nan":  math.NaN(),
		"t":    t0,
		"nul":  "a\x00b",
		"arr":  []any{int64(1), map[string]any{"x": true}},
		"null": nil,
		"host": map[string]any{"cpu": strings.Repeat("x", 5000)},
	}
	mustInsert(t, b, "c", "1", doc)
	for _, tc := range []struct {
		fields [][]string
		want   map[string]any
	}{
		{[][]string{{"a", "b", "c"}, {"n"}, {"f"}}, map[string]any{"a": map[string]any{"b": map[string]any{"c": int64(1)}}, "n": int64(10), "f": 10.0}},
		{[][]string{{"a", "b", "c"}, {"a"}}, map[string]any{"a": doc["a"]}},
		{[][]string{{"nan"}, {"t"}, {"nul"}, {"arr"}, {"null"}}, map[string]any{"nan": math.NaN(), "t": t0, "nul": "a\x00b", "arr": doc["arr"], "null": nil}},
		{[][]string{{"missing"}, {"n", "x"}, {"arr", "0"}, {"t", "x"}}, map[string]any{}},
		{[][]string{}, map[string]any{}},
		{[][]string{{"a", "e"}, {"a", "b", "d"}, {"a", "e"}}, map[string]any{"a": map[string]any{"e": "x", "b": map[string]any{"d": 1.0}}}},
	} {
		got := listAll(t, b, "c", backend.Query{Fields: tc.fields})
		if len(got) != 1 {
			t.Fatalf("Fields %q: %d items", tc.fields, len(got))
		}
		if diff := backendtest.Diff(tc.want, got[0].Doc); diff != "" {
			t.Errorf("Fields %q (-want +got):\n%s", tc.fields, diff)
		}
	}
}

// TestStopEarly: a caller that stops a List or a ReadSeries early gives
// the connection back: with a pool of one connection, the next call runs.
func TestStopEarly(t *testing.T) {
	b, err := postgres.Open(t.Context(), withOptions(newDSN(t), "pool_max_conns=1"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for i := range 50 {
		mustInsert(t, b, "c", fmt.Sprint(i), map[string]any{"v": int64(i)})
	}
	pts := make([]backend.Point, 12_345)
	for i := range pts {
		pts[i] = backend.Point{Step: int64(i), Value: float64(i), Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	for _, n := range []int{1000, 7, 3001, 0, 8337} {
		if err := b.AppendSeries(ctx, "c", "1", "loss", pts[:n]); err != nil {
			t.Fatal(err)
		}
		pts = pts[n:]
	}
	for range 3 {
		for range b.List(ctx, "c", backend.Query{OrderBy: []string{"v"}, Desc: true}) {
			break
		}
		for range b.List(ctx, "c", backend.Query{}) {
			break
		}
		for range b.ReadSeries(ctx, "c", "1", "loss") {
			break
		}
	}
	if _, err := b.Get(ctx, "c", "1"); err != nil {
		t.Fatal(err)
	}
	// Batches stay small and hold every point in order.
	step := int64(0)
	for batch, err := range b.ReadSeries(ctx, "c", "1", "loss") {
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 || len(batch) > 4000 {
			t.Errorf("a batch of %d points", len(batch))
		}
		for _, p := range batch {
			if p.Step != step {
				t.Fatalf("step %d, want %d", p.Step, step)
			}
			step++
		}
	}
	if step != 12_345 {
		t.Errorf("%d points, want 12345", step)
	}
}

// project returns what a projection on fields holds of doc: the values at
// fields that doc has (nil fields: all of doc).
func project(doc map[string]any, fields [][]string) map[string]any {
	if fields == nil {
		return doc
	}
	out := map[string]any{}
	for _, f := range fields {
		v, ok := backend.Lookup(doc, f)
		if !ok {
			continue
		}
		backend.SetAt(out, f, v)
	}
	return out
}
