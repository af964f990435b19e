package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/backendtest"
)

// hostileFloats are point values that must come back bit for bit.
var hostileFloats = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	math.Copysign(0, -1), 0, 5e-324, -5e-324, 1e-300, math.SmallestNonzeroFloat64, 0.1,
}

// hostileStrings are keys and values with quotes, backslashes, control
// characters, SQL and JSON syntax (package record refuses a NUL in a key,
// so only nulValue holds one).
var hostileStrings = []string{
	`'); drop table records; --`, `a"b`, `\`, `\'`, "\x01\x1f\x7f", `{"$float":"NaN"}`, `$1`, "naïve 🚀", "\u2028", "\t\n\r",
}

const nulValue = "a\x00b"

// counterBatch returns a batch that adds one to the integer at "n" and
// appends pts to metric; Guard and Reads are "n".
func counterBatch(metric string, pts []backend.Point) backend.Batch {
	return backend.Batch{
		Metric: metric,
		Points: pts,
		Reads:  [][]string{{"n"}},
		Guard:  []string{"n"},
		Update: func(doc map[string]any) ([]backend.Op, bool, error) {
			n, _ := doc["n"].(int64)
			return []backend.Op{{Kind: backend.Set, Path: []string{"n"}, Value: n + 1}}, true, nil
		},
	}
}

// points returns n points with steps from, from+1, ... and the hostile
// values in turn.
func points(from int64, n int) []backend.Point {
	pts := make([]backend.Point, n)
	for i := range pts {
		step := from + int64(i)
		pts[i] = backend.Point{Step: step, Value: hostileFloats[int(step)%len(hostileFloats)], Time: t0.Add(time.Duration(step) * time.Millisecond)}
	}
	return pts
}

// samePoints compares points bit for bit (NaN equals NaN, -0 is not 0).
func samePoints(t *testing.T, what string, want, got []backend.Point) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d points, want %d", what, len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Step != g.Step || math.Float64bits(w.Value) != math.Float64bits(g.Value) || !w.Time.Equal(g.Time) {
			t.Fatalf("%s: point %d is %+v, want %+v", what, i, g, w)
		}
	}
}

