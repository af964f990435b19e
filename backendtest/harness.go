package backendtest

import "testing"

// Harness describes the backend under test to RunConformanceTests.
type Harness struct {
	// NewDSN returns a DSN naming a fresh, empty store that no other
	// subtest uses (a temporary SQLite file, a PostgreSQL table of its
	// own via x-table, a MongoDB database of its own). Required. The
	// adapter must be registered (imported) by the test. NewDSN is called
	// lazily, once per subtest that needs a store, so expensive set-up
	// (a container) belongs behind a sync.Once inside it. Cleanup of what
	// it creates belongs in t.Cleanup.
	NewDSN func(t *testing.T) string

	// Unsupported declares the features the backend lacks. The value says
	// why; each skipped subtest prints it. Nothing else is ever skipped.
	Unsupported map[Feature]string

	// MaxDocBytes is the largest document the backend stores, in bytes of
	// its own encoding; larger ones must fail with ErrTooLarge and leave the
	// stored record as it was. 0 means documents of 20 MB round-trip.
	MaxDocBytes int
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
