package backendtest

import (
	"context"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

func (s *suite) testBackend(t *testing.T) {
	t.Run("InsertGet", func(t *testing.T) {
		b := s.backend(t)
		doc := map[string]any{"lr": 0.01, "epochs": int64(10), "name": "run", "nested": map[string]any{"a": []any{int64(1), 2.5, "x", nil, true}}}
		mustInsert(t, b, coll, "r1", doc)
		wantDoc(t, b, coll, "r1", doc)
	})
	t.Run("InsertDuplicate", func(t *testing.T) {
		b := s.backend(t)
		mustInsert(t, b, coll, "r1", map[string]any{"v": int64(1)})
		err := b.Insert(t.Context(), coll, "r1", map[string]any{"v": int64(2)})
		wantErr(t, "second Insert", err, backend.ErrExists)
		wantDoc(t, b, coll, "r1", map[string]any{"v": int64(1)})
	})
	t.Run("SameIDOtherCollection", func(t *testing.T) {
		b := s.backend(t)
		mustInsert(t, b, "a", "r1", map[string]any{"v": int64(1)})
		mustInsert(t, b, "b", "r1", map[string]any{"v": int64(2)})
		wantDoc(t, b, "a", "r1", map[string]any{"v": int64(1)})
		wantDoc(t, b, "b", "r1", map[string]any{"v": int64(2)})
	})
	t.Run("GetMissing", func(t *testing.T) {
		b := s.backend(t)
		_, err := b.Get(t.Context(), coll, "nope")
		wantErr(t, "Get in a missing collection", err, backend.ErrNotFound)
		mustInsert(t, b, coll, "r1", map[string]any{})
		_, err = b.Get(t.Context(), coll, "nope")
		wantErr(t, "Get of a missing id", err, backend.ErrNotFound)
	})
	t.Run("MergeMissing", func(t *testing.T) {
		b := s.backend(t)
		err := b.Merge(t.Context(), coll, "nope", []backend.Op{{Kind: backend.Set, Path: []string{"a"}, Value: int64(1)}})
		wantErr(t, "Merge of a missing record", err, backend.ErrNotFound)
		if _, err := b.Get(t.Context(), coll, "nope"); err == nil {
			t.Fatal("Merge of a missing record created it")
		}
	})
	t.Run("GetReturnsCopy", func(t *testing.T) {
		b := s.backend(t)
		mustInsert(t, b, coll, "r1", map[string]any{"m": map[string]any{"a": int64(1)}, "l": []any{int64(1)}})
		got := mustGet(t, b, coll, "r1")
		got["m"].(map[string]any)["a"] = int64(99)
		got["l"].([]any)[0] = int64(99)
		got["new"] = true
		wantDoc(t, b, coll, "r1", map[string]any{"m": map[string]any{"a": int64(1)}, "l": []any{int64(1)}})
	})
	t.Run("InsertCopiesInput", func(t *testing.T) {
		b := s.backend(t)
		in := map[string]any{"m": map[string]any{"a": int64(1)}}
		mustInsert(t, b, coll, "r1", in)
		in["m"].(map[string]any)["a"] = int64(2)
		wantDoc(t, b, coll, "r1", map[string]any{"m": map[string]any{"a": int64(1)}})
	})
	t.Run("Drop", func(t *testing.T) {
		b := s.backend(t)
		mustInsert(t, b, "gone", "r1", map[string]any{})
		mustInsert(t, b, "gone", "r2", map[string]any{})
		mustInsert(t, b, "kept", "r1", map[string]any{"v": int64(1)})
		if err := b.Drop(t.Context(), "gone"); err != nil {
			t.Fatalf("Drop: %v", err)
		}
		for _, id := range []string{"r1", "r2"} {
			_, err := b.Get(t.Context(), "gone", id)
			wantErr(t, "Get after Drop", err, backend.ErrNotFound)
		}
		wantDoc(t, b, "kept", "r1", map[string]any{"v": int64(1)})
		if err := b.Drop(t.Context(), "never-existed"); err != nil {
			t.Fatalf("Drop of a missing collection: %v", err)
		}
		mustInsert(t, b, "gone", "r1", map[string]any{"again": true})
		wantDoc(t, b, "gone", "r1", map[string]any{"again": true})
	})
	t.Run("Delete", func(t *testing.T) {
		b := s.backend(t)
		d, ok := b.(backend.Deleter)
		if !ok {
			t.Skip("backend does not implement Deleter")
		}
		mustInsert(t, b, coll, "r1", map[string]any{})
		mustInsert(t, b, coll, "r2", map[string]any{"v": int64(2)})
		if err := d.Delete(t.Context(), coll, "r1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := b.Get(t.Context(), coll, "r1")
		wantErr(t, "Get after Delete", err, backend.ErrNotFound)
		wantDoc(t, b, coll, "r2", map[string]any{"v": int64(2)})
		wantErr(t, "second Delete", d.Delete(t.Context(), coll, "r1"), backend.ErrNotFound)
		wantErr(t, "Delete in a missing collection", d.Delete(t.Context(), "nope", "r1"), backend.ErrNotFound)
	})
	t.Run("Ping", func(t *testing.T) {
		b := s.backend(t)
		p, ok := b.(backend.Pinger)
		if !ok {
			t.Skip("backend does not implement Pinger")
		}
		if err := p.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	// Closed: package record owns the closed state (a Backend gets no call
	// after Close), so every call through a closed Store is ErrClosed.
	t.Run("Closed", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		rec := s.create(t, st, record.WithID("r1"), record.WithoutHost())
		rec.Log(1, record.Metrics{"loss": 1})
		snap, err := st.Get(ctx, coll, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		_, err = st.Create(ctx, coll, record.WithID("r2"))
		wantErr(t, "Create (Insert) after Close", err, record.ErrClosed)
		_, err = st.Get(ctx, coll, "r1")
		wantErr(t, "Get after Close", err, record.ErrClosed)
		wantErr(t, "Set (Merge) after Close", rec.Set(ctx, "a", 1), record.ErrClosed)
		wantErr(t, "Drop after Close", st.Drop(ctx, coll), record.ErrClosed)
		wantErr(t, "Delete after Close", st.Delete(ctx, coll, "r1"), record.ErrClosed)
		wantErr(t, "Ping after Close", st.Ping(ctx), record.ErrClosed)
		_, err = st.Collections(ctx)
		wantErr(t, "Collections after Close", err, record.ErrClosed)
		_, err = st.ListAll(ctx, coll)
		wantErr(t, "List after Close", err, record.ErrClosed)
		wantErr(t, "Index after Close", st.Index(ctx, coll, "metrics.loss.min"), record.ErrClosed)
		_, err = snap.LoadSeries(ctx, "loss")
		wantErr(t, "Series after Close", err, record.ErrClosed)
		if err := st.Close(ctx); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		b := s.backend(t)
		mustInsert(t, b, coll, "r1", map[string]any{"v": int64(1)})
		ctx := cancelled(t)
		wantErr(t, "Insert", b.Insert(ctx, coll, "r2", map[string]any{}), context.Canceled)
		_, err := b.Get(ctx, coll, "r1")
		wantErr(t, "Get", err, context.Canceled)
		wantErr(t, "Merge", b.Merge(ctx, coll, "r1", []backend.Op{{Kind: backend.Set, Path: []string{"v"}, Value: int64(2)}}), context.Canceled)
		wantErr(t, "Drop", b.Drop(ctx, coll), context.Canceled)
		if ss, ok := b.(backend.SeriesStore); ok {
			err := ss.AppendSeries(ctx, coll, "r1", "loss", []backend.Point{{Step: 1, Value: 1, Time: time.UnixMilli(0).UTC()}})
			wantErr(t, "AppendSeries", err, context.Canceled)
		}
		wantDoc(t, b, coll, "r1", map[string]any{"v": int64(1)})
		_, err = b.Get(t.Context(), coll, "r2")
		wantErr(t, "Get of the record a cancelled Insert would have made", err, backend.ErrNotFound)
	})
	t.Run("DeadlineExceeded", func(t *testing.T) {
		b := s.backend(t)
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := b.Get(ctx, coll, "r1")
		wantErr(t, "Get past the deadline", err, context.DeadlineExceeded)
	})
}