func TestApplyBatch(t *testing.T) {
	b := open(t)
	ctx := t.Context()

	t.Run("PointsAndOps", func(t *testing.T) {
		mustInsert(t, b, "c", "apply", map[string]any{"n": int64(0)})
		old := points(0, 3)
		if err := b.AppendSeries(ctx, "c", "apply", "loss", old); err != nil {
			t.Fatal(err)
		}
		// Three chunks of the series table, after the rows AppendSeries wrote.
		pts := points(3, 2500)
		bt := counterBatch("loss", pts)
		update := bt.Update
		bt.Update = func(doc map[string]any) ([]backend.Op, bool, error) {
			ops, apply, err := update(doc)
			for i, s := range hostileStrings {
				ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"s", s}, Value: s})
				ops = append(ops, backend.Op{Kind: backend.Append, Path: []string{"f"}, Value: []any{hostileFloats[i]}})
			}
			ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"nul"}, Value: nulValue})
			return ops, apply, err
		}
		if err := b.ApplyBatch(ctx, "c", "apply", bt); err != nil {
			t.Fatal(err)
		}
		samePoints(t, "series", append(slices.Clone(old), pts...), readAll(t, b, "c", "apply", "loss"))
		doc := mustGet(t, b, "c", "apply")
		want := map[string]any{"n": int64(1), "s": map[string]any{}, "f": []any{}, "nul": nulValue}
		for i, s := range hostileStrings {
			want["s"].(map[string]any)[s] = s
			want["f"] = append(want["f"].([]any), hostileFloats[i])
		}
		if diff := backendtest.Diff(want, doc); diff != "" {
			t.Errorf("document (-want +got):\n%s", diff)
		}
	})

	t.Run("Reads", func(t *testing.T) {
		// Update sees at least the values at Reads and Guard, as stored.
		doc := map[string]any{"big": map[string]any{"x": int64(1)}, "g": int64(7)}
		var reads [][]string
		for i, s := range hostileStrings {
			doc[s] = map[string]any{s: edgeValues[i%len(edgeValues)], "other": nulValue}
			reads = append(reads, []string{s, s})
		}
		reads = append(reads, []string{"missing", "x"}, []string{"big", "x", "through-a-number"})
		mustInsert(t, b, "c", "reads", doc)
		for _, whole := range []bool{false, true} {
			var seen map[string]any
			bt := backend.Batch{Reads: reads, Guard: []string{"g"}, Update: func(d map[string]any) ([]backend.Op, bool, error) {
				seen = d
				return nil, false, nil
			}}
			if whole {
				bt.Reads, bt.Guard = nil, nil
			}
			if err := b.ApplyBatch(ctx, "c", "reads", bt); err != nil {
				t.Fatal(err)
			}
			if whole {
				if diff := backendtest.Diff(doc, seen); diff != "" {
					t.Errorf("no Reads: Update's document (-want +got):\n%s", diff)
				}
				continue
			}
			for _, p := range append(reads, []string{"g"}) {
				wantV, wantOK := lookup(doc, p)
				gotV, gotOK := lookup(seen, p)
				if wantOK != gotOK || backendtest.Diff(wantV, gotV) != "" {
					t.Errorf("Update's document at %q: %v (%v), want %v (%v)", p, gotV, gotOK, wantV, wantOK)
				}
			}
		}
	})

	t.Run("NotApplied", func(t *testing.T) {
		mustInsert(t, b, "c", "skip", map[string]any{"n": int64(5)})
		bt := counterBatch("loss", points(0, 10))
		bt.Update = func(map[string]any) ([]backend.Op, bool, error) {
			return []backend.Op{{Kind: backend.Set, Path: []string{"n"}, Value: int64(99)}}, false, nil
		}
		if err := b.ApplyBatch(ctx, "c", "skip", bt); err != nil {
			t.Fatalf("a batch applied before: got %v, want nil", err)
		}
		if n := len(readAll(t, b, "c", "skip", "loss")); n != 0 {
			t.Errorf("a batch applied before stored %d points", n)
		}
		if diff := backendtest.Diff(map[string]any{"n": int64(5)}, mustGet(t, b, "c", "skip")); diff != "" {
			t.Errorf("a batch applied before changed the document (-want +got):\n%s", diff)
		}
	})

	t.Run("UpdateError", func(t *testing.T) {
		mustInsert(t, b, "c", "uerr", map[string]any{})
		sentinel := errors.New("update refuses")
		bt := counterBatch("loss", points(0, 10))
		bt.Update = func(map[string]any) ([]backend.Op, bool, error) { return nil, true, sentinel }
		if err := b.ApplyBatch(ctx, "c", "uerr", bt); err != sentinel {
			t.Errorf("Update's error: got %v, want it as is", err)
		}
		if n := len(readAll(t, b, "c", "uerr", "loss")); n != 0 {
			t.Errorf("a failed Update stored %d points", n)
		}
	})

	t.Run("ConflictStoresNothing", func(t *testing.T) {
		mustInsert(t, b, "c", "conflict", map[string]any{"a": int64(1), "n": int64(0)})
		bt := counterBatch("loss", points(0, 1500))
		bt.Update = func(map[string]any) ([]backend.Op, bool, error) {
			return []backend.Op{
				{Kind: backend.Set, Path: []string{"n"}, Value: int64(1)},
				{Kind: backend.Set, Path: []string{"a", "b"}, Value: int64(2)}, // a is a number
			}, true, nil
		}
		if err := b.ApplyBatch(ctx, "c", "conflict", bt); !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("conflicting op: got %v, want ErrInvalid", err)
		}
		if n := len(readAll(t, b, "c", "conflict", "loss")); n != 0 {
			t.Errorf("a batch whose ops conflict stored %d points", n)
		}
		if diff := backendtest.Diff(map[string]any{"a": int64(1), "n": int64(0)}, mustGet(t, b, "c", "conflict")); diff != "" {
			t.Errorf("a batch whose ops conflict changed the document (-want +got):\n%s", diff)
		}
		// The connection is usable again.
		if err := b.ApplyBatch(ctx, "c", "conflict", counterBatch("loss", points(0, 2))); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		called := false
		bt := counterBatch("loss", points(0, 1))
		bt.Update = func(map[string]any) ([]backend.Op, bool, error) { called = true; return nil, true, nil }
		if err := b.ApplyBatch(ctx, "c", "absent", bt); !errors.Is(err, backend.ErrNotFound) || called {
			t.Errorf("absent record: got %v (Update called: %v), want ErrNotFound", err, called)
		}
		if n := len(readAll(t, b, "c", "absent", "loss")); n != 0 {
			t.Errorf("a batch of an absent record stored %d points", n)
		}
	})

	t.Run("OnlyOps", func(t *testing.T) {
		mustInsert(t, b, "c", "ops", map[string]any{})
		if err := b.ApplyBatch(ctx, "c", "ops", counterBatch("", nil)); err != nil {
			t.Fatal(err)
		}
		if diff := backendtest.Diff(map[string]any{"n": int64(1)}, mustGet(t, b, "c", "ops")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		names, err := b.SeriesNames(ctx, "c", "ops")
		if err != nil || len(names) != 0 {
			t.Errorf("SeriesNames after a batch without points: %q, %v", names, err)
		}
	})

	t.Run("SeriesNames", func(t *testing.T) {
		mustInsert(t, b, "c", "names", map[string]any{})
		var want []string
		for _, s := range append(slices.Clone(hostileStrings), "b", "a", "train/loss", "é") {
			if err := b.ApplyBatch(ctx, "c", "names", counterBatch(s, points(0, 1))); err != nil {
				t.Fatal(err)
			}
			want = append(want, s)
		}
		// Another record's series are not listed.
		mustInsert(t, b, "c", "names2", map[string]any{})
		if err := b.ApplyBatch(ctx, "c", "names2", counterBatch("zzz", points(0, 1))); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		got, err := b.SeriesNames(ctx, "c", "names")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SeriesNames (-want +got):\n%s", diff)
		}
	})

	t.Run("Cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.ApplyBatch(cctx, "c", "apply", counterBatch("loss", points(0, 1))); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: got %v, want context.Canceled", err)
		}
	})
}

