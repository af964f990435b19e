package backendtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// The MultiBatch test: backend.MultiBatchStore applies several batches of
// one writer (several metrics, consecutive sequence numbers) as one
// atomic step, exactly once, and package record's writer, which sends
// the batches of a cut that way, loses and doubles nothing when an
// acknowledgement is lost.

// multiMetrics are metric names that quoting, escaping or path handling
// could break.
var multiMetrics = []string{`quote"d`, `back\slash`, "tab\tnew\nline", "ünï cødé ∑", "ctl\x01\x1f", " ", `'); drop table records; --`}

// multiValue is the i-th value of writer w's points: hostile values
// among multiples of 0.5 (whose sums are exact in any order).
func multiValue(w, i int) float64 {
	switch i % 11 {
	case 3:
		return math.NaN()
	case 4:
		return math.Inf(1)
	case 5:
		return math.Inf(-1)
	case 6:
		return math.Copysign(0, -1)
	case 7:
		return 5e-324
	case 8:
		return math.MaxFloat64
	case 9:
		return -math.MaxFloat64
	}
	return float64((i*37+w*13)%401-200) * 0.5
}

// multiPoints returns n points of writer w of `of` writers, the i-th of
// them at step (from+i)*of+w, so that no two writers share a step.
func multiPoints(w, of int, from, n int) []backend.Point {
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	for i := range pts {
		k := from + i
		pts[i] = backend.Point{Step: int64(k*of + w), Value: multiValue(w, k), Time: base.Add(time.Duration(k) * time.Millisecond)}
	}
	return pts
}

// errMultiOverlap is what markedMulti's Update returns when the writer's
// mark lies inside the group.
var errMultiOverlap = errors.New("the writer's mark lies inside the group")

// markedMulti returns a MultiBatch as package record's writer sends it, in
// miniature: Update applies it only if batches.<writer> is below the
// first part's Seq (nothing if it is at least the last one's, an error in
// between), and then adds each metric's point count to
// metrics.<m>.count, sets the mark and increments the guard "applied".
func markedMulti(writer string, parts []backend.Part, ops ...backend.Op) backend.MultiBatch {
	first, last := parts[0].Seq, parts[len(parts)-1].Seq
	reads := [][]string{{"batches", writer}, {"applied"}}
	for _, p := range parts {
		reads = append(reads, []string{"metrics", p.Metric})
	}
	return backend.MultiBatch{
		Writer: writer, Parts: parts, Reads: reads, Guard: []string{"applied"},
		Update: func(doc map[string]any) ([]backend.Op, bool, error) {
			mark, _ := counter(doc, "batches", writer)
			switch {
			case mark >= last:
				return nil, false, nil
			case mark >= first:
				return nil, false, fmt.Errorf("mark %d, parts %d..%d: %w", mark, first, last, errMultiOverlap)
			}
			counts := map[string]int64{}
			var names []string
			for _, p := range parts {
				if _, ok := counts[p.Metric]; !ok {
					n, _ := counter(doc, "metrics", p.Metric, "count")
					counts[p.Metric] = n
					names = append(names, p.Metric)
				}
				counts[p.Metric] += int64(len(p.Points))
			}
			out := slices.Clip(ops)
			for _, name := range names {
				out = append(out, set(map[string]any{"count": counts[name]}, "metrics", name))
			}
			n, _ := counter(doc, "applied")
			return append(out, set(last, "batches", writer), set(n+1, "applied")), true, nil
		},
	}
}

// multiStore returns a fresh Backend and its MultiBatchStore, or skips t.
func (s *suite) multiStore(t *testing.T) (backend.Backend, backend.MultiBatchStore) {
	t.Helper()
	b := s.backend(t)
	ms, ok := b.(backend.MultiBatchStore)
	if !ok {
		t.Skip("backend does not implement MultiBatchStore (package record then applies the batches of a cut one by one)")
	}
	return b, ms
}

