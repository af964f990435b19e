package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/recordlab/go-record/backendtest"

	_ "github.com/recordlab/go-record/backend/sqlite"
)

func TestConformance(t *testing.T) {
	backendtest.RunConformanceTests(t, backendtest.Harness{
		NewDSN: func(t testing.TB) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "records.db")
		},
	})
}
