package backendtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// earlyStopRounds is how many iterations each early-stop test abandons:
// more than any connection pool holds, so that a leaked cursor or
// connection shows as a call that blocks.
const earlyStopRounds = 40

// watchdog runs f and fails t if it does not return within limit (a
// deadlock that no context ends). f reports failures by returning an
// error; it gives each round its own context from round, so that a call
// blocked by a cursor or connection leaked in an earlier round fails that
// round with a deadline error instead of hanging.
func watchdog(t *testing.T, limit time.Duration, f func(ctx context.Context, round func() (context.Context, context.CancelFunc)) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	round := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, roundLimit) }
	done := make(chan error, 1)
	go func() { done <- f(ctx, round) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(limit + 10*time.Second):
		t.Fatalf("still blocked after %v: a cursor or connection leaked by an abandoned iteration, or a deadlock", limit)
	}
}

// roundLimit bounds one round of an early-stop test: far more than a
// round takes on the slowest server, far less than forever.
const roundLimit = 30 * time.Second

var earlyStopQueries = []backend.Query{
	{},
	{Desc: true},
	{OrderBy: []string{"v"}},
	{OrderBy: []string{"v"}, Desc: true, Limit: 5},
	{Where: []backend.Cond{{Path: []string{"i"}, Cmp: backend.Ne, Value: int64(2)}}},
	{Fields: [][]string{{"v"}}},
	{Where: []backend.Cond{{Path: []string{"v"}, Cmp: backend.Ge, Value: 3.0}}, OrderBy: []string{"v"}, Limit: 10},
	{Where: []backend.Cond{{Path: []string{"s"}, Cmp: backend.Lt, Value: "m"}}, OrderBy: []string{"s"}, Desc: true},
}

// testEarlyStop checks that a consumer that stops a List early releases
// what the iteration held: later calls, writes and drops included, go on.
func (s *suite) testEarlyStop(t *testing.T) {
	t.Run("EarlyStop", func(t *testing.T) {
		b, l := s.lister(t)
		c := corpus{}
		for i := range 30 {
			c[fmt.Sprintf("e%02d", i)] = map[string]any{"v": float64(i), "i": int64(i % 5), "s": string(rune('a' + i%26))}
		}
		c.insert(t, b, coll)
		watchdog(t, 3*time.Minute, func(ctx context.Context, round func() (context.Context, context.CancelFunc)) error {
			for r := range earlyStopRounds {
				ctx, cancel := round()
				defer cancel()
				q := earlyStopQueries[r%len(earlyStopQueries)]
				n := 0
				for _, err := range l.List(ctx, coll, q) {
					if err != nil {
						return fmt.Errorf("round %d: List %s: %v", r, describe(q), err)
					}
					n++
					break
				}
				if n != 1 {
					return fmt.Errorf("round %d: List %s yielded nothing", r, describe(q))
				}
				if err := b.Merge(ctx, coll, "e00", []backend.Op{set(int64(r), "round")}); err != nil {
					return fmt.Errorf("round %d: Merge after an abandoned List: %v", r, err)
				}
				if err := b.Insert(ctx, "other", fmt.Sprintf("x%02d", r), map[string]any{}); err != nil {
					return fmt.Errorf("round %d: Insert after an abandoned List: %v", r, err)
				}
				if _, err := b.Get(ctx, coll, "e01"); err != nil {
					return fmt.Errorf("round %d: Get after an abandoned List: %v", r, err)
				}
			}
			c["e00"]["round"] = int64(earlyStopRounds - 1)
			items, err := collect(ctx, l, coll, backend.Query{})
			if err != nil {
				return fmt.Errorf("List after abandoned ones: %v", err)
			}
			if len(items) != len(c) {
				return fmt.Errorf("List after abandoned ones: %d records, want %d", len(items), len(c))
			}
			for _, it := range items {
				if d := Diff(c[it.ID], it.Doc); d != "" {
					return fmt.Errorf("record %s after abandoned Lists (-want +got):\n%s", it.ID, d)
				}
			}
			if err := b.Drop(ctx, coll); err != nil {
				return fmt.Errorf("Drop after abandoned Lists: %v", err)
			}
			if err := b.Drop(ctx, "other"); err != nil {
				return fmt.Errorf("Drop after abandoned Lists: %v", err)
			}
			items, err = collect(ctx, l, coll, backend.Query{})
			if err != nil || len(items) != 0 {
				return fmt.Errorf("List after Drop: %d records, %v", len(items), err)
			}
			return nil
		})
	})
	t.Run("StoreEarlyStop", func(t *testing.T) {
		b, _, st := s.listerStore(t)
		c := corpus{}
		for i := range 10 {
			c[fmt.Sprintf("e%02d", i)] = map[string]any{"v": float64(i)}
		}
		c.insert(t, b, coll)
		if ss, ok := b.(backend.SeriesStore); ok {
			if err := ss.AppendSeries(t.Context(), coll, "e00", "loss", points(12_000, 0, func(i int) float64 { return float64(i) })); err != nil {
				t.Fatal(err)
			}
		}
		watchdog(t, 3*time.Minute, func(ctx context.Context, round func() (context.Context, context.CancelFunc)) error {
			for r := range earlyStopRounds {
				ctx, cancel := round()
				defer cancel()
				opts := [][]record.ListOption{nil, {record.OrderBy("v", true)}, {record.Limit(3)}, {record.Fields("v")}}[r%4]
				var first *record.Snapshot
				for snap, err := range st.List(ctx, coll, opts...) {
					if err != nil {
						return fmt.Errorf("round %d: Store.List: %v", r, err)
					}
					first = snap
					break
				}
				if first == nil {
					return fmt.Errorf("round %d: Store.List yielded nothing", r)
				}
				snap, err := st.Get(ctx, coll, "e00")
				if err != nil {
					return fmt.Errorf("round %d: Get after an abandoned List: %v", r, err)
				}
				for _, err := range snap.Series(ctx, "loss") {
					if err != nil {
						return fmt.Errorf("round %d: Series: %v", r, err)
					}
					break
				}
			}
			closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := st.Close(closeCtx); err != nil {
				return fmt.Errorf("Store.Close after abandoned iterations: %v", err)
			}
			return nil
		})
	})
}