// hostileParts returns the parts of one group of writer w: every metric
// of multiMetrics, the first of them twice (two batches of one metric in
// one group), one part longer than the adapters' chunks, from seq on.
func hostileParts(w, of int, seq int64, from int) []backend.Part {
	var parts []backend.Part
	for i, m := range append(slices.Clip(multiMetrics), multiMetrics[0]) {
		n := 5 + 3*i
		if i == 2 {
			n = 2500
		}
		parts = append(parts, backend.Part{Seq: seq, Metric: m, Points: multiPoints(w, of, from, n)})
		seq++
		from += n
	}
	return parts
}

// wantParts fails t unless each metric of parts holds exactly the points
// of its parts, in order, bit for bit, and its count says so.
func wantParts(t *testing.T, b backend.Backend, ss backend.SeriesStore, c, id string, parts []backend.Part) {
	t.Helper()
	want := map[string][]backend.Point{}
	for _, p := range parts {
		want[p.Metric] = append(want[p.Metric], p.Points...)
	}
	doc := mustGet(t, b, c, id)
	for name, pts := range want {
		wantPoints(t, ss, c, id, name, pts)
		if n, _ := counter(doc, "metrics", name, "count"); n != int64(len(pts)) {
			t.Fatalf("metrics.%q.count = %d, %d points stored", name, n, len(pts))
		}
	}
}

