package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
)

func tempDSN(t *testing.T) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "records.db")
}

func open(t testing.TB, dsn string) *sqlite.Backend {
	t.Helper()
	b, err := sqlite.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// list collects what List yields.
func list(ctx context.Context, b *sqlite.Backend, coll string, q backend.Query) ([]backend.Item, error) {
	items := []backend.Item{}
	for it, err := range b.List(ctx, coll, q) {
		if err != nil {
			return items, err
		}
		items = append(items, it)
	}
	return items, nil
}

// readSeries collects what ReadSeries yields, checking the batch sizes.
func readSeries(t testing.TB, ctx context.Context, b *sqlite.Backend, coll, id, name string) ([]backend.Point, error) {
	t.Helper()
	pts := []backend.Point{}
	for batch, err := range b.ReadSeries(ctx, coll, id, name) {
		if err != nil {
			return pts, err
		}
		if len(batch) == 0 || len(batch) > 4096 {
			t.Errorf("ReadSeries yielded a batch of %d points", len(batch))
		}
		pts = append(pts, batch...)
	}
	return pts, nil
}

func TestDSN(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := t.Context()

	t.Run("relative", func(t *testing.T) {
		b := open(t, "sqlite://rel.db")
		if err := b.Insert(ctx, "c", "1", map[string]any{"a": int64(1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "rel.db")); err != nil {
			t.Errorf("relative DSN did not create rel.db in the working directory: %v", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "sub", "abs.db")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		open(t, "sqlite://"+p)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("absolute DSN did not create %s: %v", p, err)
		}
	})
	t.Run("x-table", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "t.db")
		b := open(t, "sqlite://"+p+"?x-table=exp_1&_pragma=cache_size(-2000)")
		if err := b.Insert(ctx, "c", "1", map[string]any{"a": int64(1)}); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, p)
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM exp_1`).Scan(&n); err != nil || n != 1 {
			t.Errorf("count(*) from exp_1 = %d, %v; want 1, nil", n, err)
		}
	})
	for _, tc := range []struct{ name, dsn string }{
		{"unknown x- key", "sqlite://x.db?x-tabel=records"},
		{"bad x-table", "sqlite://x.db?x-table=records;drop"},
		{"x-table with quote", `sqlite://x.db?x-table=a"b`},
		{"x-table too long", "sqlite://x.db?x-table=a" + fmt.Sprintf("%063d", 0)},
		{"x-table starting with a digit", "sqlite://x.db?x-table=1records"},
		{"x-table sqlite_", "sqlite://x.db?x-table=sqlite_x"},
		{"x-table _points", "sqlite://x.db?x-table=records_points"},
		{"empty path", "sqlite://"},
		{"memory", "sqlite://:memory:"},
		{"txlock", "sqlite://x.db?_txlock=deferred"},
		{"other scheme", "postgres://x.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := sqlite.Open(ctx, tc.dsn)
			if err == nil {
				b.Close()
				t.Fatalf("Open(%q) succeeded, want ErrInvalid", tc.dsn)
			}
			if !errors.Is(err, backend.ErrInvalid) {
				t.Errorf("Open(%q) = %v, want ErrInvalid", tc.dsn, err)
			}
		})
	}
	t.Run("registered", func(t *testing.T) {
		b, err := backend.Open(ctx, "SQLite://"+filepath.Join(t.TempDir(), "r.db"))
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
	})
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestJSONExtract(t *testing.T) {
	ctx := t.Context()
	p := filepath.Join(t.TempDir(), "records.db")
	b := open(t, "sqlite://"+p)
	doc := map[string]any{
		"learning_rate": 0.001,
		"epochs":        int64(10),
		"params":        map[string]any{"optimizer": "adam"},
	}
	if err := b.Insert(ctx, "Nov-25-2026", "run1", doc); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, p)
	var lr float64
	var epochs int64
	var opt string
	err := db.QueryRowContext(ctx, `SELECT json_extract(doc, '$.learning_rate'), json_extract(doc, '$.epochs'),
		json_extract(doc, '$.params.optimizer') FROM records WHERE collection = ? AND id = ?`, "Nov-25-2026", "run1").
		Scan(&lr, &epochs, &opt)
	if err != nil {
		t.Fatal(err)
	}
	if lr != 0.001 || epochs != 10 || opt != "adam" {
		t.Errorf("json_extract = %v, %v, %q; want 0.001, 10, adam", lr, epochs, opt)
	}
	var typ string
	if err := db.QueryRowContext(ctx, `SELECT typeof(doc) FROM records`).Scan(&typ); err != nil || typ != "blob" {
		t.Errorf("typeof(doc) = %q, %v; want blob (JSONB)", typ, err)
	}
	var text string
	if err := db.QueryRowContext(ctx, `SELECT json(doc) FROM records`).Scan(&text); err != nil || !strings.Contains(text, `"learning_rate":0.001`) {
		t.Errorf("json(doc) = %q, %v; want JSON text with \"learning_rate\":0.001", text, err)
	}
}

