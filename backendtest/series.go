package backendtest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

func (s *suite) seriesStore(t *testing.T) (backend.Backend, backend.SeriesStore) {
	t.Helper()
	b := s.backend(t)
	ss, ok := b.(backend.SeriesStore)
	if !ok {
		t.Skip("backend does not implement SeriesStore")
	}
	return b, ss
}

func points(n int, start int64, f func(i int) float64) []backend.Point {
	pts := make([]backend.Point, n)
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i := range pts {
		pts[i] = backend.Point{Step: start + int64(i), Value: f(i), Time: base.Add(time.Duration(start+int64(i)) * time.Millisecond)}
	}
	return pts
}

func wantPoints(t *testing.T, ss backend.SeriesStore, c, id, name string, want []backend.Point) {
	t.Helper()
	got, err := readAll(t.Context(), ss, c, id, name)
	if err != nil {
		t.Fatalf("ReadSeries(%s): %v", name, err)
	}
	if want == nil {
		want = []backend.Point{}
	}
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Fatalf("series %s (-want +got):\n%s", name, diff)
	}
}

var specials = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324, math.MaxFloat64, 0.1 + 0.2, -1e-300}

func (s *suite) testSeries(t *testing.T) {
	t.Run("AppendRead", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		var all []backend.Point
		for batch := range 5 {
			pts := points(100, int64(batch*100), func(i int) float64 { return 1 / float64(batch*100+i+1) })
			if err := ss.AppendSeries(t.Context(), coll, "r1", "loss", pts); err != nil {
				t.Fatalf("AppendSeries: %v", err)
			}
			all = append(all, pts...)
		}
		wantPoints(t, ss, coll, "r1", "loss", all)
	})
	t.Run("AppendOrderNotStepOrder", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		pts := []backend.Point{{Step: 5, Value: 1}, {Step: 1, Value: 2}, {Step: 5, Value: 3}, {Step: -1, Value: 4}}
		for i := range pts {
			pts[i].Time = time.UnixMilli(int64(1000 - i)).UTC()
		}
		for _, p := range pts {
			if err := ss.AppendSeries(t.Context(), coll, "r1", "x", []backend.Point{p}); err != nil {
				t.Fatal(err)
			}
		}
		wantPoints(t, ss, coll, "r1", "x", pts)
	})
	t.Run("ExactBits", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		pts := points(len(specials), math.MaxInt64-int64(len(specials)), func(i int) float64 { return specials[i] })
		pts[0].Step = math.MinInt64
		if err := ss.AppendSeries(t.Context(), coll, "r1", "weird", pts); err != nil {
			t.Fatalf("AppendSeries: %v", err)
		}
		wantPoints(t, ss, coll, "r1", "weird", pts)
	})
	t.Run("SeparateMetricsAndRecords", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		mustInsert(t, b, coll, "r2", map[string]any{})
		mustInsert(t, b, "other", "r1", map[string]any{})
		a := points(3, 0, func(i int) float64 { return float64(i) })
		c := points(2, 0, func(i int) float64 { return -float64(i) })
		d := points(1, 0, func(i int) float64 { return 42 })
		e := points(4, 0, func(i int) float64 { return 7 })
		ctx := t.Context()
		for _, w := range []struct {
			c, id, name string
			pts         []backend.Point
		}{{coll, "r1", "loss", a}, {coll, "r1", "acc", c}, {coll, "r2", "loss", d}, {"other", "r1", "loss", e}} {
			if err := ss.AppendSeries(ctx, w.c, w.id, w.name, w.pts); err != nil {
				t.Fatal(err)
			}
		}
		wantPoints(t, ss, coll, "r1", "loss", a)
		wantPoints(t, ss, coll, "r1", "acc", c)
		wantPoints(t, ss, coll, "r2", "loss", d)
		wantPoints(t, ss, "other", "r1", "loss", e)
		wantPoints(t, ss, coll, "r1", "missing", nil)
	})
	t.Run("DeleteRemovesPoints", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		d, ok := b.(backend.Deleter)
		if !ok {
			t.Skip("backend does not implement Deleter")
		}
		mustInsert(t, b, coll, "r1", map[string]any{})
		mustInsert(t, b, coll, "r2", map[string]any{})
		pts := points(10, 0, func(i int) float64 { return 1 })
		for _, id := range []string{"r1", "r2"} {
			if err := ss.AppendSeries(t.Context(), coll, id, "loss", pts); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Delete(t.Context(), coll, "r1"); err != nil {
			t.Fatal(err)
		}
		wantPoints(t, ss, coll, "r1", "loss", nil)
		wantPoints(t, ss, coll, "r2", "loss", pts)
		// A record created again with the same id starts empty.
		mustInsert(t, b, coll, "r1", map[string]any{})
		wantPoints(t, ss, coll, "r1", "loss", nil)
	})
	t.Run("DropRemovesPoints", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		mustInsert(t, b, coll, "r1", map[string]any{})
		mustInsert(t, b, "kept", "r1", map[string]any{})
		pts := points(10, 0, func(i int) float64 { return 1 })
		for _, c := range []string{coll, "kept"} {
			if err := ss.AppendSeries(t.Context(), c, "r1", "loss", pts); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Drop(t.Context(), coll); err != nil {
			t.Fatal(err)
		}
		wantPoints(t, ss, coll, "r1", "loss", nil)
		wantPoints(t, ss, "kept", "r1", "loss", pts)
	})
	t.Run("NonFiniteSummary", func(t *testing.T) {
		// Runs that end on NaN, +Inf or -Inf: their summaries stay
		// queryable (ranking fields finite or null), they rank last, and
		// Resume continues them with the exact summary.
		st := s.store(t)
		ctx := t.Context()
		ends := map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "neginf": math.Inf(-1), "big": math.MaxFloat64, "ok": 0.25}
		for id, last := range ends {
			rec := s.create(t, st, record.WithID(id))
			rec.Log(0, record.Metrics{"loss": 0.5})
			rec.Log(1, record.Metrics{"loss": -math.MaxFloat64})
			rec.Log(2, record.Metrics{"loss": last})
			if err := rec.Flush(ctx); err != nil {
				t.Fatalf("Flush %s: %v", id, err)
			}
			if id == "nan" {
				// Resume from the stored summary, log once more, close.
				again, err := st.Resume(ctx, coll, id)
				if err != nil {
					t.Fatalf("Resume: %v", err)
				}
				again.Log(3, record.Metrics{"loss": math.NaN()})
				if err := again.Close(ctx, nil); err != nil {
					t.Fatalf("Close after Resume: %v", err)
				}
				rec.Close(ctx, nil) // sealed by the resumed handle
				continue
			}
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatalf("Close %s: %v", id, err)
			}
		}
		snap, err := st.Get(ctx, coll, "nan")
		if err != nil {
			t.Fatal(err)
		}
		got, err := snap.Map("metrics.loss")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"count": int64(4), "last": nil, "last_nonfinite": "NaN", "last_step": int64(3), "last_time": got["last_time"],
			"min": -math.MaxFloat64, "min_step": int64(1), "max": 0.5, "max_step": int64(0),
			"nans": int64(2), "infs": int64(0), "neg_infs": int64(0), "finite": int64(2),
			"sum": nil, "mean": nil, // 0.5 - MaxFloat64 is finite...
		}
		want["sum"], want["mean"] = 0.5-math.MaxFloat64, (0.5-math.MaxFloat64)/2
		if diff := Diff(want, got); diff != "" {
			t.Fatalf("summary of a run ending on NaN (-want +got):\n%s", diff)
		}
		for _, path := range []string{"metrics.loss.last", "metrics.loss.min", "metrics.loss.max", "metrics.loss.mean", "metrics.loss.sum"} {
			for id := range ends {
				sn, err := st.Get(ctx, coll, id)
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := sn.Get(path); ok && v != nil {
					if f, isF := v.(float64); !isF || math.IsNaN(f) || math.IsInf(f, 0) {
						t.Fatalf("%s of %s = %#v, want a finite number or null", path, id, v)
					}
				}
			}
		}
		var order []string
		for sn, err := range st.List(ctx, coll, record.OrderBy("metrics.loss.last", false), record.Fields("id")) {
			if err != nil {
				t.Fatal(err)
			}
			order = append(order, sn.ID())
		}
		if diff := cmp.Diff([]string{"ok", "big", "inf", "nan", "neginf"}, order); diff != "" {
			t.Fatalf("order by metrics.loss.last (-want +got):\n%s", diff)
		}
		over := s.create(t, st, record.WithID("overflow"))
		over.Log(0, record.Metrics{"loss": math.MaxFloat64})
		over.Log(1, record.Metrics{"loss": math.MaxFloat64})
		if err := over.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
		sn, err := st.Get(ctx, coll, "overflow")
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := sn.Map("metrics.loss"); m["sum"] != nil || m["mean"] != nil || m["max"] != math.MaxFloat64 || m["last"] != math.MaxFloat64 {
			t.Fatalf("a sum that overflows must be null, the rest exact: %v", m)
		}
	})
	t.Run("LogAndSummary", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		rec := s.create(t, st, record.WithBatchSize(64))
		values := []float64{0.9, 0.7, math.NaN(), 0.3, math.Inf(1), 0.5, -0.1, 0.2}
		for i := range 2500 {
			v := values[i%len(values)]
			rec.Log(int64(i), record.Metrics{"loss": v, "acc": float64(i) / 2500})
		}
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatalf("Close: %v", err)
		}
		snap, err := st.Get(ctx, coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		ser, err := snap.LoadSeries(ctx, "loss")
		if err != nil {
			t.Fatalf("Series: %v", err)
		}
		if len(ser.Steps) != 2500 || len(ser.Values) != 2500 || len(ser.Times) != 2500 {
			t.Fatalf("Series has %d steps, %d values, %d times; want 2500", len(ser.Steps), len(ser.Values), len(ser.Times))
		}
		for i := range 2500 {
			want := values[i%len(values)]
			if ser.Steps[i] != int64(i) || math.Float64bits(ser.Values[i]) != math.Float64bits(want) && !(math.IsNaN(want) && math.IsNaN(ser.Values[i])) {
				t.Fatalf("point %d = (%d, %v), want (%d, %v)", i, ser.Steps[i], ser.Values[i], i, want)
			}
		}
		// Ranking fields are finite numbers or null; non-finite points are
		// counted (313 NaN and 312 +Inf among 2500).
		want := map[string]any{
			"count": int64(2500), "last": 0.3, "last_step": int64(2499), "last_time": ser.Times[2499],
			"min": -0.1, "min_step": int64(6), "max": 0.9, "max_step": int64(0),
			"nans": int64(313), "infs": int64(312), "neg_infs": int64(0), "finite": int64(2500 - 313 - 312),
		}
		got, err := snap.Map("metrics.loss")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"mean", "sum"} {
			if v, ok := got[k].(float64); !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("metrics.loss.%s = %v, want a finite number", k, got[k])
			}
			delete(got, k)
		}
		if diff := Diff(want, got); diff != "" {
			t.Fatalf("metrics.loss summary (-want +got):\n%s", diff)
		}
		if last, _ := snap.Float64("metrics.acc.last"); last != 2499.0/2500 {
			t.Fatalf("metrics.acc.last = %v", last)
		}
		// The summary never holds the points.
		if _, ok := snap.Get("metrics.loss.values"); ok {
			t.Fatal("points stored in the document")
		}
	})
	t.Run("LogConcurrent", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st, record.WithBatchSize(100), record.WithFlushInterval(5*time.Millisecond))
		done := make(chan struct{})
		for g := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := range 500 {
					rec.Log(int64(g*1000+i), record.Metrics{"loss": float64(i)})
				}
			}()
		}
		for range 8 {
			<-done
		}
		if err := rec.Close(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		snap, _ := st.Get(t.Context(), coll, rec.ID())
		ser, err := snap.LoadSeries(t.Context(), "loss")
		if err != nil {
			t.Fatal(err)
		}
		if len(ser.Values) != 4000 {
			t.Fatalf("%d points stored, want 4000", len(ser.Values))
		}
		if n, _ := snap.Int64("metrics.loss.count"); n != 4000 {
			t.Fatalf("metrics.loss.count = %d, want 4000", n)
		}
	})
	t.Run("DeleteRecordRemovesSeries", func(t *testing.T) {
		st := s.store(t)
		ctx := t.Context()
		rec := s.create(t, st, record.WithID("same-id"))
		rec.Log(1, record.Metrics{"loss": 1})
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, coll, rec.ID()); err != nil {
			t.Fatal(err)
		}
		again := s.create(t, st, record.WithID("same-id"))
		if err := again.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
		snap, _ := st.Get(ctx, coll, "same-id")
		ser, err := snap.LoadSeries(ctx, "loss")
		if err != nil || len(ser.Values) != 0 {
			t.Fatalf("series of a re-created record = %v, %v; want empty", ser.Values, err)
		}
	})
	s.testSeriesBatches(t)
	s.testReadEarlyStop(t)
}