func (s *suite) testMultiBatch(t *testing.T) {
	t.Run("HostileParts", func(t *testing.T) {
		b, ms := s.multiStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"applied": int64(0)})
		text := `quote " backslash \ tab` + "\t ctl \x01 \u2028 ünï"
		parts := hostileParts(0, 1, 1, -3)
		if err := ms.ApplyBatches(t.Context(), coll, "r", markedMulti("w", parts, set(text, "note", text))); err != nil {
			t.Fatalf("ApplyBatches: %v", err)
		}
		wantParts(t, b, ms, coll, "r", parts)
		doc := mustGet(t, b, coll, "r")
		if got, _ := backend.Lookup(doc, []string{"note", text}); got != text {
			t.Fatalf("note.%q = %#v, want %q", text, got, text)
		}
		if mark, _ := counter(doc, "batches", "w"); mark != parts[len(parts)-1].Seq {
			t.Fatalf("batches.w = %d, want %d (the last part's seq)", mark, parts[len(parts)-1].Seq)
		}
		names, err := ms.SeriesNames(t.Context(), coll, "r")
		if err != nil {
			t.Fatal(err)
		}
		if want := slices.Sorted(slices.Values(multiMetrics)); !slices.Equal(names, want) {
			t.Fatalf("SeriesNames = %q, want %q", names, want)
		}
	})
	t.Run("RetryChangesNothing", func(t *testing.T) {
		b, ms := s.multiStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"applied": int64(0)})
		parts := hostileParts(0, 1, 1, 0)
		mb := markedMulti("w", parts)
		if err := ms.ApplyBatches(t.Context(), coll, "r", mb); err != nil {
			t.Fatalf("ApplyBatches: %v", err)
		}
		doc, series := storedState(t, b, ms, coll, "r")
		// The acknowledgement was lost: the writer sends the same group
		// again, or what a spill left of it in memory, or its batches one
		// by one from the spool.
		if err := ms.ApplyBatches(t.Context(), coll, "r", mb); err != nil {
			t.Fatalf("ApplyBatches again: %v", err)
		}
		wantUnchanged(t, b, ms, coll, "r", doc, series)
		if err := ms.ApplyBatches(t.Context(), coll, "r", markedMulti("w", parts[3:])); err != nil {
			t.Fatalf("ApplyBatches of the tail: %v", err)
		}
		wantUnchanged(t, b, ms, coll, "r", doc, series)
		for _, p := range parts {
			applyBatch(t, ms, coll, "r", markedBatch("w", p.Seq, p.Metric, p.Points))
		}
		wantUnchanged(t, b, ms, coll, "r", doc, series)
		// A group that overlaps the mark is refused by Update, loudly, and
		// changes nothing.
		last := parts[len(parts)-1].Seq
		over := []backend.Part{{Seq: last, Metric: "x", Points: multiPoints(0, 1, 0, 3)}, {Seq: last + 1, Metric: "y", Points: multiPoints(0, 1, 3, 3)}}
		err := ms.ApplyBatches(t.Context(), coll, "r", markedMulti("w", over))
		if !errors.Is(err, errMultiOverlap) {
			t.Fatalf("ApplyBatches over the mark: %v, want Update's error", err)
		}
		wantUnchanged(t, b, ms, coll, "r", doc, series)
		wantParts(t, b, ms, coll, "r", parts)
	})
	t.Run("AllOrNothing", func(t *testing.T) {
		b, ms := s.multiStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"applied": int64(0), "scalar": "text"})
		doc, series := storedState(t, b, ms, coll, "r")
		parts := hostileParts(0, 1, 1, 0)
		err := ms.ApplyBatches(t.Context(), coll, "r", markedMulti("w", parts, set(int64(1), "scalar", "below")))
		wantErr(t, "ApplyBatches with an op through a scalar", err, backend.ErrInvalid)
		wantUnchanged(t, b, ms, coll, "r", doc, series)
		boom := errors.New("update refuses")
		mb := markedMulti("w", parts)
		mb.Update = func(map[string]any) ([]backend.Op, bool, error) { return nil, false, boom }
		if err := ms.ApplyBatches(t.Context(), coll, "r", mb); !errors.Is(err, boom) {
			t.Fatalf("ApplyBatches whose Update fails: %v, want Update's error", err)
		}
		wantUnchanged(t, b, ms, coll, "r", doc, series)
		err = ms.ApplyBatches(t.Context(), coll, "absent", markedMulti("w", parts))
		wantErr(t, "ApplyBatches of a missing record", err, backend.ErrNotFound)
		if names, err := ms.SeriesNames(t.Context(), coll, "absent"); err != nil || len(names) > 0 {
			t.Fatalf("SeriesNames of a missing record after a refused ApplyBatches: %q, %v", names, err)
		}
	})
	t.Run("Goroutines", func(t *testing.T) {
		b, ms := s.multiStore(t)
		mustInsert(t, b, coll, "r", map[string]any{"applied": int64(0)})
		const writers = 4
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				if err := multiWriter(t.Context(), ms, coll, "r", w, writers); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		wantMultiWriters(t, b, ms, coll, "r", writers)
	})
	t.Run("Processes", func(t *testing.T) {
		if spec := os.Getenv(multiChildEnv); spec != "" {
			runMultiChild(spec) // a child process of this test; exits
		}
		s.skipUnless(t, Reopen, MultiProcess)
		dsn := s.newDSN(t)
		b := openNoClose(t, dsn)
		t.Cleanup(func() { b.Close() })
		ms, ok := b.(backend.MultiBatchStore)
		if !ok {
			t.Skip("backend does not implement MultiBatchStore (package record then applies the batches of a cut one by one)")
		}
		mustInsert(t, b, coll, "r", map[string]any{"applied": int64(0)})
		const writers = 3
		cmds := make([]*exec.Cmd, writers)
		outs := make([]*strings.Builder, writers)
		for w := range writers {
			spec, err := json.Marshal(multiChild{DSN: dsn, Writer: w, Of: writers})
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run="+exactRun(t.Name()), "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), multiChildEnv+"="+string(spec))
			outs[w] = &strings.Builder{}
			cmd.Stdout, cmd.Stderr = outs[w], outs[w]
			if err := cmd.Start(); err != nil {
				t.Fatalf("start child %d: %v", w, err)
			}
			cmds[w] = cmd
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		}
		for w, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child %d: %v\n%s", w, err, outs[w].String())
			}
		}
		wantMultiWriters(t, b, ms, coll, "r", writers)
	})
	t.Run("RecordAckLost", s.testMultiAckLost)
}

// multiGroups and multiEvery shape multiWriter: groups of parts, and
// every multiEvery-th group is sent twice (its acknowledgement lost).
const (
	multiGroups = 12
	multiEvery  = 3
)

