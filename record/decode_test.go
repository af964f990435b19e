package record_test

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/record"
)

type decodeModel struct {
	Label  string    `json:"label"`
	Color  [3]uint8  `json:"color"`
	Losses []float64 `json:"losses"`
}

type decodeParams struct {
	LR      float64                `json:"lr"`
	Epochs  int                    `json:"epochs"`
	Name    string                 `json:"name,omitempty"`
	Seed    *int64                 `json:"seed"`
	When    time.Time              `json:"when"`
	Addr    netip.Addr             `json:"addr"`
	Models  map[string]decodeModel `json:"models"`
	Extra   any                    `json:"extra"`
	Skipped string                 `json:"-"`
	Hidden  int
}

func TestDecodeMirrorsUpdate(t *testing.T) {
	ctx := t.Context()
	st := openMem(t)
	rec, err := st.Create(ctx, "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	seed := int64(-7)
	in := decodeParams{
		LR: math.NaN(), Epochs: 10, Name: "quote\" back\\ ctl\x01", Seed: &seed,
		When:   time.Date(2026, 11, 26, 1, 2, 3, 4e6, time.UTC),
		Addr:   netip.MustParseAddr("10.0.0.1"),
		Models: map[string]decodeModel{"model_0": {Label: "a", Color: [3]uint8{255, 0, 1}, Losses: []float64{math.Inf(1), -0.0, math.MaxFloat64}}},
		Extra:  map[string]any{"k": []any{int64(1), "x"}},
		Hidden: 3,
	}
	if err := rec.UpdateAt(ctx, "params", in); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Get(ctx, "c", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	var out decodeParams
	if err := snap.Decode("params", &out); err != nil {
		t.Fatal(err)
	}
	opt := cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
	if diff := cmp.Diff(in, out, opt, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("Decode (-want +got):\n%s", diff)
	}
	var lr float32
	if err := snap.Decode("params.epochs", &lr); err != nil || lr != 10 {
		t.Fatalf("Decode int into float32 = %v, %v", lr, err)
	}
	var whole map[string]any
	if err := snap.Decode("", &whole); err != nil || whole["id"] != rec.ID() {
		t.Fatalf("Decode whole document: %v, id %v", err, whole["id"])
	}
}

func TestDecodeErrors(t *testing.T) {
	ctx := t.Context()
	st := openMem(t)
	rec, err := st.Create(ctx, "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Set(ctx, "p", map[string]any{"big": 300, "frac": 1.5, "s": "x", "neg": -1}); err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Get(ctx, "c", rec.ID())
	for _, tc := range []struct {
		path string
		dst  any
	}{
		{"p.big", new(int8)},
		{"p.frac", new(int)},
		{"p.s", new(float64)},
		{"p.neg", new(uint)},
		{"p", new([]int)},
		{"p.missing", new(int)},
	} {
		err := snap.Decode(tc.path, tc.dst)
		var ie *record.InvalidError
		if tc.path == "p.missing" {
			if !errors.Is(err, record.ErrNotFound) {
				t.Errorf("Decode(%s) = %v, want ErrNotFound", tc.path, err)
			}
			continue
		}
		if !errors.As(err, &ie) || ie.Path != tc.path {
			t.Errorf("Decode(%s into %T) = %v, want *InvalidError at %s", tc.path, tc.dst, err, tc.path)
		}
	}
	var notPtr int
	if err := snap.Decode("p.big", notPtr); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Decode into a non-pointer = %v, want ErrInvalid", err)
	}
}

func openMem(t *testing.T) *record.Store {
	t.Helper()
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}
