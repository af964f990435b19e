package mongo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
)

// hostileFloats are values every series must store and read back exactly.
var hostileFloats = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	math.Copysign(0, -1), math.SmallestNonzeroFloat64, 0, 1.5, -3}

// hostilePoints returns n points from step first on, with hostile values.
func hostilePoints(first int64, n int) []backend.Point {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	for i := range pts {
		s := first + int64(i)
		pts[i] = backend.Point{Step: s, Value: hostileFloats[s%int64(len(hostileFloats))], Time: t0.Add(time.Duration(s) * time.Millisecond)}
	}
	return pts
}

// samePoints reports whether two series are equal point by point, NaN
// equal to NaN and -0 told from 0.
func samePoints(a, b []backend.Point) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d points, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Step != b[i].Step || !a[i].Time.Equal(b[i].Time) ||
			math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) && !(math.IsNaN(a[i].Value) && math.IsNaN(b[i].Value)) {
			return fmt.Errorf("point %d = %+v, want %+v", i, a[i], b[i])
		}
	}
	return nil
}

// counterBatch is a batch as package record builds them: the writer's mark
// at batches.<w> says which batches were applied, the guard "applied"
// counts applied batches, and metrics.<m>.count counts points. Update
// counts its calls in calls.
func counterBatch(w string, seq int64, m string, pts []backend.Point, calls *atomic.Int64) backend.Batch {
	return backend.Batch{
		Writer: w, Seq: seq, Metric: m, Points: pts,
		Reads: [][]string{{"batches", w}, {"metrics", m, "count"}},
		Guard: []string{"applied"},
		Update: func(doc map[string]any) ([]backend.Op, bool, error) {
			if calls != nil {
				calls.Add(1)
			}
			if v, ok := backend.Lookup(doc, []string{"batches", w}); ok && v.(int64) >= seq {
				return nil, false, nil
			}
			applied, _ := backend.Lookup(doc, []string{"applied"})
			ops := []backend.Op{
				{Kind: backend.Set, Path: []string{"batches", w}, Value: seq},
				{Kind: backend.Set, Path: []string{"applied"}, Value: asInt(applied) + 1},
			}
			if m != "" {
				count, _ := backend.Lookup(doc, []string{"metrics", m, "count"})
				ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"metrics", m, "count"}, Value: asInt(count) + int64(len(pts))})
			}
			return ops, true, nil
		},
	}
}

func asInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

// lookupInt returns the integer at path of the stored record.
func lookupInt(t *testing.T, b *recmongo.Backend, id string, path ...string) int64 {
	t.Helper()
	doc, err := b.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	v, _ := backend.Lookup(doc, path)
	n, ok := v.(int64)
	if !ok {
		t.Fatalf("%s = %#v, want an int64", strings.Join(path, "."), v)
	}
	return n
}