// multiWriter sends writer w's groups of hostileParts, consecutive in
// sequence, each after the previous one was applied, some twice.
func multiWriter(ctx context.Context, ms backend.MultiBatchStore, c, id string, w, of int) error {
	seq, from := int64(1), 0
	writer := fmt.Sprintf("w%d", w)
	for g := range multiGroups {
		parts := hostileParts(w, of, seq, from)
		mb := markedMulti(writer, parts)
		for range 1 + min(1, (g+1)%multiEvery) {
			if err := ms.ApplyBatches(ctx, c, id, mb); err != nil {
				return fmt.Errorf("writer %d, group %d: %w", w, g, err)
			}
		}
		seq += int64(len(parts))
		for _, p := range parts {
			from += len(p.Points)
		}
	}
	return nil
}

// wantMultiWriters fails t unless each metric holds every point of the
// multiWriter writers exactly once, bit for bit, its count says so, and
// each writer's mark is its last batch.
func wantMultiWriters(t *testing.T, b backend.Backend, ss backend.SeriesStore, c, id string, writers int) {
	t.Helper()
	want := map[string][]backend.Point{}
	doc := mustGet(t, b, c, id)
	for w := range writers {
		seq, from := int64(1), 0
		for range multiGroups {
			for _, p := range hostileParts(w, writers, seq, from) {
				want[p.Metric] = append(want[p.Metric], p.Points...)
				from += len(p.Points)
				seq++
			}
		}
		if mark, _ := counter(doc, "batches", fmt.Sprintf("w%d", w)); mark != seq-1 {
			t.Fatalf("batches.w%d = %d, want %d", w, mark, seq-1)
		}
	}
	for name, pts := range want {
		got, err := readAll(t.Context(), ss, c, id, name)
		if err != nil {
			t.Fatalf("ReadSeries(%q): %v", name, err)
		}
		bySteps := func(l []backend.Point) []backend.Point {
			return slices.SortedFunc(slices.Values(l), func(a, b backend.Point) int { return cmp.Compare(a.Step, b.Step) })
		}
		g, wp := bySteps(got), bySteps(pts)
		for i := 1; i < len(g); i++ {
			if g[i].Step == g[i-1].Step {
				t.Fatalf("%q: step %d stored twice", name, g[i].Step)
			}
		}
		if diff := gocmp.Diff(wp, g, exact); diff != "" {
			t.Fatalf("series %q, %d points stored, %d sent (-sent +stored):\n%s", name, len(g), len(wp), diff)
		}
		if n, _ := counter(doc, "metrics", name, "count"); n != int64(len(pts)) {
			t.Fatalf("metrics.%q.count = %d, %d points stored", name, n, len(pts))
		}
	}
}

// multiChildEnv carries a multiChild to a child process of the
// MultiBatch/Processes test.
const multiChildEnv = "RECORD_BACKENDTEST_MULTIBATCH"

// multiChild tells a child process of MultiBatch/Processes what to do.
type multiChild struct {
	DSN        string
	Writer, Of int
}

// exactRun is the -test.run pattern that selects the test named name
// and none of its siblings.
func exactRun(name string) string {
	elems := strings.Split(name, "/")
	for i, e := range elems {
		elems[i] = "^" + regexp.QuoteMeta(e) + "$"
	}
	return strings.Join(elems, "/")
}

