package main

import (
	"strings"
	"testing"
)

// TestCompare: compare of the three seeded runs (a failed one with NaN
// losses, one with NaN, -Inf, -0 and huge ints in a nested object) shows
// the error, the params that differ with '-' where one lacks them, NaN
// as NaN, and folds the rest; the machine appears only with --host.
func TestCompare(t *testing.T) {
	dsn := "mem://" + unique("compare")
	seed(t, open(t, dsn))
	out := ok(t, "--dsn", dsn, "compare", coll, "run-a", "run-b", "run-c")
	for _, want := range []string{
		"  status     completed  failed  completed",
		"  error      -          model_1 diverged  -",
		"  momentum   -          0.9     -",
		"  exact.nan  -          -       NaN",
		"  exact.inf  -          -       -Inf",
		"  exact.max_int  -      -       9223372036854775807",
		"  loss.last  0.05       NaN     0.0454545",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("compare lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hostname") || strings.Contains(out, "gpu-1") || strings.Contains(out, "same host") {
		t.Errorf("compare without --host shows the host:\n%s", out)
	}
	if !strings.HasSuffix(out, "same: -\n") {
		t.Errorf("compare of runs sharing nothing should end in \"same: -\":\n%s", out)
	}
	out = ok(t, "--dsn", dsn, "compare", coll, "run-a", "run-b", "--host")
	for _, want := range []string{"  hostname  gpu-1  gpu-2", "  num_cpu  16  32", "same: epochs=10", "same host: gpus[0].memory_total=85899345920, gpus[0].name=NVIDIA H100, os=linux"} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("compare --host lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "models.") || strings.Contains(out, "losses") {
		t.Errorf("compare shows arrays as params:\n%s", out)
	}
}

// squeeze collapses runs of spaces, so that checks do not depend on the
// widths of columns.
func squeeze(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}

// TestCompareErrors: bad command lines are usage errors (2), a missing
// record is not found (3), and nothing goes to stdout.
func TestCompareErrors(t *testing.T) {
	dsn := "mem://" + unique("compare")
	seed(t, open(t, dsn))
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"compare", coll, "run-a"}, 2, "missing ID2"},
		{[]string{"compare", coll, "run-a", "bad id!"}, 2, "bad record id"},
		{[]string{"compare", "bad coll!", "run-a", "run-b"}, 2, "bad collection name"},
		{[]string{"compare", coll, "run-a", "nope"}, 3, "nope"},
		{[]string{"compare", coll, "run-a", "run-b", "--hots"}, 2, "flag provided but not defined"},
	} {
		out, errOut, code := cli(t, "", append([]string{"--dsn", dsn}, c.args...)...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.msg) {
			t.Errorf("record %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, out, errOut, c.code, c.msg)
		}
	}
}