// TestApplyBatchExactlyOnce: a batch applied twice (a retry after a lost
// acknowledgement) stores its points and changes the document once; a
// batch whose points were stored by an attempt that crashed before the
// document change stores them no second time and completes the change;
// batch buckets and AppendSeries buckets read in append order; writer and
// metric names with quotes, backslashes and control characters work.
func TestApplyBatchExactlyOnce(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	const id = "rec-1"
	if err := b.Insert(ctx, coll, id, map[string]any{"name": "x"}); err != nil {
		t.Fatal(err)
	}
	w := "w\"\\\x01 ␛$"
	m := "a\"b\\c d"
	var want []backend.Point

	old := hostilePoints(0, 10)
	if err := b.AppendSeries(ctx, coll, id, m, old); err != nil {
		t.Fatal(err)
	}
	want = append(want, old...)

	pts1 := hostilePoints(10, 1000)
	var calls atomic.Int64
	bt1 := counterBatch(w, 1, m, pts1, &calls)
	for range 3 { // the first attempt and two retries
		if err := b.ApplyBatch(ctx, coll, id, bt1); err != nil {
			t.Fatalf("ApplyBatch 1: %v", err)
		}
	}
	want = append(want, pts1...)
	if got := calls.Load(); got != 3 {
		t.Errorf("Update called %d times for 3 ApplyBatch calls, want 3", got)
	}

	mid := hostilePoints(1010, 5)
	if err := b.AppendSeries(ctx, coll, id, m, mid); err != nil {
		t.Fatal(err)
	}
	want = append(want, mid...)

	// Batch 2's points were stored, then the writer crashed.
	pts2 := hostilePoints(1015, 300)
	bt2 := counterBatch(w, 2, m, pts2, nil)
	if err := recmongo.InsertBatchPoints(ctx, b, coll, id, bt2); err != nil {
		t.Fatal(err)
	}
	if n := lookupInt(t, b, id, "metrics", m, "count"); n != 1000 {
		t.Fatalf("count after the crash = %d, want 1000", n)
	}
	for range 2 {
		if err := b.ApplyBatch(ctx, coll, id, bt2); err != nil {
			t.Fatalf("ApplyBatch 2: %v", err)
		}
	}
	want = append(want, pts2...)

	// A batch with no points changes the document only.
	if err := b.ApplyBatch(ctx, coll, id, counterBatch(w, 3, "", nil, nil)); err != nil {
		t.Fatalf("ApplyBatch 3: %v", err)
	}

	if err := samePoints(readSeries(t, b, coll, id, m), want); err != nil {
		t.Errorf("series: %v", err)
	}
	if n := lookupInt(t, b, id, "metrics", m, "count"); n != 1300 {
		t.Errorf("metrics.count = %d, want 1300", n)
	}
	if n := lookupInt(t, b, id, "applied"); n != 3 {
		t.Errorf("applied = %d, want 3", n)
	}
	if n := lookupInt(t, b, id, "batches", w); n != 3 {
		t.Errorf("batches.<w> = %d, want 3", n)
	}
	names, err := b.SeriesNames(ctx, coll, id)
	if err != nil || !slices.Equal(names, []string{m}) {
		t.Errorf("SeriesNames = %q, %v; want [%q]", names, err, m)
	}

	// A writer name with invalid UTF-8 (used only in the bucket keys).
	bad := backend.Batch{Writer: "\xff\xfe\"", Seq: 1, Metric: "other", Points: hostilePoints(0, 3), Guard: []string{"applied"},
		Update: func(map[string]any) ([]backend.Op, bool, error) { return nil, true, nil }}
	for range 2 {
		if err := b.ApplyBatch(ctx, coll, id, bad); err != nil {
			t.Fatalf("ApplyBatch with an invalid UTF-8 writer: %v", err)
		}
	}
	if err := samePoints(readSeries(t, b, coll, id, "other"), hostilePoints(0, 3)); err != nil {
		t.Errorf("series other: %v", err)
	}
}

