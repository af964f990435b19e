package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
)

// open opens a Backend on a fresh table and closes it when the test ends.
func open(t *testing.T) *postgres.Backend {
	t.Helper()
	b, err := postgres.Open(t.Context(), newDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func mustInsert(t *testing.T, b backend.Backend, coll, id string, doc map[string]any) {
	t.Helper()
	if err := b.Insert(t.Context(), coll, id, doc); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, b backend.Backend, coll, id string) map[string]any {
	t.Helper()
	doc, err := b.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestRegistered(t *testing.T) {
	for _, scheme := range []string{"postgres", "postgresql"} {
		_, err := backend.Open(t.Context(), scheme+"://u@127.0.0.1:1/db?x-bogus=1")
		if !errors.Is(err, backend.ErrInvalid) || !strings.Contains(err.Error(), "x-bogus") {
			t.Errorf("%s with an unknown x- option: got %v, want ErrInvalid naming x-bogus", scheme, err)
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, opt := range []string{"x-table=", "x-table=a-b", "x-table=records;drop", `x-table=a"b`, "x-schema=1x", "x-schema=a.b",
		"x-table=" + strings.Repeat("a", 57)} {
		_, err := postgres.Open(t.Context(), "postgres://u:pw@127.0.0.1:1/db?"+opt)
		if !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", opt, err)
		}
	}
}

func TestSchemaOption(t *testing.T) {
	dsn := serverDSN(t)
	schema := uniqueName("s_")
	t.Cleanup(func() {
		if _, err := server.admin.Exec(context.Background(), `drop schema if exists "`+schema+`" cascade`); err != nil {
			t.Error(err)
		}
	})
	b, err := postgres.Open(t.Context(), withOptions(dsn, "x-schema="+schema, "x-table=runs"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if want := `"` + schema + `"."runs"`; b.Table() != want {
		t.Errorf("Table() = %s, want %s", b.Table(), want)
	}
	mustInsert(t, b, "c", "1", map[string]any{"a": int64(1)})
	if err := b.Merge(t.Context(), "c", "1", []backend.Op{{Kind: backend.Set, Path: []string{"b", "c"}, Value: true}}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := server.admin.QueryRow(t.Context(), `select count(*) from "`+schema+`".runs where (doc->'b'->>'c')::bool`).Scan(&n); err != nil || n != 1 {
		t.Errorf("count in the schema's table: %d, %v; want 1", n, err)
	}
}

func TestErrors(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	mustInsert(t, b, "c", "1", map[string]any{})
	err := b.Insert(ctx, "c", "1", map[string]any{})
	var pgErr *pgconn.PgError
	if !errors.Is(err, backend.ErrExists) || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("second insert: got %v, want ErrExists wrapping a 23505 *pgconn.PgError", err)
	}
	if _, err := b.Get(ctx, "c", "2"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("get missing: got %v, want ErrNotFound", err)
	}
	if err := b.Merge(ctx, "c", "2", []backend.Op{{Kind: backend.Set, Path: []string{"a"}, Value: int64(1)}}); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("merge missing: got %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, "c", "2"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("delete missing: got %v, want ErrNotFound", err)
	}
	if err := b.Drop(ctx, "nothing"); err != nil {
		t.Errorf("drop missing: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Get(cctx, "c", "1"); !errors.Is(err, context.Canceled) {
		t.Errorf("get with a cancelled context: got %v, want context.Canceled", err)
	}
	if diff := cmp.Diff("postgres: not found", fmt.Sprint(b.Delete(ctx, "c", "2"))); diff != "" {
		t.Errorf("error text names no op, collection or id (package record does) (-want +got):\n%s", diff)
	}
}

// TestMerge checks the merge function: Set with missing parents, Append,
// Unset, and conflicts that change nothing.
func TestMerge(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	when := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)
	start := map[string]any{
		"n": int64(1), "s": "x", "arr": []any{int64(1)}, "obj": map[string]any{"k": "v"},
		"nul": nil, "t": when, "nan": math.NaN(),
	}
	mustInsert(t, b, "c", "1", start)
	ok := []backend.Op{
		{Kind: backend.Set, Path: []string{"a", "b", "c", "d"}, Value: map[string]any{"e": 1.5}},
		{Kind: backend.Set, Path: []string{"obj", "k2"}, Value: []any{int64(1), "two"}},
		{Kind: backend.Append, Path: []string{"arr"}, Value: []any{int64(2), []any{int64(3)}}},
		{Kind: backend.Append, Path: []string{"new", "list"}, Value: []any{0.5}},
		{Kind: backend.Append, Path: []string{"empty"}, Value: []any{}},
		{Kind: backend.Unset, Path: []string{"s"}},
		{Kind: backend.Unset, Path: []string{"missing", "x"}},
		{Kind: backend.Set, Path: []string{"t2"}, Value: when},
	}
	if err := b.Merge(ctx, "c", "1", ok); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"n": int64(1), "arr": []any{int64(1), int64(2), []any{int64(3)}},
		"obj": map[string]any{"k": "v", "k2": []any{int64(1), "two"}},
		"nul": nil, "t": when, "t2": when, "nan": math.NaN(),
		"a":     map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": 1.5}}}},
		"new":   map[string]any{"list": []any{0.5}},
		"empty": []any{},
	}
	nanEq := cmp.Comparer(func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	if diff := cmp.Diff(want, mustGet(t, b, "c", "1"), nanEq); diff != "" {
		t.Fatalf("after merge (-want +got):\n%s", diff)
	}
	for _, bad := range [][]backend.Op{
		{{Kind: backend.Set, Path: []string{"n", "x"}, Value: int64(1)}},
		{{Kind: backend.Set, Path: []string{"arr", "0"}, Value: int64(1)}},
		{{Kind: backend.Set, Path: []string{"nul", "x"}, Value: int64(1)}},
		{{Kind: backend.Set, Path: []string{"t", "x"}, Value: int64(1)}},
		{{Kind: backend.Set, Path: []string{"nan", "x"}, Value: int64(1)}},
		{{Kind: backend.Append, Path: []string{"obj"}, Value: []any{int64(1)}}},
		{{Kind: backend.Append, Path: []string{"n"}, Value: []any{int64(1)}}},
		{{Kind: backend.Append, Path: []string{"t"}, Value: []any{int64(1)}}},
		{{Kind: backend.Unset, Path: []string{"n", "x"}}},
		// A good op before a bad one must not be applied either.
		{{Kind: backend.Set, Path: []string{"fresh"}, Value: true}, {Kind: backend.Set, Path: []string{"obj", "k", "deep"}, Value: true}},
	} {
		err := b.Merge(ctx, "c", "1", bad)
		var pgErr *pgconn.PgError
		if !errors.Is(err, backend.ErrInvalid) || !errors.As(err, &pgErr) || pgErr.Code != "RC001" {
			t.Errorf("merge %v: got %v, want ErrInvalid wrapping an RC001 *pgconn.PgError", bad, err)
		}
		if diff := cmp.Diff(want, mustGet(t, b, "c", "1"), nanEq); diff != "" {
			t.Fatalf("failed merge %v changed the document (-want +got):\n%s", bad, diff)
		}
	}
}

// TestConcurrentMerge: goroutines appending to and setting in one row lose
// nothing.
func TestConcurrentMerge(t *testing.T) {
	b := open(t)
	mustInsert(t, b, "c", "1", map[string]any{})
	const workers, each = 16, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := b.Merge(context.Background(), "c", "1", []backend.Op{
					{Kind: backend.Append, Path: []string{"all"}, Value: []any{int64(w*each + i)}},
					{Kind: backend.Set, Path: []string{"by", fmt.Sprint(w)}, Value: int64(i)},
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	doc := mustGet(t, b, "c", "1")
	if got := len(doc["all"].([]any)); got != workers*each {
		t.Errorf("%d appended values, want %d", got, workers*each)
	}
	if got := len(doc["by"].(map[string]any)); got != workers {
		t.Errorf("%d set keys, want %d", got, workers)
	}
}

func TestDeleteDropRemoveSeries(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	pts := []backend.Point{{Step: 1, Value: 1}}
	for _, id := range []string{"1", "2"} {
		mustInsert(t, b, "c", id, map[string]any{})
		if err := b.AppendSeries(ctx, "c", id, "loss", pts); err != nil {
			t.Fatal(err)
		}
	}
	mustInsert(t, b, "other", "1", map[string]any{})
	if err := b.AppendSeries(ctx, "other", "1", "loss", pts); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "c", "1"); err != nil {
		t.Fatal(err)
	}
	count := func(coll, id string) int { return len(readAll(t, b, coll, id, "loss")) }
	if count("c", "1") != 0 || count("c", "2") != 1 {
		t.Errorf("after Delete c/1: %d and %d points, want 0 and 1", count("c", "1"), count("c", "2"))
	}
	if err := b.Drop(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if count("c", "2") != 0 || count("other", "1") != 1 {
		t.Errorf("after Drop c: %d and %d points, want 0 and 1", count("c", "2"), count("other", "1"))
	}
	colls, err := b.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"other"}, colls); diff != "" {
		t.Errorf("Collections (-want +got):\n%s", diff)
	}
}

// TestSeriesExactBits stores hostile values, steps and times and reads
// them back bit for bit, in every query mode of pgx (the point arrays are
// encoded by a codec of the adapter's own in the binary format, and by
// pgx's in the text format of the simple protocol).
func TestSeriesExactBits(t *testing.T) {
	for _, mode := range []string{"", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run("mode="+mode, func(t *testing.T) {
			dsn := newDSN(t)
			if mode != "" {
				dsn = withOptions(dsn, "default_query_exec_mode="+mode)
			}
			b, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			testSeriesExactBits(t, b, mode == "exec" || mode == "simple_protocol")
		})
	}
}

// testSeriesExactBits: where text carries the arrays (text is true), a
// NaN keeps no payload.
func testSeriesExactBits(t *testing.T, b *postgres.Backend, text bool) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	special := []float64{math.NaN(), math.Float64frombits(0x7ff8dead00000001), math.Inf(1), math.Inf(-1),
		math.Copysign(0, -1), 0, 5e-324, math.MaxFloat64, -math.MaxFloat64, 0.1 + 0.2, -1.5}
	times := []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)}
	var want []backend.Point
	for i := range 2500 {
		p := backend.Point{Step: int64(i), Value: special[i%len(special)], Time: t0.Add(time.Duration(i) * time.Millisecond)}
		if i%100 < len(times) {
			p.Time = times[i%100]
		}
		want = append(want, p)
	}
	want[0].Step, want[2499].Step = math.MinInt64, math.MaxInt64
	stored := want
	if text {
		stored = append([]backend.Point(nil), want...)
		for i, p := range want {
			if math.IsNaN(p.Value) {
				want[i].Value = math.NaN()
			}
		}
	}
	// A batch larger than one chunk, then small ones, then an empty one.
	for _, batch := range [][]backend.Point{stored[:2100], stored[2100:2101], stored[2101:], nil} {
		if err := b.AppendSeries(ctx, "c", "1", "loss", batch); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, b, "c", "1", "loss")
	bits := cmp.Comparer(func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	if diff := cmp.Diff(want, got, bits); diff != "" {
		t.Errorf("ReadSeries (-want +got):\n%s", diff)
	}
	if empty := readAll(t, b, "c", "1", "other"); len(empty) != 0 {
		t.Errorf("ReadSeries of a missing metric = %v; want nothing", empty)
	}
}

func TestListAndCollections(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	for i, id := range []string{"b", "a", "C", "_x", "a.1"} {
		mustInsert(t, b, "runs", id, map[string]any{"i": int64(i), "opt": []any{"adam", "sgd"}[i%2]})
	}
	mustInsert(t, b, "Nov-25-2026", "1", map[string]any{})
	colls, err := b.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Nov-25-2026", "runs"}, colls); diff != "" {
		t.Errorf("Collections (-want +got):\n%s", diff)
	}
	ids := func(q backend.Query) []string { return ids(listAll(t, b, "runs", q)) }
	for _, tc := range []struct {
		q    backend.Query
		want []string
	}{
		{backend.Query{}, []string{"C", "_x", "a", "a.1", "b"}},
		{backend.Query{Limit: 2}, []string{"C", "_x"}},
		{backend.Query{Where: []backend.Cond{{Path: []string{"opt"}, Cmp: backend.Eq, Value: "adam"}}}, []string{"C", "a.1", "b"}},
		{backend.Query{Where: []backend.Cond{{Path: []string{"opt"}, Cmp: backend.Eq, Value: "adam"}, {Path: []string{"i"}, Cmp: backend.Ge, Value: 2.0}}, Limit: 1}, []string{"C"}},
		{backend.Query{Where: []backend.Cond{{Path: []string{"opt"}, Cmp: backend.Ne, Value: "adam"}}}, []string{"_x", "a"}},
	} {
		if diff := cmp.Diff(tc.want, ids(tc.q)); diff != "" {
			t.Errorf("List %+v (-want +got):\n%s", tc.q, diff)
		}
	}
	if items := listAll(t, b, "missing", backend.Query{}); len(items) != 0 {
		t.Errorf("List of a missing collection = %v; want empty", items)
	}
}

// TestLargeDocument: jsonb holds up to 255 MB, so a 20 MB document
// round-trips (the conformance suite reads one back) and a 20 MB value
// merges into it, checked on the server to spare the race detector 40 MB of
// JSON decoding.
func TestLargeDocument(t *testing.T) {
	b := open(t)
	big := strings.Repeat("0123456789abcdef", 20<<20/16)
	mustInsert(t, b, "c", "big", map[string]any{"blob": big, "n": int64(1)})
	if err := b.Merge(t.Context(), "c", "big", []backend.Op{{Kind: backend.Set, Path: []string{"more", "blob2"}, Value: big}}); err != nil {
		t.Fatal(err)
	}
	var same bool
	var n int64
	err := b.Pool().QueryRow(t.Context(), `select doc->>'blob' = $1 and doc->'more'->>'blob2' = $1, (doc->>'n')::bigint
		from `+b.Table()+` where collection = 'c' and id = 'big'`, big).Scan(&same, &n)
	if err != nil || !same || n != 1 {
		t.Errorf("20 MB values after a merge: equal %v, n %d, %v", same, n, err)
	}
}
