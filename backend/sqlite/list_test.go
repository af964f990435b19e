package sqlite_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
)

// TestListMatchesMatch: whatever List pushes down to SQL, its answer equals
// backend.Match's over every pair of stored value and condition value.
func TestListMatchesMatch(t *testing.T) {
	ctx := t.Context()
	b := open(t, tempDSN(t))
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	values := []any{
		nil, true, false,
		int64(0), int64(-1), int64(1), int64(10), int64(1<<53 + 1), int64(1 << 53), int64(math.MaxInt64), int64(math.MinInt64),
		0.0, math.Copysign(0, -1), 1.5, 10.0, 9007199254740992.0, 5e-324, -5e-324, math.Inf(1), math.Inf(-1), math.NaN(),
		math.MaxFloat64, -math.MaxFloat64, 0.1, 1e21, 1e-7,
		"", "a", "b", "ab", "a\x00", "é", "10", "Z", `{"$float":"NaN"}`, `{"$time":"2026-11-25T10:00:00.000Z"}`,
		t0, t0.Add(time.Millisecond), t0.Add(-time.Millisecond), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC), time.UnixMilli(0).UTC(),
		[]any{int64(1)}, map[string]any{"v": int64(1)},
	}
	var docs []map[string]any
	for i, v := range values {
		docs = append(docs, map[string]any{"v": v}, map[string]any{"n": map[string]any{"v": v}})
		if i%4 == 0 {
			docs = append(docs, map[string]any{`we"ird`: v, `back\slash`: v})
		}
	}
	docs = append(docs, map[string]any{}, map[string]any{"n": int64(1)}, map[string]any{"n": []any{map[string]any{"v": int64(1)}}})
	for i, d := range docs {
		if err := b.Insert(ctx, "c", fmt.Sprintf("%04d", i), d); err != nil {
			t.Fatal(err)
		}
	}
	conds := []any{}
	for _, v := range values {
		switch v.(type) {
		case []any, map[string]any:
			continue
		}
		conds = append(conds, v)
	}
	conds = append(conds, t0.Add(500*time.Microsecond), float64(1<<53+2), int64(1<<53+2), 9007199254740993.0)
	paths := [][]string{{"v"}, {"n", "v"}, {`we"ird`}, {`back\slash`}, {"missing"}}
	cmps := []backend.Cmp{backend.Eq, backend.Ne, backend.Lt, backend.Le, backend.Gt, backend.Ge}
	n := 0
	for pi, p := range paths {
		for ci, cv := range conds {
			if pi >= 2 && ci%4 != 0 {
				continue // keys that are never pushed down, and missing paths: a sample is enough
			}
			for _, c := range cmps {
				where := []backend.Cond{{Path: p, Cmp: c, Value: cv}}
				var want []string
				for i, d := range docs {
					if backend.Match(d, where) {
						want = append(want, fmt.Sprintf("%04d", i))
					}
				}
				items, err := b.List(ctx, "c", backend.Query{Where: where})
				if err != nil {
					t.Fatalf("List(%s %s %#v): %v", strings.Join(p, "."), c, cv, err)
				}
				var got []string
				for _, it := range items {
					got = append(got, it.ID)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("List(%s %s %#v) ids (-want +got):\n%s", strings.Join(p, "."), c, cv, diff)
				}
				n++
			}
		}
	}
	t.Logf("%d conditions over %d documents", n, len(docs))

	// Several conditions and a limit.
	where := []backend.Cond{{Path: []string{"v"}, Cmp: backend.Ge, Value: int64(0)}, {Path: []string{"v"}, Cmp: backend.Lt, Value: 11.0}}
	var want []string
	for i, d := range docs {
		if backend.Match(d, where) {
			want = append(want, fmt.Sprintf("%04d", i))
		}
	}
	items, err := b.List(ctx, "c", backend.Query{Where: where, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.ID)
	}
	if diff := cmp.Diff(want[:3], got); diff != "" {
		t.Errorf("List with two conditions and Limit 3 (-want +got):\n%s", diff)
	}
	if items, err := b.List(ctx, "missing", backend.Query{}); err != nil || items == nil || len(items) != 0 {
		t.Errorf("List(missing) = %#v, %v; want an empty list", items, err)
	}
	colls, err := b.Collections(ctx)
	if diff := cmp.Diff([]string{"c"}, colls); diff != "" || err != nil {
		t.Errorf("Collections (-want +got), err %v:\n%s", err, diff)
	}
}
