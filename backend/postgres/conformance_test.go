package postgres_test

import (
	"testing"

	"github.com/recordlab/go-record/backendtest"
)

func TestConformance(t *testing.T) {
	serverDSN(t)
	backendtest.RunConformanceTests(t, backendtest.Harness{NewDSN: newDSN})
}
