package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
)

// TestMain runs the test binary as a writer process when the parent
// re-executes it (the program does the same with its own binary).
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childMain(spec))
	}
	os.Exit(m.Run())
}

// TestManyWriters runs the program small, 4 writer processes per mode, on
// SQLite and, where the environment names them, PostgreSQL and a Mongo
// server, with hostile metric names and values, and checks that every
// point logged by the library is stored exactly once, reads back bit for
// bit, and is counted by its summary; and that the raw writers stored
// theirs too.
func TestManyWriters(t *testing.T) {
	for _, b := range []struct {
		name, env string
		steps     int
	}{
		{"sqlite", "", 150},
		{"postgres", "RECORD_TEST_POSTGRES_DSN", 150},
		{"mongo", "RECORD_TEST_MONGO_DSN", 50}, // FerretDB takes about 100 ms a batch
	} {
		t.Run(b.name, func(t *testing.T) {
			if b.env != "" && os.Getenv(b.env) == "" {
				backendtest.Unavailable(t, b.name, "set "+b.env)
			}
			const procs, runs, metrics = 4, 2, 6
			steps := b.steps
			var out bytes.Buffer
			ok, err := run(t.Context(), []string{
				"-backends", b.name, "-procs", fmt.Sprint(procs), "-runs", fmt.Sprint(runs),
				"-metrics", fmt.Sprint(metrics), "-points", fmt.Sprint(procs * runs * metrics * steps),
				"-flush-every", "40", "-batch", "64", "-verify", "-hostile", "-json",
			}, &out)
			if err != nil {
				t.Fatal(err)
			}
			results := decodeResults(t, out.Bytes())
			if len(results) != 2 {
				t.Fatalf("got %d results, want raw and lib:\n%s", len(results), out.String())
			}
			want := int64(procs * runs * metrics * steps)
			for _, r := range results {
				if !ok || !r.OK {
					t.Errorf("%s: check failed: %+v", r.Mode, r)
				}
				got := map[string]int64{"logged": r.Logged, "acked": r.Acked, "stored": r.Stored}
				if diff := cmp.Diff(map[string]int64{"logged": want, "acked": want, "stored": want}, got); diff != "" {
					t.Errorf("%s: points (-want +got):\n%s", r.Mode, diff)
				}
				if r.Mode != modeLib {
					continue
				}
				if r.Verified != want {
					t.Errorf("lib: read back %d points, want %d", r.Verified, want)
				}
				if len(r.Errors) != 0 {
					t.Errorf("lib: errors %v: %q", r.Errors, r.Samples)
				}
				if r.Flushes == 0 {
					t.Error("lib: no Flush was timed")
				}
			}
		})
	}
}

func decodeResults(t *testing.T, data []byte) []result {
	t.Helper()
	var out []result
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var r result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		out = append(out, r)
	}
	return out
}

// TestCheck shows that the check catches each way a store can get the
// points wrong.
func TestCheck(t *testing.T) {
	metrics := []string{"loss"}
	runs := []runResult{{ID: "a", Logged: 10, Acked: 10, Closed: true}}
	good := map[string]summary{key("a", "loss"): {count: 10, found: true, status: "completed"}}
	for _, tc := range []struct {
		name   string
		runs   []runResult
		stored map[string]stored
		sums   map[string]summary
		want   func(r result) bool
	}{
		{"all stored once", runs, map[string]stored{key("a", "loss"): {10, 10}}, good,
			func(r result) bool { return r.ok() }},
		{"an acknowledged point lost", runs, map[string]stored{key("a", "loss"): {9, 9}},
			map[string]summary{key("a", "loss"): {count: 9, found: true, status: "completed"}},
			func(r result) bool { return r.Lost == 1 && !r.ok() }},
		{"a point stored twice", runs, map[string]stored{key("a", "loss"): {11, 10}},
			map[string]summary{key("a", "loss"): {count: 11, found: true, status: "completed"}},
			func(r result) bool { return r.Duplicated == 1 && r.Extra == 1 && !r.ok() }},
		{"summary disagrees", runs, map[string]stored{key("a", "loss"): {10, 10}},
			map[string]summary{key("a", "loss"): {count: 9, found: true, status: "completed"}},
			func(r result) bool { return r.SummaryBad == 1 && !r.ok() }},
		{"summary missing", runs, map[string]stored{key("a", "loss"): {10, 10}},
			map[string]summary{key("a", "loss"): {status: "completed"}},
			func(r result) bool { return r.SummaryBad == 1 && !r.ok() }},
		{"closed run still running", runs, map[string]stored{key("a", "loss"): {10, 10}},
			map[string]summary{key("a", "loss"): {count: 10, found: true, status: "running"}},
			func(r result) bool { return r.StatusBad == 1 && !r.ok() }},
		{"points of an unknown run", runs, map[string]stored{key("a", "loss"): {10, 10}, key("b", "loss"): {3, 3}}, good,
			func(r result) bool { return r.Unexpected == 3 && !r.ok() }},
		{"unacknowledged points may be missing", []runResult{{ID: "a", Logged: 10, Acked: 4}},
			map[string]stored{key("a", "loss"): {4, 4}},
			map[string]summary{key("a", "loss"): {count: 4, found: true, status: "running"}},
			func(r result) bool { return r.Lost == 0 && r.StatusBad == 0 && r.SummaryBad == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := result{Mode: modeLib, runs: tc.runs}
			r.check(metrics, tc.stored, tc.sums)
			if !tc.want(r) {
				t.Errorf("check gave %+v", r)
			}
		})
	}
}

// TestValues shows that the logged values hold every hostile float and
// that the comparison of read-back values tells them apart.
func TestValues(t *testing.T) {
	seen := map[uint64]bool{}
	nan := false
	for step := range int64(97) {
		v := value(0, step, true)
		seen[math.Float64bits(v)] = true
		nan = nan || math.IsNaN(v)
	}
	for _, h := range hostile {
		if !math.IsNaN(h) && !seen[math.Float64bits(h)] {
			t.Errorf("value never logs %v (bits %x)", h, math.Float64bits(h))
		}
	}
	if !nan {
		t.Error("value never logs NaN")
	}
	if sameValue(math.Copysign(0, -1), 0) || sameValue(0, math.Copysign(0, -1)) {
		t.Error("sameValue does not tell -0 from 0")
	}
	if !sameValue(math.NaN(), math.Float64frombits(0x7ff8000000000000)) || sameValue(math.NaN(), 1) {
		t.Error("sameValue: any NaN must match any NaN, and nothing else")
	}
	for _, name := range metricNames(8) {
		if strings.Contains(name, ".") || name == "" {
			t.Errorf("metric name %q is not a valid key", name)
		}
	}
}

// TestErrorClass: a busy SQLite file is its own class, so that a "database
// is locked" reaching the user shows in the report.
func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("sqlite: database is locked (5) (SQLITE_BUSY)"), "locked"},
		{fmt.Errorf("flush: %w", record.ErrUnavailable), "unavailable"},
		{fmt.Errorf("flush: %w", record.ErrSealed), "sealed"},
		{errors.New("something else"), "other"},
	} {
		if got := errorClass(tc.err); got != tc.want {
			t.Errorf("errorClass(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