// runMultiChild is the body of a child process: it opens the store and
// runs one multiWriter, then exits.
func runMultiChild(text string) {
	var spec multiChild
	if err := json.Unmarshal([]byte(text), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "backendtest multibatch child: bad spec:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childLimit)
	defer cancel()
	b, err := backend.Open(ctx, spec.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, "backendtest multibatch child: open:", err)
		os.Exit(1)
	}
	ms, ok := b.(backend.MultiBatchStore)
	if !ok {
		fmt.Fprintln(os.Stderr, "backendtest multibatch child: no MultiBatchStore")
		os.Exit(1)
	}
	if err := multiWriter(ctx, ms, coll, "r", spec.Writer, spec.Of); err != nil {
		fmt.Fprintln(os.Stderr, "backendtest multibatch child:", err)
		os.Exit(1)
	}
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "backendtest multibatch child: close:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// errAckLost is what ackLost returns after applying a batch: the store
// did the work and the answer never came.
var errAckLost = errors.New("backendtest: injected: the batch was applied, the acknowledgement lost")

// ackLost wraps a BatchStore: every call whose number is in fail applies
// the batch and then returns errAckLost.
type ackLost struct {
	backend.Backend
	bs          backend.BatchStore
	calls, lost atomic.Int64
	fail        func(n int64) bool
}

func (a *ackLost) after(err error) error {
	if err == nil && a.fail(a.calls.Add(1)) {
		a.lost.Add(1)
		return errAckLost
	}
	return err
}

func (a *ackLost) ApplyBatch(ctx context.Context, coll, id string, b backend.Batch) error {
	return a.after(a.bs.ApplyBatch(ctx, coll, id, b))
}

func (a *ackLost) SeriesNames(ctx context.Context, coll, id string) ([]string, error) {
	return a.bs.SeriesNames(ctx, coll, id)
}

func (a *ackLost) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	return a.bs.AppendSeries(ctx, coll, id, name, pts)
}

func (a *ackLost) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return a.bs.ReadSeries(ctx, coll, id, name)
}

// ackLostMulti is ackLost over a MultiBatchStore.
type ackLostMulti struct {
	*ackLost
	ms backend.MultiBatchStore
}

// multiCalls counts ApplyBatches calls that carried several parts.
var multiCalls atomic.Int64

func (a ackLostMulti) ApplyBatches(ctx context.Context, coll, id string, b backend.MultiBatch) error {
	multiCalls.Add(1)
	return a.after(a.ms.ApplyBatches(ctx, coll, id, b))
}

// testMultiAckLost logs several hostile metrics through package record
// over a store that loses the acknowledgement of some applied writes:
// every logged point is stored once, bit for bit, and every summary is
// the aggregate of the stored points. With a MultiBatchStore, the
// writer's groups are among the writes whose answer is lost.
func (s *suite) testMultiAckLost(t *testing.T) {
	b := fresh(t, s.h)
	bs, ok := b.(backend.BatchStore)
	if !ok {
		b.Close()
		t.Skip("backend does not implement BatchStore")
	}
	al := &ackLost{Backend: b, bs: bs, fail: func(n int64) bool { return n == 2 || n == 4 }}
	var wrapped backend.Backend = al
	ms, multi := b.(backend.MultiBatchStore)
	if multi {
		wrapped = ackLostMulti{ackLost: al, ms: ms}
	}
	before := multiCalls.Load()
	st := record.NewStore(wrapped)
	t.Cleanup(func() { st.Close(context.Background()) })
	rec, err := st.Create(t.Context(), coll, record.WithoutHost(), record.WithBatchSize(40), record.WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	const steps = 300
	logged := map[string][]record.Point{}
	for i := range steps {
		m := record.Metrics{}
		for k, name := range multiMetrics {
			v := multiValue(k, i)
			m[name] = v
			logged[name] = append(logged[name], record.Point{Step: int64(i), Value: v})
		}
		rec.Log(int64(i), m)
		if i%100 == 99 {
			// Without a spool, a Flush whose write failed says so, and the
			// writer keeps trying: the next Flush waits for that retry.
			for try := 0; ; try++ {
				err := rec.Flush(t.Context())
				if err == nil {
					break
				}
				if !errors.Is(err, errAckLost) || try == 10 {
					t.Fatalf("Flush at step %d: %v", i, err)
				}
			}
		}
	}
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if al.lost.Load() == 0 {
		t.Fatalf("no acknowledgement was lost in %d writes: the test tested nothing", al.calls.Load())
	}
	if multi && multiCalls.Load() == before {
		t.Fatal("package record never sent a MultiBatch to a MultiBatchStore")
	}
	snap, err := st.Get(t.Context(), coll, rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range multiMetrics {
		stored := storedPoints(t, snap, name)
		wantLogged(t, stored, logged[name])
		wantSummary(t, snap, name, stored)
	}
}
