package backendtest

import (
	"fmt"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

func (s *suite) testCount(t *testing.T) {
	b := s.backend(t)
	st := storeOver(t, b)
	ctx := t.Context()
	count := func(coll string, opts ...record.ListOption) int {
		t.Helper()
		n, err := st.Count(ctx, coll, opts...)
		if err != nil {
			t.Fatalf("Count(%s): %v", coll, err)
		}
		return n
	}
	if n := count(coll); n != 0 {
		t.Fatalf("Count of a missing collection = %d, want 0", n)
	}
	for i := range 25 {
		mustInsert(t, b, coll, fmt.Sprintf("r%02d", i), map[string]any{"i": int64(i), "q": `"\` + "\x01"})
	}
	mustInsert(t, b, coll+"-other", "x", map[string]any{})
	if n := count(coll); n != 25 {
		t.Fatalf("Count = %d, want 25", n)
	}
	if n := count(coll + "-other"); n != 1 {
		t.Fatalf("Count of the other collection = %d, want 1", n)
	}
	if n := count(coll, record.Where("i", "<", 10)); n != 10 {
		t.Fatalf("Count(i < 10) = %d, want 10", n)
	}
	if c, ok := b.(backend.Counter); ok {
		if n, err := c.Count(ctx, coll); err != nil || n != 25 {
			t.Fatalf("Counter.Count = %d, %v; want 25", n, err)
		}
	}
	if d, ok := b.(backend.Deleter); ok {
		if err := d.Delete(ctx, coll, "r03"); err != nil {
			t.Fatal(err)
		}
		if n := count(coll); n != 24 {
			t.Fatalf("Count after Delete = %d, want 24", n)
		}
	}
	if _, err := st.Count(ctx, "bad name!"); err == nil {
		t.Fatal("Count of an invalid collection name: no error")
	}
}
