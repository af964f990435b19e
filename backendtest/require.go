package backendtest

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// RequireEnv is the environment variable listing the backends whose tests
// must run: a comma-separated list such as "postgres,mongo". CI sets it so
// that a missing server fails the run instead of skipping it.
const RequireEnv = "RECORD_TEST_REQUIRE"

// Required reports whether RECORD_TEST_REQUIRE names backend.
func Required(backend string) bool {
	return slices.Contains(strings.Split(os.Getenv(RequireEnv), ","), backend)
}

// Unavailable ends the test when no server for backend can be reached:
// a skip with reason, or a failure when RECORD_TEST_REQUIRE names backend.
func Unavailable(t testing.TB, backend, reason string) {
	t.Helper()
	if Required(backend) {
		t.Fatalf("%s tests are required (%s=%s) but cannot run: %s", backend, RequireEnv, os.Getenv(RequireEnv), reason)
	}
	t.Skipf("%s tests skipped: %s", backend, reason)
}