// readAll collects every batch ReadSeries yields.
func readAll(ctx context.Context, ss backend.SeriesStore, c, id, name string) ([]backend.Point, error) {
	got := []backend.Point{}
	for pts, err := range ss.ReadSeries(ctx, c, id, name) {
		if err != nil {
			return got, err
		}
		got = append(got, pts...)
	}
	return got, nil
}

// maxReadBatch bounds the batches ReadSeries yields when points were
// appended in batches of at most a few thousand.
const maxReadBatch = 10_000

// seriesWithSizes returns n points and the sizes of the batches to append
// them in: uneven, at most 4096.
func seriesWithSizes(n int) ([]backend.Point, []int) {
	pts := points(n, 0, func(i int) float64 {
		if i%1000 < len(specials) {
			return specials[i%1000]
		}
		return float64(i) / 7
	})
	var sizes []int
	cycle := []int{1000, 1, 4096, 999, 3, 2500, 7}
	for left, k := n, 0; left > 0; k++ {
		sz := min(left, cycle[k%len(cycle)])
		sizes = append(sizes, sz)
		left -= sz
	}
	return pts, sizes
}

// checkBatches reads a series through read and checks the batches: none
// empty, none over maxReadBatch, together exactly want in order.
func checkBatches(t *testing.T, read func(yield func([]backend.Point, error) bool), want []backend.Point) {
	t.Helper()
	got := []backend.Point{}
	batches := 0
	for pts, err := range read {
		if err != nil {
			t.Fatalf("reading the series: %v", err)
		}
		if len(pts) == 0 {
			t.Fatalf("batch %d is empty", batches)
		}
		if len(pts) > maxReadBatch {
			t.Fatalf("batch %d holds %d points, over %d: memory would grow with the series", batches, len(pts), maxReadBatch)
		}
		got = append(got, pts...)
		batches++
	}
	if len(got) != len(want) {
		t.Fatalf("read %d points in %d batches, want %d", len(got), batches, len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		sameValue := math.Float64bits(w.Value) == math.Float64bits(g.Value) || math.IsNaN(w.Value) && math.IsNaN(g.Value)
		if w.Step != g.Step || !sameValue || !w.Time.Equal(g.Time) || w.Time.Location() != g.Time.Location() {
			t.Fatalf("point %d of the series read in %d batches = %+v, want %+v", i, batches, g, w)
		}
	}
}

// testSeriesBatches checks that ReadSeries streams a long series in
// bounded batches, exactly, through the Backend and through record.
func (s *suite) testSeriesBatches(t *testing.T) {
	t.Run("ReadBatches", func(t *testing.T) {
		b, ss := s.seriesStore(t)
		ctx := t.Context()
		mustInsert(t, b, coll, "r1", map[string]any{})
		all, sizes := seriesWithSizes(100_000)
		at := 0
		for _, sz := range sizes {
			if err := ss.AppendSeries(ctx, coll, "r1", "loss", all[at:at+sz]); err != nil {
				t.Fatalf("AppendSeries: %v", err)
			}
			at += sz
		}
		checkBatches(t, ss.ReadSeries(ctx, coll, "r1", "loss"), all)
		// The caller owns each batch: changing one changes nothing stored.
		for pts, err := range ss.ReadSeries(ctx, coll, "r1", "loss") {
			if err != nil {
				t.Fatal(err)
			}
			for i := range pts {
				pts[i].Value, pts[i].Step = -42, -42
			}
		}
		checkBatches(t, ss.ReadSeries(ctx, coll, "r1", "loss"), all)
	})
	t.Run("StoreSeriesBatches", func(t *testing.T) {
		b := fresh(t, s.h)
		st := storeOver(t, b)
		ss, ok := b.(backend.SeriesStore)
		if !ok {
			t.Skip("backend does not implement SeriesStore")
		}
		ctx := t.Context()
		mustInsert(t, b, coll, "r1", map[string]any{"status": "running"})
		all, sizes := seriesWithSizes(30_000)
		at := 0
		for _, sz := range sizes {
			if err := ss.AppendSeries(ctx, coll, "r1", "loss", all[at:at+sz]); err != nil {
				t.Fatalf("AppendSeries: %v", err)
			}
			at += sz
		}
		snap, err := st.Get(ctx, coll, "r1")
		if err != nil {
			t.Fatal(err)
		}
		checkBatches(t, snap.Series(ctx, "loss"), all)
		ser, err := snap.LoadSeries(ctx, "loss")
		if err != nil || len(ser.Steps) != len(all) {
			t.Fatalf("LoadSeries: %d points, %v; want %d", len(ser.Steps), err, len(all))
		}
		checkBatches(t, snap.Series(ctx, "missing"), []backend.Point{})
	})
}
