package memory_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	_ "github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/backendtest"
)

var stores atomic.Int64

func TestConformance(t *testing.T) {
	backendtest.RunConformanceTests(t, backendtest.Harness{
		NewDSN: func(t testing.TB) string {
			return fmt.Sprintf("mem://conformance-%d", stores.Add(1))
		},
		Unsupported: map[backendtest.Feature]string{
			backendtest.MultiProcess: "memory is private to one process",
		},
	})
}
