// Package backendtest is the conformance suite every backend adapter
// passes: the contract of package backend, tested through the Backend
// interface and through package record.
//
// An adapter's test calls RunConformanceTests with a Harness:
//
//	func TestConformance(t *testing.T) {
//		backendtest.RunConformanceTests(t, backendtest.Harness{
//			NewDSN: func(t *testing.T) string {
//				return "sqlite://" + filepath.Join(t.TempDir(), "records.db")
//			},
//		})
//	}
//
// Subtest names are stable, so -run selects them. Features a backend lacks
// are declared in Harness.Unsupported; each skipped subtest says which and
// why, and nothing else is skipped. The multi-process tests re-execute the
// test binary; RunConformanceTests must therefore be reached from a Test
// function before any expensive set-up that NewDSN does not guard.
package backendtest

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// RunConformanceTests runs the whole suite against the backend h describes.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	if spec := os.Getenv(workerEnv); spec != "" {
		runWorker(t, spec) // a child process of the multi-process tests; exits
		return
	}
	if h.NewDSN == nil {
		t.Fatal("backendtest: Harness.NewDSN is required")
	}
	s := &suite{h: h}
	t.Run("Backend", s.testBackend)
	t.Run("Merge", s.testMerge)
	t.Run("Values", s.testValues)
	t.Run("List", s.testList)
	t.Run("Input", s.testInput)
	t.Run("BadInput", s.testBadInput)
	t.Run("Lifecycle", s.testLifecycle)
	t.Run("Series", s.testSeries)
	t.Run("Concurrency", s.testConcurrency)
	t.Run("Reopen", s.testReopen)
	t.Run("Size", s.testSize)
}

type suite struct{ h Harness }

// skipUnless skips t when the harness declares any of the features
// unsupported, printing the harness's reason.
func (s *suite) skipUnless(t *testing.T, fs ...Feature) {
	t.Helper()
	for _, f := range fs {
		if why, ok := s.h.Unsupported[f]; ok {
			t.Skipf("backend declares %q unsupported: %s", f, why)
		}
	}
}

// openDSN opens a Backend on dsn and closes it when t ends.
func openDSN(t *testing.T, dsn string) backend.Backend {
	t.Helper()
	b, err := backend.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("backend.Open(%s): %v", backend.Redact(dsn), err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// backend returns a fresh Backend on a fresh store.
func (s *suite) backend(t *testing.T) backend.Backend {
	t.Helper()
	return openDSN(t, s.h.NewDSN(t))
}

// store returns a record.Store over a fresh Backend.
func (s *suite) store(t *testing.T) *record.Store {
	t.Helper()
	st := record.NewStore(s.backend(t))
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// mustInsert inserts doc and fails t on error.
func mustInsert(t *testing.T, b backend.Backend, coll, id string, doc map[string]any) {
	t.Helper()
	if err := b.Insert(t.Context(), coll, id, doc); err != nil {
		t.Fatalf("Insert(%s, %s): %v", coll, id, err)
	}
}

// mustGet reads a document and fails t on error.
func mustGet(t *testing.T, b backend.Backend, coll, id string) map[string]any {
	t.Helper()
	doc, err := b.Get(t.Context(), coll, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", coll, id, err)
	}
	return doc
}

// wantErr fails t unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantDoc fails t unless the stored document equals want exactly.
func wantDoc(t *testing.T, b backend.Backend, coll, id string, want map[string]any) {
	t.Helper()
	got := mustGet(t, b, coll, id)
	if diff := Diff(want, got); diff != "" {
		t.Fatalf("document %s/%s mismatch (-want +got):\n%s", coll, id, diff)
	}
}

func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

const coll = "Nov-25-2026"