// lookup returns the value at path in doc, through objects only.
func lookup(doc map[string]any, path []string) (any, bool) {
	var v any = doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestApplyBatchConcurrent: goroutines applying batches to one record
// each see the document as the previous one left it.
func TestApplyBatchConcurrent(t *testing.T) {
	b := open(t)
	mustInsert(t, b, "c", "1", map[string]any{"n": int64(0)})
	const workers, batches = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range batches {
				if err := b.ApplyBatch(t.Context(), "c", "1", counterBatch("m", points(int64(w*1000+i*4), 4))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := mustGet(t, b, "c", "1")["n"]; n != int64(workers*batches) {
		t.Errorf("counter %v after %d batches", n, workers*batches)
	}
	if n := len(readAll(t, b, "c", "1", "m")); n != workers*batches*4 {
		t.Errorf("%d points, want %d", n, workers*batches*4)
	}
}

// proxy forwards TCP connections to a server until cut, after which it
// refuses them; while hung it accepts connections and forwards nothing.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	hung   bool
	cut    bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(p.close)
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		hung := p.hung
		p.mu.Unlock()
		if hung {
			continue // held open, never answered
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// breakConns breaks the open connections, as a server restart does.
func (p *proxy) breakConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// hang makes new connections hang, and breaks the open ones.
func (p *proxy) hang() {
	p.breakConns()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = true
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// TestApplyBatchUnavailable: a broken pooled connection is replaced; a
// refused connection and a server that does not answer within
// connect_timeout (a timeout that is not the caller's context) are
// ErrUnavailable, in the form "postgres: <class>: <native>".
func TestApplyBatchUnavailable(t *testing.T) {
	dsn, err := url.Parse(newDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, dsn.Host)
	dsn.Host = p.addr()
	q := dsn.Query()
	q.Set("connect_timeout", "1")
	dsn.RawQuery = q.Encode()
	b, err := postgres.Open(t.Context(), dsn.String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	mustInsert(t, b, "c", "1", map[string]any{})
	if err := b.ApplyBatch(ctx, "c", "1", counterBatch("m", points(0, 3))); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		start := time.Now()
		err := b.ApplyBatch(ctx, "c", "1", counterBatch("m", points(6, 3)))
		if !errors.Is(err, backend.ErrUnavailable) || !regexpMatch(`^postgres: (connection to the server lost: )?store unavailable: `, err) {
			t.Errorf("%s: got %v (after %v), want postgres: ...: ErrUnavailable: <native>", what, err, time.Since(start).Round(time.Millisecond))
		}
		t.Logf("%s: %v (after %v)", what, err, time.Since(start).Round(time.Millisecond))
	}
	// A pooled connection that broke (a restart) is replaced: nothing was
	// written on it before the locking read failed.
	p.breakConns()
	if err := b.ApplyBatch(ctx, "c", "1", counterBatch("m", points(3, 3))); err != nil {
		t.Errorf("after the pooled connection broke: %v", err)
	}
	p.hang()
	check("hung server, a new connection gives up after connect_timeout=1")
	p.close()
	check("refused connection")
}

func regexpMatch(pattern string, err error) bool {
	return err != nil && regexp.MustCompile(pattern).MatchString(err.Error())
}

// batchChildEnv carries "<dsn>\n<id>\n<process>\n<start unix nano>" to a
// child process of TestApplyBatchProcesses.
const batchChildEnv = "RECORD_TEST_POSTGRES_BATCH_CHILD"

// TestApplyBatchProcesses: two processes, started at the same instant,
// each apply 200 batches to one record whose Update adds one to a counter
// and which append 10 points: the counter reads 400 and the series holds
// the 4,000 points once each, every process's in the order it sent them.
func TestApplyBatchProcesses(t *testing.T) {
	if spec := os.Getenv(batchChildEnv); spec != "" {
		batchChild(t, spec)
		return
	}
	const procs, batches, per = 2, 200, 10
	dsn := newDSN(t)
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mustInsert(t, b, "c", "1", map[string]any{"n": int64(0)})
	start := time.Now().Add(time.Second).UnixNano()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for p := range procs {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestApplyBatchProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s\n1\n%d\n%d", batchChildEnv, dsn, p, start))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[p] = fmt.Errorf("process %d: %v\n%s", p, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := mustGet(t, b, "c", "1")["n"]; n != int64(procs*batches) {
		t.Errorf("counter %v after %d batches in %d processes, want %d", n, procs*batches, procs, procs*batches)
	}
	pts := readAll(t, b, "c", "1", "m")
	if len(pts) != procs*batches*per {
		t.Errorf("%d points, want %d", len(pts), procs*batches*per)
	}
	seen := map[int64]int{}
	last := make([]int64, procs)
	for i := range last {
		last[i] = -1
	}
	for _, pt := range pts {
		seen[pt.Step]++
		p := pt.Step / 1_000_000
		if p < 0 || p >= procs {
			t.Fatalf("unexpected step %d", pt.Step)
		}
		if pt.Step <= last[p] {
			t.Errorf("process %d: step %d after %d", p, pt.Step, last[p])
		}
		last[p] = pt.Step
	}
	for p := range procs {
		for s := range batches * per {
			if step := int64(p*1_000_000 + s); seen[step] != 1 {
				t.Errorf("step %d stored %d times, want once", step, seen[step])
			}
		}
	}
	rows := 0
	if err := b.Pool().QueryRow(t.Context(), `select count(*) from `+b.SeriesTable()).Scan(&rows); err != nil || rows != procs*batches {
		t.Errorf("%d rows in the series table (%v), want one per batch: %d", rows, err, procs*batches)
	}
}

func batchChild(t *testing.T, spec string) {
	f := strings.Split(spec, "\n")
	dsn, id := f[0], f[1]
	p, _ := strconv.ParseInt(f[2], 10, 64)
	start, _ := strconv.ParseInt(f[3], 10, 64)
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	time.Sleep(time.Until(time.Unix(0, start)))
	for i := range int64(200) {
		pts := points(p*1_000_000+i*10, 10)
		if err := b.ApplyBatch(t.Context(), "c", id, counterBatch("m", pts)); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
}
