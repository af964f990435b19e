package backendtest

import (
	"testing"

	"github.com/recordlab/go-record/backend"
)

func set(v any, path ...string) backend.Op {
	return backend.Op{Kind: backend.Set, Path: path, Value: v}
}
func push(v []any, path ...string) backend.Op {
	return backend.Op{Kind: backend.Append, Path: path, Value: v}
}
func unset(path ...string) backend.Op { return backend.Op{Kind: backend.Unset, Path: path} }

func (s *suite) testMerge(t *testing.T) {
	cases := []struct {
		name    string
		before  map[string]any
		ops     []backend.Op
		want    map[string]any // nil: ErrInvalid and before unchanged
		wantErr error
	}{
		{"SetTopLevel", map[string]any{"a": int64(1)}, []backend.Op{set("x", "b")},
			map[string]any{"a": int64(1), "b": "x"}, nil},
		{"SetOverwrites", map[string]any{"a": int64(1)}, []backend.Op{set(2.5, "a")},
			map[string]any{"a": 2.5}, nil},
		{"SetCreatesParents", map[string]any{}, []backend.Op{set(0.1, "models", "model_0", "params", "lr")},
			map[string]any{"models": map[string]any{"model_0": map[string]any{"params": map[string]any{"lr": 0.1}}}}, nil},
		{"SetInsideExistingObject", map[string]any{"m": map[string]any{"a": int64(1)}}, []backend.Op{set(int64(2), "m", "b")},
			map[string]any{"m": map[string]any{"a": int64(1), "b": int64(2)}}, nil},
		{"SetReplacesObjectWithScalar", map[string]any{"m": map[string]any{"a": int64(1)}}, []backend.Op{set("s", "m")},
			map[string]any{"m": "s"}, nil},
		{"SetReplacesScalarWithObject", map[string]any{"m": "s"}, []backend.Op{set(map[string]any{"a": int64(1)}, "m")},
			map[string]any{"m": map[string]any{"a": int64(1)}}, nil},
		{"SetNullParentIsConflict", map[string]any{"m": nil}, []backend.Op{set(int64(1), "m", "a")}, nil, backend.ErrInvalid},
		{"SetThroughScalar", map[string]any{"a": int64(1)}, []backend.Op{set(int64(2), "a", "b")}, nil, backend.ErrInvalid},
		{"SetThroughString", map[string]any{"a": map[string]any{"b": "text"}}, []backend.Op{set(int64(2), "a", "b", "c", "d")}, nil, backend.ErrInvalid},
		{"SetThroughArray", map[string]any{"a": []any{map[string]any{"b": int64(1)}}}, []backend.Op{set(int64(2), "a", "0", "b")}, nil, backend.ErrInvalid},
		{"SetNumericKeyInObject", map[string]any{"a": map[string]any{"0": int64(1)}}, []backend.Op{set(int64(2), "a", "0")},
			map[string]any{"a": map[string]any{"0": int64(2)}}, nil},
		{"ManyOpsAllApplied", map[string]any{"keep": true}, []backend.Op{set(int64(1), "a"), push([]any{int64(1)}, "l"), set("y", "m", "x"), unset("keep")},
			map[string]any{"a": int64(1), "l": []any{int64(1)}, "m": map[string]any{"x": "y"}}, nil},
		{"ManyOpsAllOrNothing", map[string]any{"a": int64(1), "l": []any{}}, []backend.Op{set(int64(9), "ok"), push([]any{int64(1)}, "l"), set(int64(2), "a", "b")}, nil, backend.ErrInvalid},
		{"ManyOpsAllOrNothingAppend", map[string]any{"s": "x"}, []backend.Op{set(int64(9), "ok"), push([]any{int64(1)}, "s")}, nil, backend.ErrInvalid},
		{"AppendCreates", map[string]any{}, []backend.Op{push([]any{0.5, 0.25}, "losses")},
			map[string]any{"losses": []any{0.5, 0.25}}, nil},
		{"AppendCreatesParents", map[string]any{}, []backend.Op{push([]any{0.5}, "models", "m0", "losses")},
			map[string]any{"models": map[string]any{"m0": map[string]any{"losses": []any{0.5}}}}, nil},
		{"AppendExtends", map[string]any{"l": []any{int64(1)}}, []backend.Op{push([]any{int64(2), 3.0, "four", nil, map[string]any{"five": int64(5)}, []any{int64(6)}}, "l")},
			map[string]any{"l": []any{int64(1), int64(2), 3.0, "four", nil, map[string]any{"five": int64(5)}, []any{int64(6)}}}, nil},
		{"AppendNothing", map[string]any{"l": []any{int64(1)}}, []backend.Op{push([]any{}, "l")},
			map[string]any{"l": []any{int64(1)}}, nil},
		{"AppendToScalar", map[string]any{"l": int64(1)}, []backend.Op{push([]any{int64(2)}, "l")}, nil, backend.ErrInvalid},
		{"AppendToObject", map[string]any{"l": map[string]any{}}, []backend.Op{push([]any{int64(2)}, "l")}, nil, backend.ErrInvalid},
		{"AppendToNull", map[string]any{"l": nil}, []backend.Op{push([]any{int64(2)}, "l")}, nil, backend.ErrInvalid},
		{"AppendThroughScalar", map[string]any{"a": "s"}, []backend.Op{push([]any{int64(2)}, "a", "l")}, nil, backend.ErrInvalid},
		{"Unset", map[string]any{"a": int64(1), "b": int64(2)}, []backend.Op{unset("a")},
			map[string]any{"b": int64(2)}, nil},
		{"UnsetNested", map[string]any{"m": map[string]any{"a": int64(1), "b": int64(2)}}, []backend.Op{unset("m", "a")},
			map[string]any{"m": map[string]any{"b": int64(2)}}, nil},
		{"UnsetMissing", map[string]any{"a": int64(1)}, []backend.Op{unset("nope"), unset("x", "y", "z")},
			map[string]any{"a": int64(1)}, nil},
		{"UnsetLastFieldKeepsEmptyObject", map[string]any{"m": map[string]any{"a": int64(1)}}, []backend.Op{unset("m", "a")},
			map[string]any{"m": map[string]any{}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := s.backend(t)
			mustInsert(t, b, coll, "r1", tc.before)
			err := b.Merge(t.Context(), coll, "r1", tc.ops)
			if tc.wantErr != nil {
				wantErr(t, "Merge", err, tc.wantErr)
				wantDoc(t, b, coll, "r1", tc.before)
				return
			}
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			wantDoc(t, b, coll, "r1", tc.want)
		})
	}
	t.Run("SequentialMerges", func(t *testing.T) {
		b := s.backend(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		want := []any{}
		for i := range 50 {
			v := float64(i) / 7
			if err := b.Merge(t.Context(), coll, "r1", []backend.Op{push([]any{v}, "l"), set(int64(i), "n")}); err != nil {
				t.Fatalf("Merge %d: %v", i, err)
			}
			want = append(want, v)
		}
		wantDoc(t, b, coll, "r1", map[string]any{"l": want, "n": int64(49)})
	})
}
