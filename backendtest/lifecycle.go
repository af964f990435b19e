package backendtest

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

func (s *suite) testLifecycle(t *testing.T) {
	t.Run("CreateWritesAtOnce", func(t *testing.T) {
		st := s.store(t)
		before := time.Now().Add(-time.Second)
		rec := s.create(t, st, record.WithSeed(42))
		if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(rec.ID()) {
			t.Fatalf("generated id %q is not 24 hex digits", rec.ID())
		}
		snap, err := st.Get(t.Context(), coll, rec.ID())
		if err != nil {
			t.Fatalf("Get right after Create: %v", err)
		}
		if snap.Status() != record.StatusRunning {
			t.Errorf("status = %q, want running", snap.Status())
		}
		if c := snap.Created(); c.Before(before) || c.After(time.Now().Add(time.Second)) || c.Location() != time.UTC {
			t.Errorf("created = %v, want about now, in UTC", c)
		}
		if seed, err := snap.Int64("seed"); err != nil || seed != 42 {
			t.Errorf("seed = %d, %v; want 42", seed, err)
		}
		for _, p := range []string{"host.hostname", "host.os", "host.arch", "build.go_version"} {
			if v, err := snap.Text(p); err != nil || v == "" {
				t.Errorf("%s = %q, %v; want the host fact", p, v, err)
			}
		}
		if n, err := snap.Int64("host.num_cpu"); err != nil || n < 1 {
			t.Errorf("host.num_cpu = %d, %v", n, err)
		}
		if id, _ := snap.Text("id"); id != rec.ID() {
			t.Errorf("id field = %q, want %q", id, rec.ID())
		}
	})
	t.Run("IDsAreUniqueAndOrdered", func(t *testing.T) {
		st := s.store(t)
		prev := ""
		for range 20 {
			rec := s.create(t, st, record.WithoutHost())
			if rec.ID() <= prev {
				t.Fatalf("id %s not after %s", rec.ID(), prev)
			}
			prev = rec.ID()
		}
	})
	t.Run("CloseCompleted", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		if err := rec.Set(t.Context(), "x", 1); err != nil {
			t.Fatal(err)
		}
		if err := rec.Close(t.Context(), nil); err != nil {
			t.Fatalf("Close: %v", err)
		}
		snap, err := st.Get(t.Context(), coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status() != record.StatusCompleted {
			t.Errorf("status = %q, want completed", snap.Status())
		}
		ended, err := snap.Time("ended")
		if err != nil || ended.Before(snap.Created()) {
			t.Errorf("ended = %v, %v; want a time after created %v", ended, err, snap.Created())
		}
		if d, err := snap.Float64("duration"); err != nil || d < 0 || d > 3600 {
			t.Errorf("duration = %v, %v", d, err)
		}
		if _, ok := snap.Get("error"); ok {
			t.Errorf("a completed record has an error field")
		}
	})
	t.Run("CloseFailed", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		if err := rec.Close(t.Context(), errors.New("loss diverged: NaN at step 7")); err != nil {
			t.Fatalf("Close: %v", err)
		}
		snap, _ := st.Get(t.Context(), coll, rec.ID())
		if snap.Status() != record.StatusFailed {
			t.Errorf("status = %q, want failed", snap.Status())
		}
		if msg, _ := snap.Text("error"); msg != "loss diverged: NaN at step 7" {
			t.Errorf("error = %q", msg)
		}
	})
	t.Run("CloseInterrupted", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		if err := rec.Close(t.Context(), record.ErrInterrupted); err != nil {
			t.Fatalf("Close: %v", err)
		}
		snap, _ := st.Get(t.Context(), coll, rec.ID())
		if snap.Status() != record.StatusInterrupted {
			t.Errorf("status = %q, want interrupted", snap.Status())
		}
	})
	t.Run("SealedRefusesWrites", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		ctx := t.Context()
		if err := rec.Set(ctx, "before", 1); err != nil {
			t.Fatal(err)
		}
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "Set after Close", rec.Set(ctx, "after", 1), record.ErrSealed)
		wantErr(t, "Append after Close", rec.Append(ctx, "l", 1), record.ErrSealed)
		wantErr(t, "Unset after Close", rec.Unset(ctx, "before"), record.ErrSealed)
		wantErr(t, "Update after Close", rec.Update(ctx, map[string]any{"a": 1}), record.ErrSealed)
		wantErr(t, "Apply after Close", rec.Apply(ctx, record.SetOp("a", 1)), record.ErrSealed)
		wantErr(t, "second Close", rec.Close(ctx, nil), record.ErrSealed)
		rec.Log(1, record.Metrics{"loss": 1})
		wantErr(t, "Flush after Log after Close", rec.Flush(ctx), record.ErrSealed)
		_, err := st.Resume(ctx, coll, rec.ID())
		wantErr(t, "Resume of a sealed record", err, record.ErrSealed)
		wantFields(t, st, rec, map[string]any{"before": int64(1)})
	})
	t.Run("Resume", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		rec := s.create(t, st)
		if err := rec.Append(ctx, "l", 1); err != nil {
			t.Fatal(err)
		}
		rec.Log(0, record.Metrics{"loss": 4})
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		again, err := st.Resume(ctx, coll, rec.ID())
		if err != nil {
			t.Fatalf("Resume: %v", err)
		}
		if err := again.Append(ctx, "l", 2); err != nil {
			t.Fatal(err)
		}
		again.Log(1, record.Metrics{"loss": 2})
		if err := again.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
		snap, _ := st.Get(ctx, coll, rec.ID())
		if n, _ := snap.Int64("metrics.loss.count"); n != 2 {
			t.Errorf("metrics.loss.count after Resume = %d, want 2", n)
		}
		if m, _ := snap.Float64("metrics.loss.max"); m != 4 {
			t.Errorf("metrics.loss.max after Resume = %v, want 4", m)
		}
		if l, _ := snap.Float64s("l"); len(l) != 2 {
			t.Errorf("l = %v", l)
		}
		_, err = st.Resume(ctx, coll, "missing")
		wantErr(t, "Resume of a missing record", err, record.ErrNotFound)
	})
	t.Run("StoreClosed", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		rec := s.create(t, st)
		rec.Log(1, record.Metrics{"loss": 0.5})
		if err := st.Close(context.Background()); err != nil {
			t.Fatalf("Store.Close: %v", err)
		}
		_, err := st.Create(ctx, coll)
		wantErr(t, "Create after Store.Close", err, record.ErrClosed)
		_, err = st.Get(ctx, coll, rec.ID())
		wantErr(t, "Get after Store.Close", err, record.ErrClosed)
		wantErr(t, "Set after Store.Close", rec.Set(ctx, "a", 1), record.ErrClosed)
		wantErr(t, "Close after Store.Close", rec.Close(ctx, nil), record.ErrClosed)
	})
	t.Run("StoreCloseFlushes", func(t *testing.T) {
		s.skipUnless(t, Reopen)
		dsn := s.newDSN(t)
		st := storeDSN(t, dsn)
		rec, err := st.Create(t.Context(), coll, record.WithFlushInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			rec.Log(int64(i), record.Metrics{"loss": float64(i)})
		}
		if err := st.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		st2 := storeDSN(t, dsn)
		snap, err := st2.Get(t.Context(), coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := snap.Int64("metrics.loss.count"); n != 10 {
			t.Fatalf("metrics.loss.count after Store.Close = %d, want 10", n)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		ctx := cancelled(t)
		_, err := st.Create(ctx, coll)
		wantErr(t, "Create", err, context.Canceled)
		wantErr(t, "Set", rec.Set(ctx, "a", 1), context.Canceled)
		_, err = st.Get(ctx, coll, rec.ID())
		wantErr(t, "Get", err, context.Canceled)
		wantErr(t, "Flush", rec.Flush(ctx), context.Canceled)
		wantErr(t, "Close", rec.Close(ctx, nil), context.Canceled)
		if err := rec.Close(t.Context(), nil); err != nil {
			t.Fatalf("Close after a cancelled Close: %v", err)
		}
	})
	t.Run("DeleteAndDrop", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		a, b := s.create(t, st), s.create(t, st)
		if err := st.Delete(ctx, coll, a.ID()); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := st.Get(ctx, coll, a.ID())
		wantErr(t, "Get after Delete", err, record.ErrNotFound)
		wantErr(t, "Delete again", st.Delete(ctx, coll, a.ID()), record.ErrNotFound)
		if _, err := st.Get(ctx, coll, b.ID()); err != nil {
			t.Fatalf("the other record: %v", err)
		}
		if err := st.Drop(ctx, coll); err != nil {
			t.Fatal(err)
		}
		_, err = st.Get(ctx, coll, b.ID())
		wantErr(t, "Get after Drop", err, record.ErrNotFound)
	})
	t.Run("StoreList", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		var ids []string
		for i := range 4 {
			rec := s.create(t, st)
			if err := rec.Set(ctx, "lr", float64(i)/10); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rec.ID())
		}
		cond, err := record.WhereText("lr>=0.2"), error(nil)
		if err != nil {
			t.Fatal(err)
		}
		snaps, err := st.ListAll(ctx, coll, cond, record.Limit(1))
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(snaps) != 1 || snaps[0].ID() != ids[2] {
			t.Fatalf("List(lr>=0.2, limit 1) = %v, want [%s]", snaps, ids[2])
		}
		names, err := st.Collections(ctx)
		if err != nil || len(names) != 1 || names[0] != coll {
			t.Fatalf("Collections = %q, %v", names, err)
		}
	})
}