// testReadEarlyStop checks that abandoning ReadSeries releases what it
// held, and that reads after writes see everything.
func (s *suite) testReadEarlyStop(t *testing.T) {
	t.Run("ReadEarlyStop", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		all := points(12_000, 0, func(i int) float64 { return float64(i) / 3 })
		for i := 0; i < len(all); i += 1000 {
			if err := ss.AppendSeries(t.Context(), coll, "r1", "loss", all[i:i+1000]); err != nil {
				t.Fatal(err)
			}
		}
		watchdog(t, 3*time.Minute, func(ctx context.Context, round func() (context.Context, context.CancelFunc)) error {
			for r := range earlyStopRounds {
				ctx, cancel := round()
				defer cancel()
				n := 0
				for pts, err := range ss.ReadSeries(ctx, coll, "r1", "loss") {
					if err != nil {
						return fmt.Errorf("round %d: ReadSeries: %v", r, err)
					}
					if len(pts) == 0 || pts[0].Step != 0 {
						return fmt.Errorf("round %d: first batch %v does not start at step 0", r, pts[:min(len(pts), 3)])
					}
					n++
					break
				}
				if n != 1 {
					return fmt.Errorf("round %d: ReadSeries yielded nothing", r)
				}
				p := points(1, int64(len(all)), func(int) float64 { return float64(r) })
				if err := ss.AppendSeries(ctx, coll, "r1", "loss", p); err != nil {
					return fmt.Errorf("round %d: AppendSeries after an abandoned read: %v", r, err)
				}
				all = append(all, p...)
				if err := b.Merge(ctx, coll, "r1", []backend.Op{set(int64(r), "round")}); err != nil {
					return fmt.Errorf("round %d: Merge after an abandoned read: %v", r, err)
				}
			}
			got, err := readAll(ctx, ss, coll, "r1", "loss")
			if err != nil {
				return fmt.Errorf("ReadSeries after abandoned ones: %v", err)
			}
			if len(got) != len(all) {
				return fmt.Errorf("ReadSeries after abandoned ones: %d points, want %d", len(got), len(all))
			}
			for i := range got {
				if got[i].Step != all[i].Step || got[i].Value != all[i].Value || !got[i].Time.Equal(all[i].Time) {
					return fmt.Errorf("point %d = %+v, want %+v", i, got[i], all[i])
				}
			}
			if err := b.Drop(ctx, coll); err != nil {
				return fmt.Errorf("Drop after abandoned reads: %v", err)
			}
			return nil
		})
	})
}
