package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/redact/redacttest"
	"github.com/recordlab/go-record/record"
)

// secretCommands are the command lines each DSN form runs with: the store
// named by --dsn before or after the command, or as the source or the
// destination of a copy.
func secretCommands(dsn string) [][]string {
	return [][]string{
		{"--dsn", dsn, "collections"},
		{"ls", "--dsn", dsn, "Nov-25-2026"},
		{"show", "--dsn", dsn, "Nov-25-2026", "run-a"},
		{"copy", "--from", "mem://" + unique("secret"), "--to", dsn},
		{"copy", "--from", dsn, "--to", "mem://" + unique("secret")},
	}
}

// TestSecretCLI runs the record command in process with every DSN form of
// the corpus and checks that nothing it prints shows the password.
func TestSecretCLI(t *testing.T) {
	forms := redacttest.Forms(redacttest.NewEnv(t))
	if len(forms) < 40 {
		t.Fatalf("the corpus has %d DSN forms, want at least 40", len(forms))
	}
	for _, f := range forms {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			for _, args := range secretCommands(f.DSN) {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				var out, errb bytes.Buffer
				code := run(ctx, args, strings.NewReader(""), &out, &errb)
				cancel()
				checkCLI(t, f, args, code, out.String(), errb.String())
			}
		})
	}
}

// TestSecretCLIEnv runs the record command in process with each form in
// $RECORD_DSN.
func TestSecretCLIEnv(t *testing.T) {
	for _, f := range redacttest.Forms(redacttest.NewEnv(t)) {
		t.Run(f.Name, func(t *testing.T) {
			t.Setenv(record.DSNEnv, f.DSN)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code := run(ctx, []string{"collections"}, strings.NewReader(""), &out, &errb)
			checkCLI(t, f, []string{"$RECORD_DSN", "collections"}, code, out.String(), errb.String())
		})
	}
}

// TestSecretCLIBinary builds the record command and runs it with every
// form, given with --dsn and in $RECORD_DSN.
func TestSecretCLIBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build the binary with")
		}
	}
	bin := filepath.Join(t.TempDir(), "record")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, f := range redacttest.Forms(redacttest.NewEnv(t)) {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				args []string
				env  string
			}{
				{[]string{"--dsn", f.DSN, "collections"}, ""},
				{[]string{"ls", "Nov-25-2026"}, f.DSN},
			} {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				cmd := exec.CommandContext(ctx, bin, c.args...)
				cmd.Env = append(os.Environ(), record.DSNEnv+"="+c.env)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				cancel()
				code := 0
				if err != nil {
					code = -1
					if ee, ok := err.(*exec.ExitError); ok {
						code = ee.ExitCode()
					}
				}
				args := c.args
				if c.env != "" {
					args = append([]string{"RECORD_DSN=..."}, args...)
				}
				checkCLI(t, f, args, code, out.String(), errb.String())
			}
		})
	}
}

// checkCLI fails the test if the output of a command line shows the
// form's password, or if the command succeeded where it cannot have.
func checkCLI(t *testing.T, f redacttest.Form, args []string, code int, stdout, stderr string) {
	t.Helper()
	needles := f.Needles()
	cmdline := strings.ReplaceAll(strings.Join(args, " "), f.DSN, "DSN")
	if n := redacttest.Find(stdout, needles); n != "" {
		t.Errorf("record %s: stdout shows %q: %s", cmdline, n, stdout)
	}
	if n := redacttest.Find(stderr, needles); n != "" {
		t.Errorf("record %s: stderr shows %q: %s", cmdline, n, stderr)
	}
	if code == 0 && !f.Live {
		t.Errorf("record %s: exit 0; want an error", cmdline)
	}
}
