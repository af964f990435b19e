package record_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
)

type level int

func (l level) MarshalText() ([]byte, error) { return []byte([]string{"low", "high"}[l]), nil }

func TestNormalize(t *testing.T) {
	when := time.Date(2026, 11, 25, 12, 0, 0, 123_456_789, time.FixedZone("CET", 3600))
	n := 7
	cases := []struct {
		name string
		in   any
		want any
	}{
		{"int", 10, int64(10)},
		{"int8", int8(-8), int64(-8)},
		{"uint64", uint64(math.MaxInt64), int64(math.MaxInt64)},
		{"float32", float32(0.1), 0.1},
		{"float32NaN", float32(math.NaN()), math.NaN()},
		{"float64", 1.0, 1.0},
		{"time", when, time.Date(2026, 11, 25, 11, 0, 0, 123_000_000, time.UTC)},
		{"timePointer", &when, time.Date(2026, 11, 25, 11, 0, 0, 123_000_000, time.UTC)},
		{"pointer", &n, int64(7)},
		{"nilPointer", (*int)(nil), nil},
		{"array", [2]bool{true, false}, []any{true, false}},
		{"nilSlice", []int(nil), []any{}},
		{"bytes", []byte{1, 2}, []any{int64(1), int64(2)}},
		{"nilMap", map[string]int(nil), map[string]any{}},
		{"textMarshaler", level(1), "high"},
		{"duration", 2 * time.Second, int64(2e9)},
		{"nested", map[string]any{"a": []any{map[string]int{"b": 1}}}, map[string]any{"a": []any{map[string]any{"b": int64(1)}}}},
		{"jsonNumberInt", map[string]any{"n": jsonNumber("12")}, map[string]any{"n": int64(12)}},
		{"jsonNumberFloat", map[string]any{"n": jsonNumber("12.0")}, map[string]any{"n": 12.0}},
		{"structOmitEmpty", struct {
			A int    `json:"a,omitempty"`
			B string `json:"b"`
			c int
		}{B: "x"}, map[string]any{"b": "x"}},
		{"structStringOption", struct {
			N int `json:"n,string"`
		}{N: 5}, map[string]any{"n": "5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := record.Normalize(tc.in)
			if err != nil {
				t.Fatalf("Normalize(%#v): %v", tc.in, err)
			}
			if diff := backendtest.Diff(tc.want, got); diff != "" {
				t.Fatalf("Normalize(%#v) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	cases := []struct {
		name string
		in   any
		path string
	}{
		{"chan", make(chan int), ""},
		{"structChan", map[string]any{"s": withChan{}}, "s.c"},
		{"complex", []any{1, complex64(1)}, "[1]"},
		{"uint64", map[string]uint64{"big": math.MaxUint64}, "big"},
		{"badKey", map[string]any{"a": map[string]int{"x.y": 1}}, "a.x.y"},
		{"badUTF8", []string{"ok", "\xff"}, "[1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := record.Normalize(tc.in)
			var ie *record.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, record.ErrInvalid) {
				t.Fatalf("Normalize: got %v, want an *InvalidError", err)
			}
			if ie.Path != tc.path {
				t.Fatalf("error path = %q, want %q (%v)", ie.Path, tc.path, err)
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	got, err := record.ParsePath("models.model_0.losses")
	if err != nil || !cmp.Equal(got, []string{"models", "model_0", "losses"}) {
		t.Fatalf("ParsePath = %q, %v", got, err)
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "$a", "a.$b", "a\x00", "\xff", strings.Repeat("a.", 100) + "a"} {
		if _, err := record.ParsePath(bad); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("ParsePath(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestWhereTextErrors(t *testing.T) {
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	for _, bad := range []string{"", "lr", "=1", "lr~1", "a..b=1", "lr=>1"} {
		o := record.WhereText(bad)
		if err := o.Err(); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("WhereText(%q).Err() = %v, want ErrInvalid", bad, err)
		}
		if _, err := st.ListAll(t.Context(), "c", o); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("List with WhereText(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 100000 {
		id := record.NewID()
		if seen[id] || len(id) != 24 {
			t.Fatalf("duplicate or malformed id %q", id)
		}
		seen[id] = true
	}
}

// A write that fails for a reason that may pass is reported by the Flush
// that waits for it (the store has no spool), the points stay queued, and
// once the backend recovers they are written once, and the error is not
// reported again.
func TestFlushErrorReportedAndRetried(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	st := record.NewStore(b)
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailBefore, Err: boom})
	for i := range 10 {
		rec.Log(int64(i), record.Metrics{"loss": float64(i)})
	}
	if err := rec.Flush(ctx); !errors.Is(err, boom) {
		t.Fatalf("Flush with a failing backend: %v, want %v", err, boom)
	}
	b.Clear()
	rec.Log(10, record.Metrics{"loss": 10})
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatalf("Close after recovery: %v", err)
	}
	snap, _ := st.Get(ctx, "c", rec.ID())
	ser, err := snap.LoadSeries(ctx, "loss")
	if err != nil || len(ser.Steps) != 11 {
		t.Fatalf("series after recovery has %d points (%v), want 11", len(ser.Steps), err)
	}
	for i, s := range ser.Steps {
		if s != int64(i) {
			t.Fatalf("steps out of order after retry: %v", ser.Steps)
		}
	}
	if n, _ := snap.Int64("metrics.loss.count"); n != 11 {
		t.Fatalf("metrics.loss.count = %d, want 11", n)
	}
}

// A batch the store refuses for good is never dropped silently: the next
// Flush returns the refusal, once; a failure that passed is not reported
// (a stale error would make Close fail on a healthy store).
func TestBackgroundFlushErrorSurfaces(t *testing.T) {
	ctx := t.Context()
	b := memory.New()
	st := record.NewStore(b)
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "c", record.WithFlushInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailBefore, Err: errors.New("network down"), Times: 1})
	rec.Log(1, record.Metrics{"loss": 1})
	waitPoints(t, b, rec.ID(), 1)
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("Flush after a failure that passed = %v, want nil", err)
	}
	refused := fmt.Errorf("document too big: %w", record.ErrTooLarge)
	b.Inject(memory.Fault{Op: memory.OpApplyBatch, Kind: memory.FailBefore, Err: refused, Times: 1})
	rec.Log(2, record.Metrics{"loss": 2})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		rec.Log(3, record.Metrics{"other": 3})
		if err := rec.Flush(ctx); err != nil {
			if !errors.Is(err, record.ErrTooLarge) {
				t.Fatalf("Flush = %v, want the refusal", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refusal was never reported")
		}
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("second Flush = %v, want nil (reported once)", err)
	}
}

// waitPoints waits until the memory backend holds n points of loss.
func waitPoints(t *testing.T, b *memory.Backend, id string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		got := 0
		for pts, err := range b.ReadSeries(t.Context(), "c", id, "loss") {
			if err != nil {
				t.Fatal(err)
			}
			got += len(pts)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer stored %d points, want %d", got, n)
		}
	}
}

// Without a SeriesStore, points go into the document.
func TestSeriesFallback(t *testing.T) {
	ctx := t.Context()
	st := record.NewStore(noSeries{memory.New()})
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		rec.Log(int64(i), record.Metrics{"loss": 1 / float64(i)})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Get(ctx, "c", rec.ID())
	ser, err := snap.LoadSeries(ctx, "loss")
	if err != nil || len(ser.Values) != 5 || !math.IsInf(ser.Values[0], 1) {
		t.Fatalf("fallback series = %+v, %v", ser, err)
	}
	if n, _ := snap.Int64("metrics.loss.count"); n != 5 {
		t.Fatalf("summary count = %d", n)
	}
}

// noSeries hides the optional interfaces of a backend.
type noSeries struct{ b *memory.Backend }

func (n noSeries) Insert(ctx context.Context, c, id string, doc map[string]any) error {
	return n.b.Insert(ctx, c, id, doc)
}
func (n noSeries) Merge(ctx context.Context, c, id string, ops []backendOp) error {
	return n.b.Merge(ctx, c, id, ops)
}
func (n noSeries) Get(ctx context.Context, c, id string) (map[string]any, error) {
	return n.b.Get(ctx, c, id)
}
func (n noSeries) Drop(ctx context.Context, c string) error { return n.b.Drop(ctx, c) }
func (n noSeries) Close() error                             { return n.b.Close() }

func TestSystemMetrics(t *testing.T) {
	ctx := t.Context()
	st := record.NewStore(memory.New())
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "c", record.WithSystemMetrics(20*time.Millisecond), record.WithEnv("HOME", "RECORD_TEST_SECRET_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	// Wait for two samples (a loaded machine may be slow to take them).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		snap, _ := st.Get(ctx, "c", rec.ID())
		if n, _ := snap.Int64("metrics.system/cpu/percent.count"); n >= 2 {
			break
		}
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Get(ctx, "c", rec.ID())
	ser, err := snap.LoadSeries(ctx, "system/cpu/percent")
	if err != nil || len(ser.Values) < 2 {
		t.Fatalf("system/cpu/percent has %d samples (%v), want at least 2; metrics: %v", len(ser.Values), err, snap.MetricNames())
	}
	if home, _ := snap.Text("run.env.HOME"); home == "" {
		t.Errorf("run.env.HOME not captured")
	}
	if _, err := snap.Float64("host.memory.total"); err != nil {
		t.Errorf("host.memory.total: %v", err)
	}
	n := len(ser.Values)
	time.Sleep(60 * time.Millisecond)
	snap, _ = st.Get(ctx, "c", rec.ID())
	if ser, _ := snap.LoadSeries(ctx, "system/cpu/percent"); len(ser.Values) != n {
		t.Fatalf("sampling went on after Close: %d -> %d samples", n, len(ser.Values))
	}
}

func BenchmarkCreate(b *testing.B) {
	ctx := b.Context()
	st := record.NewStore(memory.New())
	defer st.Close(context.Background())
	if _, err := st.Create(ctx, "c"); err != nil { // the first Create detects the host
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Create(ctx, "c"); err != nil {
			b.Fatal(err)
		}
	}
}
