// Package backendtest is the conformance suite every backend adapter passes.
package backendtest

import "testing"

// RunConformanceTests runs the whole suite against the backend h describes.
// (Being written: the full suite lands in the next commits.)
func RunConformanceTests(t *testing.T, h Harness) {
	t.Helper()
	if h.NewDSN == nil {
		t.Fatal("backendtest: Harness.NewDSN is required")
	}
}
