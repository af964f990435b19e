package backendtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

func (s *suite) testReopen(t *testing.T) {
	t.Run("DataSurvives", func(t *testing.T) {
		s.skipUnless(t, Reopen)
		dsn := s.newDSN(t)
		b := openNoClose(t, dsn)
		st := storeOver(t, b)
		doc := map[string]any{"nan": math.NaN(), "int": int64(10), "float": 10.0, "t": time.UnixMilli(1234).UTC(), "l": []any{nil, "x"}}
		mustInsert(t, b, coll, "r1", doc)
		rec, err := st.Create(t.Context(), coll)
		if err != nil {
			t.Fatal(err)
		}
		rec.Log(3, record.Metrics{"loss": math.NaN()})
		if err := rec.Close(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		before, err := st.Get(t.Context(), coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		b2 := openNoClose(t, dsn)
		st2 := storeOver(t, b2)
		wantDoc(t, b2, coll, "r1", doc)
		after, err := st2.Get(t.Context(), coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		if diff := Diff(before.Doc(), after.Doc()); diff != "" {
			t.Fatalf("record after reopen (-before +after):\n%s", diff)
		}
		ser, err := after.LoadSeries(t.Context(), "loss")
		if err != nil || len(ser.Values) != 1 || !math.IsNaN(ser.Values[0]) || ser.Steps[0] != 3 {
			t.Fatalf("series after reopen = %+v, %v", ser, err)
		}
	})
}

func (s *suite) testSize(t *testing.T) {
	t.Run("Record20MB", func(t *testing.T) {
		b := s.backend(t)
		ctx := t.Context()
		mustInsert(t, b, coll, "r1", map[string]any{"small": "kept"})
		big := strings.Repeat("x", 20<<20)
		err := b.Merge(ctx, coll, "r1", []backend.Op{set(big, "blob")})
		if s.h.MaxDocBytes > 0 {
			wantErr(t, "Merge of a 20 MB value", err, backend.ErrTooLarge)
			wantDoc(t, b, coll, "r1", map[string]any{"small": "kept"})
			err = b.Insert(ctx, coll, "r2", map[string]any{"blob": big})
			wantErr(t, "Insert of a 20 MB document", err, backend.ErrTooLarge)
			_, err = b.Get(ctx, coll, "r2")
			wantErr(t, "Get of the refused document", err, backend.ErrNotFound)
			return
		}
		if err != nil {
			t.Fatalf("Merge of a 20 MB value: %v (set Harness.MaxDocBytes if the backend has a limit)", err)
		}
		got := mustGet(t, b, coll, "r1")
		if got["blob"] != big || got["small"] != "kept" {
			t.Fatalf("20 MB document did not round-trip (blob of %d bytes)", len(got["blob"].(string)))
		}
	})
	t.Run("ManyFields", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		m := map[string]any{}
		for i := range 5000 {
			m[fmt.Sprintf("p%04d", i)] = float64(i) / 3
		}
		if err := rec.UpdateAt(t.Context(), "params", m); err != nil {
			t.Fatalf("Update of 5000 fields: %v", err)
		}
		got := userFields(t, st, rec.Collection(), rec.ID())["params"].(map[string]any)
		if len(got) != 5000 {
			t.Fatalf("%d fields stored, want 5000", len(got))
		}
	})
	t.Run("TooLargeLeavesRecordUsable", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		size := 20 << 20
		if s.h.MaxDocBytes > 0 {
			size = s.h.MaxDocBytes + 1
		}
		err := rec.Set(t.Context(), "blob", strings.Repeat("y", size))
		if s.h.MaxDocBytes > 0 && !errors.Is(err, record.ErrTooLarge) {
			t.Fatalf("Set over the limit: %v, want ErrTooLarge", err)
		}
		if s.h.MaxDocBytes == 0 && err != nil {
			t.Fatalf("Set of 20 MB: %v", err)
		}
		if err := rec.Unset(t.Context(), "blob"); err != nil {
			t.Fatalf("Unset: %v", err)
		}
		if err := rec.Set(t.Context(), "after", 1); err != nil {
			t.Fatalf("Set after ErrTooLarge: %v", err)
		}
		wantFields(t, st, rec, map[string]any{"after": int64(1)})
	})
}
