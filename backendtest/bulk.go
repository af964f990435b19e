package backendtest

import (
	"bytes"
	"cmp"
	"context"
	"iter"
	"math"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// scanSeries is one series as SeriesScanner yields it, its chunks joined.
type scanSeries struct {
	ID, Name string
	Points   []backend.Point
}

// scanKey orders series by id, then name, as Go compares strings.
func scanKey(a, b scanSeries) int {
	return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Name, b.Name))
}

// scanAll joins the chunks of a ScanSeries read into series, checking
// that they come in (id, name) order, each series in one run of chunks,
// none empty and none over maxChunk points.
func scanAll(t *testing.T, sc backend.SeriesScanner, c, from string) []scanSeries {
	t.Helper()
	const maxChunk = 10_000
	out := []scanSeries{}
	for ch, err := range sc.ScanSeries(t.Context(), c, from) {
		if err != nil {
			t.Fatalf("ScanSeries(%q, %q): %v", c, from, err)
		}
		if len(ch.Points) == 0 || len(ch.Points) > maxChunk {
			t.Fatalf("ScanSeries yielded a chunk of %d points of %s/%s; want 1 to %d", len(ch.Points), ch.ID, ch.Name, maxChunk)
		}
		s := scanSeries{ch.ID, ch.Name, nil}
		if n := len(out); n > 0 && scanKey(out[n-1], s) == 0 {
			out[n-1].Points = append(out[n-1].Points, ch.Points...)
			continue
		}
		if n := len(out); n > 0 && scanKey(out[n-1], s) > 0 {
			t.Fatalf("ScanSeries yielded %s/%s after %s/%s", s.ID, s.Name, out[n-1].ID, out[n-1].Name)
		}
		s.Points = slices.Clone(ch.Points)
		out = append(out, s)
	}
	return out
}

