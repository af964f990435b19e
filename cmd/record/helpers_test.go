package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// cli runs the command line and returns its stdout, stderr and status.
func cli(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// ok runs the command line and fails the test unless it succeeds quietly.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := cli(t, "", args...)
	if code != 0 || errOut != "" {
		t.Fatalf("record %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	return out
}

func unique(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// store is a backend the tests run against.
type store struct {
	name string
	dsn  func(t *testing.T) string
}

// stores returns memory and SQLite, and PostgreSQL and MongoDB when their
// test servers are named by RECORD_TEST_POSTGRES_DSN / RECORD_TEST_MONGO_DSN.
func stores() []store {
	return []store{
		{"mem", func(t *testing.T) string { return "mem://" + unique("cli") }},
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "records.db") }},
		{"postgres", postgresDSN},
		{"mongo", mongoDSN},
	}
}

func postgresDSN(t *testing.T) string {
	base := os.Getenv("RECORD_TEST_POSTGRES_DSN")
	if base == "" {
		backendtest.Unavailable(t, "postgres", "set RECORD_TEST_POSTGRES_DSN")
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "x-table=" + unique("cli_")
}

func mongoDSN(t *testing.T) string {
	base := os.Getenv("RECORD_TEST_MONGO_DSN")
	if base == "" {
		backendtest.Unavailable(t, "mongo", "set RECORD_TEST_MONGO_DSN")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("RECORD_TEST_MONGO_DSN: %v", err)
	}
	u.Path = "/" + unique("cli_")
	return u.String()
}

// open opens a store and drops what the test wrote when it ends.
func open(t *testing.T, dsn string) *record.Store {
	t.Helper()
	s, err := record.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", record.RedactDSN(dsn), err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

const coll = "Nov-25-2026"

var base = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// seed writes three records the way training code does, then fixes the
// times Create, Log and Close wrote, so that the output is deterministic:
// run-a and run-b have two models each (colors, labels, losses; run-b
// diverges to NaN), run-c has only metric series.
func seed(t *testing.T, s *record.Store) {
	t.Helper()
	ctx := t.Context()
	type run struct {
		id     string
		params map[string]any
		models map[string]any
		runErr error
		host   map[string]any
	}
	runs := []run{
		{
			id:     "run-a",
			params: map[string]any{"lr": 0.01, "epochs": 10, "optimizer": "adam", "desc": "two small MLPs learning two interleaved moons, a long description"},
			models: map[string]any{
				"model_0": map[string]any{"losses": []float64{1.0, 0.8, 0.6, 0.5, 0.42, 0.37, 0.33, 0.31, 0.3, 0.29}, "color": []float64{1, 0, 0}, "label": "small (3 units)", "params": map[string]any{"w": []float64{0.5, -1}}},
				"model_1": map[string]any{"losses": []float64{0.9, 0.6, 0.45, 0.35, 0.3, 0.26, 0.24, 0.23, 0.22, 0.21}, "color": []float64{0, 0, 1}, "label": "big (8 units)"},
			},
			host: map[string]any{"hostname": "gpu-1", "os": "linux", "num_cpu": 16, "gpus": []any{map[string]any{"name": "NVIDIA H100", "memory_total": 85899345920}}},
		},
		{
			id:     "run-b",
			params: map[string]any{"lr": 0.1, "epochs": 10, "optimizer": "sgd", "momentum": 0.9},
			models: map[string]any{
				"model_0": map[string]any{"losses": []float64{1.0, 0.7, 0.5, math.NaN(), 0.45, 0.4, math.Inf(1), 0.38, 0.36, 0.35}, "color": []float64{1, 0, 0}, "label": "small (3 units)"},
				"model_1": map[string]any{"losses": []float64{0.9, 2, 8, math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}, "color": []float64{0, 0, 1}, "label": "big (8 units)"},
			},
			runErr: errors.New("model_1 diverged"),
			host:   map[string]any{"hostname": "gpu-2", "os": "linux", "num_cpu": 32, "gpus": []any{map[string]any{"name": "NVIDIA H100", "memory_total": 85899345920}}},
		},
		{
			id:     "run-c",
			params: map[string]any{"lr": 0.03, "epochs": 20, "exact": map[string]any{"nan": math.NaN(), "inf": math.Inf(-1), "neg_zero": math.Copysign(0, -1), "tiny": 5e-324, "max_int": int64(math.MaxInt64), "ten": 10.0, "when": time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("CET", 3600))}},
		},
	}
	for i, r := range runs {
		rec, err := s.Create(ctx, coll, record.WithID(r.id), record.WithoutHost(), record.WithSeed(int64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Update(ctx, r.params); err != nil {
			t.Fatal(err)
		}
		for name, m := range r.models {
			if err := rec.UpdateAt(ctx, "models", map[string]any{name: m}); err != nil {
				t.Fatal(err)
			}
		}
		for step := range 20 {
			loss := 1 / float64(step+i+1)
			if i == 1 && step > 12 {
				loss = math.NaN()
			}
			rec.Log(int64(step), record.Metrics{"loss": loss, "acc": 1 - loss/2})
		}
		if err := rec.Close(ctx, r.runErr); err != nil {
			t.Fatal(err)
		}
		created := base.Add(time.Duration(i) * time.Hour)
		ops := []backend.Op{
			{Kind: backend.Set, Path: []string{"created"}, Value: created},
			{Kind: backend.Set, Path: []string{"ended"}, Value: created.Add(time.Duration(90+i*1000) * time.Second)},
			{Kind: backend.Set, Path: []string{"duration"}, Value: float64(90 + i*1000)},
			{Kind: backend.Set, Path: []string{"metrics", "loss", "last_time"}, Value: created},
			{Kind: backend.Set, Path: []string{"metrics", "acc", "last_time"}, Value: created},
			// The write path's own fields: the last heartbeat, and the
			// writer's batch marks (one random writer id per handle).
			{Kind: backend.Set, Path: []string{"heartbeat"}, Value: created.Add(time.Duration(90+i*1000) * time.Second)},
			{Kind: backend.Set, Path: []string{"alive_until"}, Value: created.Add(time.Duration(180+i*1000) * time.Second)},
			{Kind: backend.Set, Path: []string{"batches"}, Value: map[string]any{"0123456789abcdef": int64(3), "n": int64(3)}},
		}
		if r.host != nil {
			h, err := record.Normalize(r.host)
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"host"}, Value: h})
		}
		// Only the escape hatch writes the fields that record manages.
		var b backend.Backend
		if !s.As(&b) {
			t.Fatal("Store.As(*backend.Backend) = false")
		}
		if err := b.Merge(ctx, coll, r.id, []backend.Op{{Kind: backend.Unset, Path: []string{"batches"}}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Merge(ctx, coll, r.id, ops); err != nil {
			t.Fatal(err)
		}
	}
}

// golden compares got with testdata/name.golden, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, d)
	}
}

// TestLsRecordWithoutIDField: a record whose document lacks the id field
// (written by another program) is listed under its real id, not "-".
func TestLsRecordWithoutIDField(t *testing.T) {
	dsn := "mem://" + unique("noid")
	s := open(t, dsn)
	var b backend.Backend
	if !s.As(&b) {
		t.Fatal("Store.As(*backend.Backend) = false")
	}
	if err := b.Insert(t.Context(), coll, "bare-1", map[string]any{"status": "completed", "lr": 0.1}); err != nil {
		t.Fatal(err)
	}
	out := ok(t, "--dsn", dsn, "ls", coll)
	if !strings.Contains(out, "bare-1") {
		t.Fatalf("ls of a record without an id field:\n%s", out)
	}
}
