package backendtest

import (
	"context"
	"testing"

	"github.com/recordlab/go-record/backend"
)

// Harness describes the backend under test to RunConformanceTests and
// RunBenchmarks.
type Harness struct {
	// New opens a fresh, empty Backend that no other subtest or benchmark
	// sees (a temporary SQLite file, a PostgreSQL table of its own, a
	// MongoDB database of its own). The suite closes it once, through a
	// record.Store or directly, and makes no call on it after Close;
	// cleanup of what New creates (dropping a table) belongs in t.Cleanup,
	// which runs after that Close. Expensive set-up (starting a server)
	// belongs behind a sync.Once inside it. Required; while an adapter
	// moves to it, a Harness without New has each Backend opened from
	// NewDSN instead.
	New func(t testing.TB) backend.Backend

	// NewDSN returns a DSN naming a fresh, empty store, for the subtests
	// that reopen a store or re-execute the test binary. The adapter must
	// be registered (imported) by the test. Required unless Reopen and
	// MultiProcess are declared unsupported.
	NewDSN func(t testing.TB) string

	// Unsupported declares the features the backend lacks. The value says
	// why; each skipped subtest prints it. Nothing else is ever skipped.
	Unsupported map[Feature]string

	// MaxDocBytes is the largest document the backend stores, in bytes of
	// its own encoding; larger ones must fail with ErrTooLarge and leave the
	// stored record as it was. 0 means documents of 20 MB round-trip.
	MaxDocBytes int

	// Raw is the raw-driver baseline that RunBenchmarks runs beside the
	// library. Without it RunBenchmarks measures only the library.
	Raw *Raw
}

// Raw does with the database's own driver, as well as a careful user of
// that driver would, what the library does in each benchmark, so that the
// two are measured side by side in the same run. Each function receives
// the Backend that Harness.New opened, to reach its connection.
type Raw struct {
	// Insert stores docs (id -> document) in coll in the library's layout,
	// as fast as the driver allows (batched, one transaction).
	Insert func(ctx context.Context, b backend.Backend, coll string, docs map[string]map[string]any) error
	// ListFields reads the values at fields of every record of coll,
	// decoded into Go values, and returns how many records it read.
	ListFields func(ctx context.Context, b backend.Backend, coll string, fields [][]string) (int, error)
	// Index creates the index a database administrator would create for
	// TopN on path.
	Index func(ctx context.Context, b backend.Backend, coll string, path []string) error
	// TopN returns the ids of the n records of coll with the smallest
	// numbers at path, smallest first.
	TopN func(ctx context.Context, b backend.Backend, coll string, path []string, n int) ([]string, error)
	// AppendPoints stores one batch of points of a metric in the
	// adapter's series layout.
	AppendPoints func(ctx context.Context, b backend.Backend, coll, id, name string, pts []backend.Point) error
	// ReadPoints reads every point of a metric, batch by batch, calling
	// each with every batch, and returns how many points it read.
	ReadPoints func(ctx context.Context, b backend.Backend, coll, id, name string, each func([]backend.Point)) (int, error)
}

// Feature names a capability that a Harness can declare unsupported.
type Feature string

const (
	// Reopen: data written through one Backend is read back through a new
	// Backend opened on the same DSN after the first is closed.
	Reopen Feature = "reopen"
	// MultiProcess: several OS processes open the same DSN at once and write
	// to one record without losing anything. Requires Reopen.
	MultiProcess Feature = "multi-process"
	// ConcurrentMerge: many goroutines Merging into one document at once
	// lose nothing.
	ConcurrentMerge Feature = "concurrent-merge"
)