// testBulk checks backend.SeriesScanner: every series of a collection in
// (id, name) order, ids of every form a store keeps (generated ObjectId
// layout, upper-case hex and user ids), names beyond ASCII, points with
// hostile values, steps and times; from, early stop, other collections
// and deleted records; and that record's Export writes the same bytes
// through it as through ReadSeries.
func (s *suite) testBulk(t *testing.T) {
	setup := func(t *testing.T) (backend.Backend, backend.SeriesScanner, []scanSeries) {
		b, ss := s.seriesStore(t)
		sc, ok := b.(backend.SeriesScanner)
		if !ok {
			t.Skip("backend does not implement SeriesScanner: record reads series per record")
		}
		ids := []string{"run-b", "5f00000000000000000000a1", "5F00000000000000000000A1", "5f00000000000000000000a0",
			"0", "Z_9.x", "run-a", "6a0000000000000000000000"}
		names := []string{"loss", "acc", "train/loss", "ünï", "a b", "Loss"}
		base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		var want []scanSeries
		for i, id := range ids {
			mustInsert(t, b, coll, id, map[string]any{"i": int64(i)})
			mustInsert(t, b, coll+"-other", id, map[string]any{})
			if err := ss.AppendSeries(t.Context(), coll+"-other", id, "loss", points(3, 0, func(int) float64 { return 9 })); err != nil {
				t.Fatal(err)
			}
			if i == 4 {
				continue // a record without series
			}
			for j, name := range names[:1+i%len(names)] {
				n := 1 + (i*7+j*3)%11
				if i == 1 && j == 0 {
					n = 9_000 // several chunks on every backend
				}
				pts := make([]backend.Point, n)
				for k := range pts {
					pts[k] = backend.Point{
						Step:  int64(k*k) - int64(j),
						Value: specials[(i+j+k)%len(specials)] * float64(1-2*(k%2)),
						Time:  base.Add(time.Duration(i*1000+j*100+k) * time.Millisecond),
					}
				}
				switch {
				case i == 2 && j == 0:
					pts[0].Step, pts[n-1].Step = math.MinInt64, math.MaxInt64
					pts[0].Time = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
				case i == 3 && j == 1:
					pts[0].Time = time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC)
				}
				want = append(want, scanSeries{id, name, pts})
			}
		}
		// Append in batches that interleave the series, as live runs do.
		for k := 0; ; k += 1500 {
			more := false
			for _, w := range want {
				if k < len(w.Points) {
					if err := ss.AppendSeries(t.Context(), coll, w.ID, w.Name, w.Points[k:min(k+1500, len(w.Points))]); err != nil {
						t.Fatal(err)
					}
					more = true
				}
			}
			if !more {
				break
			}
		}
		slices.SortFunc(want, scanKey)
		return b, sc, want
	}

	t.Run("ScanSeries", func(t *testing.T) {
		b, sc, want := setup(t)
		if diff := gocmp.Diff(want, scanAll(t, sc, coll, ""), exact); diff != "" {
			t.Fatalf("ScanSeries (-want +got):\n%s", diff)
		}
		if got := scanAll(t, sc, "no-such-collection", ""); len(got) != 0 {
			t.Errorf("ScanSeries of a missing collection yielded %d series", len(got))
		}
		d, ok := b.(backend.Deleter)
		if !ok {
			return
		}
		gone := want[len(want)/2].ID
		if err := d.Delete(t.Context(), coll, gone); err != nil {
			t.Fatal(err)
		}
		kept := slices.DeleteFunc(slices.Clone(want), func(w scanSeries) bool { return w.ID == gone })
		if diff := gocmp.Diff(kept, scanAll(t, sc, coll, ""), exact); diff != "" {
			t.Fatalf("ScanSeries after deleting %s (-want +got):\n%s", gone, diff)
		}
	})
	t.Run("From", func(t *testing.T) {
		_, sc, want := setup(t)
		for _, from := range []string{want[3].ID, "5f", "5f00000000000000000000a0x", "5F00000000000000000000A1", "5f00000000000000000000a1", "run", "zzz", "-"} {
			i := slices.IndexFunc(want, func(w scanSeries) bool { return w.ID >= from })
			if i < 0 {
				i = len(want)
			}
			if diff := gocmp.Diff(want[i:], scanAll(t, sc, coll, from), exact); diff != "" {
				t.Fatalf("ScanSeries from %q (-want +got):\n%s", from, diff)
			}
		}
	})
	t.Run("EarlyStop", func(t *testing.T) {
		_, sc, want := setup(t)
		for range 3 {
			for ch, err := range sc.ScanSeries(t.Context(), coll, "") {
				if err != nil {
					t.Fatal(err)
				}
				if ch.ID != want[0].ID {
					t.Fatalf("first chunk of %s, want %s", ch.ID, want[0].ID)
				}
				break
			}
		}
		if diff := gocmp.Diff(want, scanAll(t, sc, coll, ""), exact); diff != "" {
			t.Fatalf("ScanSeries after early stops (-want +got):\n%s", diff)
		}
		for _, err := range sc.ScanSeries(cancelled(t), coll, "") {
			if err == nil {
				t.Fatal("ScanSeries with a cancelled context yielded a chunk")
			}
			wantErr(t, "ScanSeries with a cancelled context", err, context.Canceled)
		}
	})
	t.Run("Export", func(t *testing.T) {
		b, _, _ := setup(t)
		st := storeOver(t, b)
		ctx := t.Context()
		for i := range 3 {
			rec, err := st.Create(ctx, coll, record.WithoutHost())
			if err != nil {
				t.Fatal(err)
			}
			for step := range 700 * i {
				rec.Log(int64(step), record.Metrics{"loss": specials[step%len(specials)], "acc": float64(step)})
			}
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
		perRecord := record.NewStore(hideScanner{b})
		for _, opts := range [][]record.ListOption{nil, {record.Limit(4)}, {record.After("5f")}} {
			var want, got bytes.Buffer
			if _, err := perRecord.Export(ctx, coll, &want, opts...); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Export(ctx, coll, &got, opts...); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("Export through ScanSeries differs from Export through ReadSeries:\nwant %.2000s\ngot  %.2000s", want.String(), got.String())
			}
		}
	})
}

// hideScanner is a backend without SeriesScanner (and without what record
// does not need to export).
type hideScanner struct{ backend.Backend }

func (h hideScanner) List(ctx context.Context, c string, q backend.Query) iter.Seq2[backend.Item, error] {
	return h.Backend.(backend.Lister).List(ctx, c, q)
}

func (h hideScanner) Collections(ctx context.Context) ([]string, error) {
	return h.Backend.(backend.Lister).Collections(ctx)
}

func (h hideScanner) AppendSeries(ctx context.Context, c, id, name string, pts []backend.Point) error {
	return h.Backend.(backend.SeriesStore).AppendSeries(ctx, c, id, name, pts)
}

func (h hideScanner) ReadSeries(ctx context.Context, c, id, name string) iter.Seq2[[]backend.Point, error] {
	return h.Backend.(backend.SeriesStore).ReadSeries(ctx, c, id, name)
}

// Close leaves the backend to the store that owns it.
func (h hideScanner) Close() error { return nil }
