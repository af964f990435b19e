package backendtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// crashedChild creates a record with the heartbeat interval of spec, logs
// and flushes a few points, prints "ID <id>" and waits to be killed.
func crashedChild(ctx context.Context, st *record.Store, spec childSpec, fail func(string, error)) {
	rec, err := st.Create(ctx, spec.Coll, record.WithoutHost(), record.WithHeartbeat(spec.Heartbeat))
	if err != nil {
		fail("create", err)
	}
	for step := range int64(10) {
		rec.Log(step, record.Metrics{"loss": float64(step)})
	}
	if err := rec.Flush(ctx); err != nil {
		fail("flush", err)
	}
	fmt.Fprintf(os.Stdout, "ID %s\n", rec.ID())
	<-ctx.Done()
	fail("crashed child", fmt.Errorf("not killed within %v", childLimit))
}

// statusIDs returns the ids of the records of coll that List finds with
// the condition on status.
func statusIDs(t *testing.T, st *record.Store, status string) []string {
	t.Helper()
	snaps, err := st.ListAll(t.Context(), coll, record.WhereText("status = "+status))
	if err != nil {
		t.Fatalf("List status = %s: %v", status, err)
	}
	var ids []string
	for _, snap := range snaps {
		if snap.Status() != status {
			t.Fatalf("List status = %s yielded %s with status %q", status, snap.ID(), snap.Status())
		}
		ids = append(ids, snap.ID())
	}
	return ids
}

func (s *suite) testCrashed(t *testing.T) {
	t.Run("KilledRunReadsCrashed", func(t *testing.T) {
		// A child's record with a short heartbeat reads as crashed soon
		// after the child is killed, to Get and to List; a live record
		// with the same heartbeat stays running; Resume revives the
		// crashed one and Close completes it.
		s.skipUnless(t, Reopen, MultiProcess)
		const beat = 200 * time.Millisecond
		dsn := s.newDSN(t)
		st := storeDSN(t, dsn)
		ctx := t.Context()
		c := startChild(t, childSpec{Role: "crashed", DSN: dsn, Coll: coll, Heartbeat: beat})
		id := expectLine(t, c.lines, "ID ", time.Minute)
		snap, err := st.Get(ctx, coll, id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Status() != record.StatusRunning {
			t.Fatalf("status of the live child's record = %q, want running", snap.Status())
		}
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		c.wait()
		killed := time.Now()
		deadline := killed.Add(3*beat + time.Second)
		for {
			snap, err = st.Get(ctx, coll, id)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Status() == record.StatusCrashed {
				t.Logf("crashed %v after the kill (heartbeat %v)", time.Since(killed).Round(time.Millisecond), beat)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status = %q %v after the kill, want %s within 3 heartbeats (%v) + 1 s", snap.Status(), time.Since(killed), record.StatusCrashed, beat)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if ids := statusIDs(t, st, record.StatusCrashed); !slices.Contains(ids, id) {
			t.Fatalf("List status = crashed found %q, not the killed run %s", ids, id)
		}
		if ids := statusIDs(t, st, record.StatusRunning); slices.Contains(ids, id) {
			t.Fatalf("List status = running found the killed run %s", id)
		}

		// A live handle keeps its record running; its interval is longer
		// than the killed one's so that a slow store under -race on a
		// busy machine cannot make a live record miss 3 heartbeats.
		liveBeat := 5 * beat
		live := s.create(t, st, record.WithoutHost(), record.WithHeartbeat(liveBeat))
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			snap, err := st.Get(ctx, coll, live.ID())
			if err != nil {
				t.Fatal(err)
			}
			if snap.Status() != record.StatusRunning {
				t.Fatalf("a live record with heartbeat %v reads %q", liveBeat, snap.Status())
			}
		}
		if ids := statusIDs(t, st, record.StatusRunning); !slices.Contains(ids, live.ID()) {
			t.Fatalf("List status = running found %q, not the live run %s", ids, live.ID())
		}
		if ids := statusIDs(t, st, record.StatusCrashed); slices.Contains(ids, live.ID()) {
			t.Fatalf("List status = crashed found the live run %s", live.ID())
		}

		rec, err := st.Resume(ctx, coll, id, record.WithHeartbeat(liveBeat))
		if err != nil {
			t.Fatalf("Resume of the crashed run: %v", err)
		}
		if snap, err = st.Get(ctx, coll, id); err != nil || snap.Status() != record.StatusRunning {
			t.Fatalf("status after Resume = %q, %v; want running", snap.Status(), err)
		}
		if ids := statusIDs(t, st, record.StatusRunning); !slices.Contains(ids, id) {
			t.Fatalf("List status = running found %q, not the resumed run %s", ids, id)
		}
		for _, r := range []*record.Record{rec, live} {
			if err := r.Close(ctx, nil); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if snap, err = st.Get(ctx, coll, r.ID()); err != nil || snap.Status() != record.StatusCompleted {
				t.Fatalf("status after Close = %q, %v; want completed", snap.Status(), err)
			}
		}
	})
}
