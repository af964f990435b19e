// Package backendtest is the conformance suite every backend adapter
// passes, and the benchmark set every adapter runs beside its raw driver:
// the contract of package backend, tested through the Backend interface
// and through package record.
//
// An adapter's test describes its backend with a Harness. New opens a
// fresh, isolated Backend for each subtest; NewDSN names a fresh store for
// the few subtests that reopen one or re-execute the test binary:
//
//	func harness() backendtest.Harness {
//		return backendtest.Harness{
//			New: func(t testing.TB) backend.Backend {
//				b, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "records.db"))
//				if err != nil {
//					t.Fatal(err)
//				}
//				return b
//			},
//			NewDSN: func(t testing.TB) string {
//				return "sqlite://" + filepath.Join(t.TempDir(), "records.db")
//			},
//			Raw: &backendtest.Raw{...}, // the raw-driver baseline, for RunBenchmarks
//		}
//	}
//
//	func TestConformance(t *testing.T)  { backendtest.RunConformanceTests(t, harness()) }
//	func BenchmarkBackend(b *testing.B) { backendtest.RunBenchmarks(b, harness()) }
//
// The suite closes every Backend it gets, once, directly or through the
// record.Store over it, and makes no call on it after Close. A Harness
// without New still runs: the suite then opens each Backend from NewDSN.
//
// Subtest names are stable, so -run selects them. Features a backend lacks
// are declared in Harness.Unsupported; each skipped subtest says which and
// why, and nothing else is skipped. The multi-process tests re-execute the
// test binary; RunConformanceTests must therefore be reached from a Test
// function before any expensive set-up that New and NewDSN do not guard.
//
// RunBenchmarks reads its sizes from the environment (see BenchRecordsEnv,
// BenchPointsEnv) so that CI stays fast and a careful run can go large.
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
	if spec := os.Getenv(childEnv); spec != "" {
		runChild(spec) // a child process of Writers, Crash or Crashed; exits
		return
	}
	if h.New == nil && h.NewDSN == nil {
		t.Fatal("backendtest: Harness.New (or, while an adapter moves to it, NewDSN) is required")
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
	t.Run("Batch", s.testBatch)
	t.Run("Writers", s.testWriters)
	t.Run("MultiBatch", s.testMultiBatch)
	t.Run("Crash", s.testCrash)
	t.Run("Crashed", s.testCrashed)
	t.Run("Group", s.testGroup)
	t.Run("Downsample", s.testDownsample)
	t.Run("Count", s.testCount)
	t.Run("Keyset", s.testKeyset)
	t.Run("Bulk", s.testBulk)
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

// newDSN returns the harness's DSN for a fresh store, for the subtests
// that reopen a store or re-execute the test binary.
func (s *suite) newDSN(t *testing.T) string {
	t.Helper()
	if s.h.NewDSN == nil {
		t.Fatal("backendtest: Harness.NewDSN is required unless Reopen and MultiProcess are declared unsupported")
	}
	return s.h.NewDSN(t)
}

// fresh opens a fresh, empty Backend: from Harness.New, or from NewDSN
// where a harness has no New yet. The caller closes it, once.
func fresh(tb testing.TB, h Harness) backend.Backend {
	tb.Helper()
	if h.New != nil {
		b := h.New(tb)
		if b == nil {
			tb.Fatal("backendtest: Harness.New returned nil")
		}
		return b
	}
	return openNoClose(tb, h.NewDSN(tb))
}

// openNoClose opens a Backend on dsn; the caller closes it, once.
func openNoClose(tb testing.TB, dsn string) backend.Backend {
	tb.Helper()
	b, err := backend.Open(tb.Context(), dsn)
	if err != nil {
		tb.Fatalf("backend.Open: %v", err)
	}
	return b
}

// storeDSN opens a record.Store on dsn and closes it (and so the Backend)
// when t ends, unless the test closed it first.
func storeDSN(t *testing.T, dsn string) *record.Store {
	t.Helper()
	st := record.NewStore(openNoClose(t, dsn))
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// backend returns a fresh Backend and closes it when t ends.
func (s *suite) backend(t *testing.T) backend.Backend {
	t.Helper()
	b := fresh(t, s.h)
	t.Cleanup(func() { b.Close() })
	return b
}

// store returns a record.Store over a fresh Backend and closes it (and so
// the Backend) when t ends, unless the test closed it first: closing a
// Store twice is harmless, and the Backend is closed once.
func (s *suite) store(t *testing.T) *record.Store {
	t.Helper()
	st := record.NewStore(fresh(t, s.h))
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// storeOver returns a record.Store over the Backend b that a test also
// uses directly; the Store closes b when t ends.
func storeOver(t *testing.T, b backend.Backend) *record.Store {
	t.Helper()
	st := record.NewStore(b)
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
