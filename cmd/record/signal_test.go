package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// buildBinary builds the record command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "record")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// bigStore writes a SQLite store with n records like a training run's,
// values hostile ones included, each with a 300-point loss series: one
// written through the library, the others imported from its export by
// the binary (fast: no race detector there).
func bigStore(t *testing.T, bin string, n int) string {
	t.Helper()
	ctx := t.Context()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "big.db")
	s, err := record.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Create(ctx, "big", record.WithID("r0"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]any{
		"lr": 0.01, "nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1),
		"max": math.MaxFloat64, "min": -math.MaxFloat64, "tiny": 5e-324,
		"text": "q\"uo'te \\ back\x01ctl\ttab ünï", "desc": strings.Repeat("a long description ", 100),
	}
	if err := rec.Update(ctx, params); err != nil {
		t.Fatal(err)
	}
	for step := range 300 {
		v := 1 / float64(step+1)
		switch step {
		case 7:
			v = math.NaN()
		case 8:
			v = math.MaxFloat64
		case 9:
			v = -math.MaxFloat64
		case 10:
			v = math.Inf(1)
		}
		rec.Log(int64(step), record.Metrics{"loss": v})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	line, err := exec.CommandContext(ctx, bin, "--dsn", dsn, "export", "big").Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var lines bytes.Buffer
	for i := 1; i < n; i++ {
		lines.Write(bytes.ReplaceAll(line, []byte(`"r0"`), fmt.Appendf(nil, `"r%d"`, i)))
	}
	imp := exec.CommandContext(ctx, bin, "--dsn", dsn, "import", "big")
	imp.Stdin = &lines
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	return dsn
}

// TestSignalStopsCommands runs long ls, export, copy and plot commands as
// child processes, interrupts each after 300 ms, and checks that it exits
// with 130 (SIGINT) or 143 (SIGTERM) soon after. The promise is 1 s;
// the assertion allows 5 s for loaded machines, and the test logs the
// measured time.
func TestSignalStopsCommands(t *testing.T) {
	bin := buildBinary(t)
	start := time.Now()
	dsn := bigStore(t, bin, 3000)
	t.Logf("store of 3000 records x 300 points written in %v", time.Since(start).Round(time.Millisecond))
	out := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		sig   syscall.Signal
		drain bool // read stdout; else leave the pipe full, as "| less" would
	}{
		{"ls", []string{"ls", "big", "--json"}, syscall.SIGINT, true},
		{"ls-table", []string{"ls", "big"}, syscall.SIGINT, true},
		{"ls-blocked", []string{"ls", "big", "--json"}, syscall.SIGINT, false},
		{"export", []string{"export", "big"}, syscall.SIGINT, true},
		{"export-blocked", []string{"export", "big"}, syscall.SIGINT, false},
		{"export-term", []string{"export", "big"}, syscall.SIGTERM, true},
		{"copy", []string{"copy", "--to", "sqlite://" + filepath.Join(out, "copy.db"), "big"}, syscall.SIGINT, true},
		{"plot", []string{"plot", "big", "--limit", "3000", "-o", filepath.Join(out, "p.png")}, syscall.SIGINT, true},
		{"plot-term", []string{"plot", "big", "--limit", "3000", "-o", "-"}, syscall.SIGTERM, true},
		// The MongoDB driver waits 30 s to select a server that refuses.
		{"collections-unreachable", []string{"collections", "--dsn", "mongodb://u:S3cretPW@" + closedAddr(t) + "/x"}, syscall.SIGINT, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"--dsn", dsn}, c.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if c.drain {
				// Read, but slowly (about 100 KB/s), as a terminal or a
				// pager would: the command cannot finish before the signal
				// however fast the machine, yet its pipe never stays full.
				go func() {
					buf := make([]byte, 4096)
					for {
						if _, err := stdout.Read(buf); err != nil {
							io.Copy(io.Discard, stdout)
							return
						}
						time.Sleep(40 * time.Millisecond)
					}
				}()
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Fatalf("record %s finished in under 300 ms (%v, %s): make the store bigger", c.name, err, stderr.String())
			case <-time.After(300 * time.Millisecond):
			}
			sent := time.Now()
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			select {
			case waitErr = <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
				t.Fatalf("record %s still running 10 s after %v", c.name, c.sig)
			}
			took := time.Since(sent)
			t.Logf("record %s: exited %v after %v", c.name, waitErr, took.Round(time.Millisecond))
			var ee *exec.ExitError
			if !errors.As(waitErr, &ee) || ee.ExitCode() != 128+int(c.sig) {
				t.Errorf("record %s after %v: %v, want exit status %d; stderr %q", c.name, c.sig, waitErr, 128+int(c.sig), stderr.String())
			}
			if took > 5*time.Second {
				t.Errorf("record %s took %v to stop after %v", c.name, took, c.sig)
			}
			if msg := stderr.String(); !strings.Contains(msg, "interrupted by "+sigName(c.sig)) {
				t.Errorf("record %s: stderr %q does not say it was interrupted", c.name, msg)
			}
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestUnreachableServer: a server that refuses connections is exit status
// 1 at once, with one line on stderr naming the store without its
// password and keeping the driver's reason.
func TestUnreachableServer(t *testing.T) {
	dsn := "postgres://u:S3cretPW@" + closedAddr(t) + "/db?sslmode=disable"
	for _, args := range [][]string{{"collections"}, {"ls", coll}, {"import", coll}, {"rm", coll, "x"}} {
		start := time.Now()
		_, stderr, code := cli(t, "", append([]string{"--dsn", dsn}, args...)...)
		took := time.Since(start)
		if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "record: "+args[0]+": open postgres://u:[redacted]@") ||
			!strings.Contains(stderr, "connection refused") || strings.Contains(stderr, "S3cretPW") {
			t.Errorf("record %q on a closed port: exit %d, stderr %q", args, code, stderr)
		}
		if took > 10*time.Second {
			t.Errorf("record %q on a closed port took %v", args, took)
		}
	}
}

// TestInterruptedStatus: run returns 128 + the signal's number when the
// context was cancelled by a signal, with one message naming it.
func TestInterruptedStatus(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(&interrupted{sig: sig})
		var out, errb bytes.Buffer
		dsn := "sqlite://" + filepath.Join(t.TempDir(), "r.db")
		code := run(ctx, []string{"--dsn", dsn, "import", "c"}, strings.NewReader("{}\n"), &out, &errb)
		if code != 128+int(sig) || !strings.Contains(errb.String(), "interrupted by "+sigName(sig)) {
			t.Errorf("%v: exit %d, stderr %q", sig, code, errb.String())
		}
		if !errors.Is(context.Cause(ctx), context.Canceled) {
			t.Errorf("%v: cause does not match context.Canceled", sig)
		}
	}
}