// TestApplyBatchCompareAndSwap: when another writer changes the guard
// between ApplyBatch's read and its update, ApplyBatch reads again and
// calls Update again, so neither change is lost; when the other writer
// turns out to have applied this very batch, Update's !apply ends it and
// the points are stored once.
func TestApplyBatchCompareAndSwap(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	const id = "rec-cas"
	if err := b.Insert(ctx, coll, id, map[string]any{"applied": int64(5)}); err != nil {
		t.Fatal(err)
	}
	pts := hostilePoints(0, 50)
	var calls atomic.Int64
	inner := counterBatch("w1", 1, "loss", pts, &calls)
	bt := inner
	bt.Update = func(doc map[string]any) ([]backend.Op, bool, error) {
		ops, apply, err := inner.Update(doc)
		if calls.Load() == 1 { // another writer gets in between
			if err := b.Merge(ctx, coll, id, []backend.Op{
				{Kind: backend.Set, Path: []string{"applied"}, Value: int64(6)},
				{Kind: backend.Set, Path: []string{"other"}, Value: "x"},
			}); err != nil {
				t.Errorf("Merge: %v", err)
			}
		}
		return ops, apply, err
	}
	if err := b.ApplyBatch(ctx, coll, id, bt); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("Update called %d times, want 2", got)
	}
	if n := lookupInt(t, b, id, "applied"); n != 7 {
		t.Errorf("applied = %d, want 7 (5, the other writer's 6, then this batch)", n)
	}
	if n := lookupInt(t, b, id, "metrics", "loss", "count"); n != 50 {
		t.Errorf("count = %d, want 50", n)
	}

	// The other writer applies this batch (its retry, say) in between.
	calls.Store(0)
	inner2 := counterBatch("w1", 2, "loss", hostilePoints(50, 20), &calls)
	bt2 := inner2
	bt2.Update = func(doc map[string]any) ([]backend.Op, bool, error) {
		ops, apply, err := inner2.Update(doc)
		if calls.Load() == 1 {
			if err := b.Merge(ctx, coll, id, ops); err != nil {
				t.Errorf("Merge: %v", err)
			}
		}
		return ops, apply, err
	}
	if err := b.ApplyBatch(ctx, coll, id, bt2); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("Update called %d times, want 2", got)
	}
	if n := lookupInt(t, b, id, "applied"); n != 8 {
		t.Errorf("applied = %d, want 8", n)
	}
	if n := lookupInt(t, b, id, "metrics", "loss", "count"); n != 70 {
		t.Errorf("count = %d, want 70", n)
	}
	if err := samePoints(readSeries(t, b, coll, id, "loss"), hostilePoints(0, 70)); err != nil {
		t.Errorf("series: %v", err)
	}
}

