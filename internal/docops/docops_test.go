package docops_test

import (
	"errors"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docops"
)

func TestApplyAllOrNothing(t *testing.T) {
	doc := map[string]any{"a": int64(1), "l": []any{int64(1)}}
	ops := []backend.Op{
		{Kind: backend.Set, Path: []string{"x", "y"}, Value: int64(2)},
		{Kind: backend.Append, Path: []string{"l"}, Value: []any{int64(2)}},
		{Kind: backend.Append, Path: []string{"a"}, Value: []any{int64(3)}},
	}
	if err := docops.Apply(doc, ops); !errors.Is(err, backend.ErrInvalid) {
		t.Fatalf("Apply = %v, want ErrInvalid", err)
	}
	if diff := backendtest.Diff(map[string]any{"a": int64(1), "l": []any{int64(1)}}, doc); diff != "" {
		t.Fatalf("document changed (-want +got):\n%s", diff)
	}
	if err := docops.Apply(doc, ops[:2]); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": int64(1), "l": []any{int64(1), int64(2)}, "x": map[string]any{"y": int64(2)}}
	if diff := backendtest.Diff(want, doc); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestApplyCopiesValues(t *testing.T) {
	v := map[string]any{"k": []any{int64(1)}}
	doc := map[string]any{}
	if err := docops.Apply(doc, []backend.Op{{Kind: backend.Set, Path: []string{"v"}, Value: v}}); err != nil {
		t.Fatal(err)
	}
	v["k"].([]any)[0] = int64(9)
	if got := doc["v"].(map[string]any)["k"].([]any)[0]; got != int64(1) {
		t.Fatalf("stored value aliases the op's value: %v", got)
	}
}
