package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/backendtest"
)

// files maps each Backend that harness.New opened to its database file,
// for the raw baseline to open the same file.
var files sync.Map // *sqlite.Backend -> string

var harness = backendtest.Harness{
	New: func(t testing.TB) backend.Backend {
		t.Helper()
		path := filepath.Join(t.TempDir(), "records.db")
		b, err := sqlite.Open(t.Context(), "sqlite://"+path)
		if err != nil {
			t.Fatal(err)
		}
		files.Store(b, path)
		t.Cleanup(func() {
			files.Delete(b)
			closeRaw(path)
		})
		return b
	},
	NewDSN: func(t testing.TB) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "records.db")
	},
	Raw: raw,
}

func TestConformance(t *testing.T) {
	backendtest.RunConformanceTests(t, harness)
}