// TestApplyBatchConcurrent: goroutines applying batches of several writers
// to one record lose no document change and store every point once, each
// writer's points in its order. On MongoDB the writers also use Backends
// of their own (separate connection pools, as separate processes would).
func TestApplyBatchConcurrent(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	const id = "rec-conc"
	if err := b.Insert(ctx, coll, id, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	backends := []*recmongo.Backend{b}
	if !b.FerretDB() {
		for range 2 {
			o, err := recmongo.Open(ctx, withDatabase(t, serverDSN(t), b.Database()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { o.Close() })
			backends = append(backends, o)
		}
	}
	const writers, batches, per = 6, 12, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			be := backends[w%len(backends)]
			name := fmt.Sprintf("w%d", w)
			for s := range int64(batches) {
				pts := hostilePoints(int64(w)*1_000_000+s*per, per)
				if err := be.ApplyBatch(ctx, coll, id, counterBatch(name, s+1, "loss", pts, nil)); err != nil {
					t.Errorf("writer %d batch %d: %v", w, s+1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := lookupInt(t, b, id, "applied"); n != writers*batches {
		t.Errorf("applied = %d, want %d", n, writers*batches)
	}
	if n := lookupInt(t, b, id, "metrics", "loss", "count"); n != writers*batches*per {
		t.Errorf("count = %d, want %d", n, writers*batches*per)
	}
	got := readSeries(t, b, coll, id, "loss")
	if len(got) != writers*batches*per {
		t.Fatalf("%d points stored, want %d", len(got), writers*batches*per)
	}
	last := map[int64]int64{}
	for _, p := range got {
		w := p.Step / 1_000_000
		if prev, ok := last[w]; ok && p.Step != prev+1 {
			t.Fatalf("writer %d: step %d after %d", w, p.Step, prev)
		}
		last[w] = p.Step
	}
}

// TestApplyBatchErrors: an absent record is ErrNotFound, an op through a
// scalar ErrInvalid, a result over 16 MiB ErrTooLarge, Update's own error
// comes back as is, an op on _id is ErrInvalid; none of them stores a
// point or changes the document.
func TestApplyBatchErrors(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	const id = "rec-err"
	if err := b.Insert(ctx, coll, id, map[string]any{"name": "x", "applied": int64(1)}); err != nil {
		t.Fatal(err)
	}
	opsBatch := func(ops ...backend.Op) backend.Batch {
		return backend.Batch{Writer: "w", Seq: 1, Metric: "loss", Points: hostilePoints(0, 10), Guard: []string{"applied"},
			Update: func(map[string]any) ([]backend.Op, bool, error) { return ops, true, nil }}
	}
	mine := errors.New("update says no")
	errBatch := opsBatch()
	errBatch.Update = func(map[string]any) ([]backend.Op, bool, error) { return nil, true, mine }
	cases := []struct {
		name string
		id   string
		bt   backend.Batch
		want error
	}{
		{"absent record", "nope", counterBatch("w", 1, "loss", hostilePoints(0, 10), nil), backend.ErrNotFound},
		{"through a scalar", id, opsBatch(backend.Op{Kind: backend.Set, Path: []string{"name", "x"}, Value: int64(1)}), backend.ErrInvalid},
		{"append to a string", id, opsBatch(backend.Op{Kind: backend.Append, Path: []string{"name"}, Value: []any{int64(1)}}), backend.ErrInvalid},
		{"_id", id, opsBatch(backend.Op{Kind: backend.Set, Path: []string{"_id"}, Value: "x"}), backend.ErrInvalid},
		{"too large", id, opsBatch(backend.Op{Kind: backend.Set, Path: []string{"big"}, Value: strings.Repeat("x", recmongo.MaxDocBytes)}), backend.ErrTooLarge},
		{"Update's error", id, errBatch, mine},
	}
	for _, c := range cases {
		err := b.ApplyBatch(ctx, coll, c.id, c.bt)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: ApplyBatch = %v, want %v", c.name, err, c.want)
		}
		if c.name == "Update's error" && err != mine {
			t.Errorf("%s: ApplyBatch = %#v, want Update's error itself", c.name, err)
		}
		names, err := b.SeriesNames(ctx, coll, c.id)
		if err != nil || len(names) != 0 {
			t.Errorf("%s: SeriesNames = %q, %v; want none", c.name, names, err)
		}
	}
	doc, err := b.Get(ctx, coll, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"name": "x", "applied": int64(1)}; fmt.Sprint(doc) != fmt.Sprint(want) {
		t.Errorf("document = %v, want %v", doc, want)
	}
}

// TestSeriesNames: the sorted distinct metric names of one record (not of
// its neighbours), with hostile names, under a context deadline (the
// distinct command fails on FerretDB then).
func TestSeriesNames(t *testing.T) {
	b, _ := open(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	names := []string{"zeta", "a\"b", "back\\slash", "tab\tin", "ünï", "␛", "train/loss", " lead", "end$"}
	for _, id := range []string{"r1", "r2"} {
		for i, n := range names {
			if id == "r2" && i > 1 {
				break
			}
			if err := b.AppendSeries(ctx, coll, id, n+id[1:], hostilePoints(0, 2)); err != nil {
				t.Fatal(err)
			}
			if err := b.AppendSeries(ctx, coll, id, n+id[1:], hostilePoints(2, 2)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := b.SeriesNames(ctx, coll, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range names {
		want = append(want, n+"1")
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("SeriesNames = %q, want %q", got, want)
	}
	if got, err := b.SeriesNames(ctx, "NoSuchCollection", "r1"); err != nil || len(got) != 0 {
		t.Errorf("SeriesNames of a missing collection = %q, %v; want none", got, err)
	}
}

// TestApplyBatchBusy checks which errors ApplyBatch retries: FerretDB's
// SQLite lock contention (the statement did nothing), and nothing else.
func TestApplyBatchBusy(t *testing.T) {
	b, _ := open(t)
	for _, c := range []struct {
		err  error
		busy bool
	}{
		{nil, false},
		{errors.New("(InternalError) database is locked (5) (SQLITE_BUSY)"), b.FerretDB()},
		{fmt.Errorf("mongo: %w", errors.New("sqlite: step: database is locked")), b.FerretDB()},
		{errors.New("E11000 duplicate key error"), false},
		{context.DeadlineExceeded, false},
		{errors.New("connection refused"), false},
	} {
		if got := recmongo.Busy(b, c.err); got != c.busy {
			t.Errorf("Busy(%v) = %v, want %v (FerretDB %v)", c.err, got, c.busy, b.FerretDB())
		}
	}
}