func TestCRUD(t *testing.T) {
	ctx := t.Context()
	b := open(t, tempDSN(t))
	doc := map[string]any{"a": int64(1), "f": 1.0, "nan": math.NaN(), "t": time.UnixMilli(1700000000123).UTC(), "arr": []any{}}
	if err := b.Insert(ctx, "c", "1", doc); err != nil {
		t.Fatal(err)
	}
	if err := b.Insert(ctx, "c", "1", doc); !errors.Is(err, backend.ErrExists) {
		t.Errorf("second Insert = %v, want ErrExists", err)
	}
	if _, err := b.Get(ctx, "c", "2"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Get missing = %v, want ErrNotFound", err)
	}
	if err := b.Merge(ctx, "c", "2", []backend.Op{{Kind: backend.Set, Path: []string{"x"}, Value: int64(1)}}); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Merge missing = %v, want ErrNotFound", err)
	}
	err := b.Merge(ctx, "c", "1", []backend.Op{
		{Kind: backend.Set, Path: []string{"m", "n"}, Value: "x"},
		{Kind: backend.Append, Path: []string{"arr"}, Value: []any{int64(1), 2.5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A conflicting op changes nothing, not even the ops before it.
	err = b.Merge(ctx, "c", "1", []backend.Op{
		{Kind: backend.Set, Path: []string{"z"}, Value: true},
		{Kind: backend.Set, Path: []string{"a", "b"}, Value: int64(2)},
	})
	if !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("conflicting Merge = %v, want ErrInvalid", err)
	}
	got, err := b.Get(ctx, "c", "1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": int64(1), "f": 1.0, "nan": math.NaN(), "t": time.UnixMilli(1700000000123).UTC(),
		"arr": []any{int64(1), 2.5}, "m": map[string]any{"n": "x"}}
	if diff := cmp.Diff(want, got, cmp.Comparer(sameFloat)); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if err := b.Delete(ctx, "c", "1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "c", "1"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if err := b.Drop(ctx, "missing"); err != nil {
		t.Errorf("Drop missing = %v", err)
	}
}

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func TestSeriesBits(t *testing.T) {
	ctx := t.Context()
	b := open(t, tempDSN(t))
	specials := []float64{
		math.NaN(), math.Float64frombits(0x7ff8000000000abc), math.Float64frombits(0xfff0000000000001),
		math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), 5e-324, math.MaxFloat64, -math.MaxFloat64, 0.1,
	}
	var want []backend.Point
	t0 := time.UnixMilli(1764064800000).UTC()
	for i := range 257 { // two full 100-row statements and a remainder
		want = append(want, backend.Point{Step: int64(i), Value: specials[i%len(specials)], Time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	want = append(want, backend.Point{Step: math.MinInt64, Value: 1, Time: time.Time{}})
	want = append(want, backend.Point{Step: math.MaxInt64, Value: 2, Time: time.UnixMilli(-1).UTC()})
	if err := b.AppendSeries(ctx, "c", "r", "loss", want[:3]); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendSeries(ctx, "c", "r", "loss", want[3:]); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendSeries(ctx, "c", "r", "acc", want[:1]); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendSeries(ctx, "c", "r", "loss", nil); err != nil {
		t.Fatal(err)
	}
	got, err := readSeries(t, ctx, b, "c", "r", "loss")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(sameFloat)); diff != "" {
		t.Errorf("ReadSeries (-want +got):\n%s", diff)
	}
	none, err := readSeries(t, ctx, b, "c", "r", "missing")
	if err != nil || len(none) != 0 {
		t.Errorf("ReadSeries(missing) = %#v, %v; want nothing", none, err)
	}

	// Delete and Drop take the points with them.
	if err := b.Insert(ctx, "c", "r", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "c", "r"); err != nil {
		t.Fatal(err)
	}
	if got, _ := readSeries(t, ctx, b, "c", "r", "loss"); len(got) != 0 {
		t.Errorf("after Delete, ReadSeries returned %d points", len(got))
	}
	if err := b.AppendSeries(ctx, "d", "r", "loss", want); err != nil {
		t.Fatal(err)
	}
	if err := b.Drop(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if got, _ := readSeries(t, ctx, b, "d", "r", "loss"); len(got) != 0 {
		t.Errorf("after Drop, ReadSeries returned %d points", len(got))
	}
}

func TestCanceled(t *testing.T) {
	dsn := tempDSN(t)
	b := open(t, dsn)
	if err := b.Insert(t.Context(), "c", "1", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"Open":   func() error { _, err := sqlite.Open(ctx, dsn); return err },
		"Insert": func() error { return b.Insert(ctx, "c", "2", map[string]any{}) },
		"Get":    func() error { _, err := b.Get(ctx, "c", "1"); return err },
		"Merge": func() error {
			return b.Merge(ctx, "c", "1", []backend.Op{{Kind: backend.Set, Path: []string{"a"}, Value: int64(1)}})
		},
		"Drop":         func() error { return b.Drop(ctx, "c") },
		"Delete":       func() error { return b.Delete(ctx, "c", "1") },
		"Collections":  func() error { _, err := b.Collections(ctx); return err },
		"List":         func() error { _, err := list(ctx, b, "c", backend.Query{}); return err },
		"Ping":         func() error { return b.Ping(ctx) },
		"AppendSeries": func() error { return b.AppendSeries(ctx, "c", "1", "m", []backend.Point{{Step: 1}}) },
		"ReadSeries":   func() error { _, err := readSeries(t, ctx, b, "c", "1", "m"); return err },
	}
	for name, f := range calls {
		if err := f(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
	}
	if _, err := b.Get(t.Context(), "c", "1"); err != nil {
		t.Errorf("Get after the cancelled calls: %v", err)
	}
}

// TestBusyWaitCanceled: a write waiting for another connection's write lock
// returns the context's error when the context ends, never "database is
// locked".
func TestBusyWaitCanceled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "records.db")
	b := open(t, "sqlite://"+p)
	db := rawDB(t, p)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err = b.Insert(ctx, "c", "1", map[string]any{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Insert while another connection holds the write lock = %v, want DeadlineExceeded", err)
	}
	// Once the lock is released, a waiting write goes through.
	done := make(chan error)
	go func() { done <- b.Insert(t.Context(), "c", "2", map[string]any{}) }()
	time.Sleep(100 * time.Millisecond)
	if _, err := conn.ExecContext(t.Context(), "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Insert after the lock was released: %v", err)
	}
}

func TestConcurrentMerge(t *testing.T) {
	ctx := t.Context()
	b := open(t, tempDSN(t))
	if err := b.Insert(ctx, "c", "1", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	const n, each = 32, 10
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for i := range each {
				op := backend.Op{Kind: backend.Append, Path: []string{"xs"}, Value: []any{int64(g*each + i)}}
				if err := b.Merge(ctx, "c", "1", []backend.Op{op}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	doc, err := b.Get(ctx, "c", "1")
	if err != nil {
		t.Fatal(err)
	}
	if xs, _ := doc["xs"].([]any); len(xs) != n*each {
		t.Errorf("after %d concurrent appends the array has %d elements", n*each, len(xs))
	}
}

// TestOpenRace: 8 goroutines open a fresh file at once; every Open succeeds.
func TestOpenRace(t *testing.T) {
	dsn := tempDSN(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			b, err := sqlite.Open(t.Context(), dsn)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			defer b.Close()
			if err := b.Insert(t.Context(), "c", strconv.Itoa(i), map[string]any{"i": int64(i)}); err != nil {
				t.Errorf("Insert %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	b := open(t, dsn)
	items, err := list(t.Context(), b, "c", backend.Query{})
	if err != nil || len(items) != 8 {
		t.Errorf("List = %d items, %v; want 8", len(items), err)
	}
}

const childEnv = "RECORD_SQLITE_TEST_CHILD"

// TestMultiProcess: 8 processes (this test binary, re-executed) open a
// fresh file at the same moment, each Merges 25 appends into one record
// and appends a series; nothing is lost and no process sees SQLITE_BUSY.
func TestMultiProcess(t *testing.T) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		child(t, dsn)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	const procs = 8
	dsn := tempDSN(t)
	var wg sync.WaitGroup
	start := time.Now().Add(500 * time.Millisecond)
	for i := range procs {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMultiProcess$", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"="+dsn, "CHILD_INDEX="+strconv.Itoa(i),
			"CHILD_START="+strconv.FormatInt(start.UnixNano(), 10))
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	b := open(t, dsn)
	doc, err := b.Get(t.Context(), "c", "shared")
	if err != nil {
		t.Fatal(err)
	}
	if xs, _ := doc["xs"].([]any); len(xs) != procs*childMerges {
		t.Errorf("record has %d appended elements, want %d", len(xs), procs*childMerges)
	}
	pts, err := readSeries(t, t.Context(), b, "c", "shared", "loss")
	if err != nil || len(pts) != procs*childMerges*10 {
		t.Errorf("series has %d points, %v; want %d", len(pts), err, procs*childMerges*10)
	}
}

const childMerges = 25

func child(t *testing.T, dsn string) {
	ctx := t.Context()
	idx, _ := strconv.Atoi(os.Getenv("CHILD_INDEX"))
	ns, _ := strconv.ParseInt(os.Getenv("CHILD_START"), 10, 64)
	time.Sleep(time.Until(time.Unix(0, ns)))
	b, err := sqlite.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("child %d: Open: %v", idx, err)
	}
	defer b.Close()
	if err := b.Insert(ctx, "c", "shared", map[string]any{}); err != nil && !errors.Is(err, backend.ErrExists) {
		t.Fatalf("child %d: Insert: %v", idx, err)
	}
	for i := range childMerges {
		op := backend.Op{Kind: backend.Append, Path: []string{"xs"}, Value: []any{int64(idx*1000 + i)}}
		if err := b.Merge(ctx, "c", "shared", []backend.Op{op}); err != nil {
			t.Fatalf("child %d: Merge: %v", idx, err)
		}
		pts := make([]backend.Point, 10)
		for j := range pts {
			pts[j] = backend.Point{Step: int64(i*10 + j), Value: float64(idx)}
		}
		if err := b.AppendSeries(ctx, "c", "shared", "loss", pts); err != nil {
			t.Fatalf("child %d: AppendSeries: %v", idx, err)
		}
	}
}
