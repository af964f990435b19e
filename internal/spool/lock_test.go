package spool_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
)

// lockChildEnv tells a re-executed test binary to act as the other
// process of TestLockAcrossProcesses: "hold <root>" creates the journal,
// appends one entry, says "locked <path>" and holds the lock until its
// stdin closes; "try <root>" tries Create and says what it got.
const lockChildEnv = "RECORD_SPOOL_LOCK_CHILD"

var childEntry = spool.Entry{Seq: 42, Metric: "loss", Points: []backend.Point{{Step: 1, Value: 0.5, Time: zonedWant}}}

func lockChild(spec string) {
	mode, root, _ := strings.Cut(spec, " ")
	j, err := spool.Create(root, header())
	switch {
	case mode == "try" && errors.Is(err, spool.ErrBusy):
		fmt.Println("busy")
		os.Exit(0)
	case err != nil:
		fmt.Println("error:", err)
		os.Exit(1)
	case mode == "try":
		fmt.Println("got the lock")
		os.Exit(1)
	}
	if _, err := j.Append(childEntry); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked", j.Path())
	io.Copy(io.Discard, os.Stdin) // hold the lock until killed
	os.Exit(0)
}

func child(t *testing.T, spec string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockAcrossProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+spec)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestLockAcrossProcesses(t *testing.T) {
	if spec := os.Getenv(lockChildEnv); spec != "" {
		lockChild(spec)
		return
	}
	root := t.TempDir()
	cmd := child(t, "hold "+root)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	path, ok := strings.CutPrefix(strings.TrimSpace(line), "locked ")
	if err != nil || !ok {
		t.Fatalf("child said %q (%v), want locked <path>", line, err)
	}
	if _, err := spool.Create(root, header()); !errors.Is(err, spool.ErrBusy) {
		t.Fatalf("Create while another process holds the journal = %v, want ErrBusy", err)
	}
	if _, err := spool.Open(path); !errors.Is(err, spool.ErrBusy) {
		t.Fatalf("Open while another process holds the journal = %v, want ErrBusy", err)
	}
	// SIGKILL: no Close runs, the kernel releases the lock.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	j, err := spool.Open(path)
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	wantEntries(t, j, []spool.Entry{childEntry})

	// And the other way round: a second process finds this one's lock,
	// and so does a second handle in this process.
	out, err := child(t, "try "+root).Output()
	if err != nil || strings.TrimSpace(string(out)) != "busy" {
		t.Errorf("a second process trying Create said %q (%v), want busy", out, err)
	}
	if _, err := spool.Create(root, header()); !errors.Is(err, spool.ErrBusy) {
		t.Errorf("a second Create in this process = %v, want ErrBusy", err)
	}
	j.Close()
	j, err = spool.Create(root, header())
	if err != nil {
		t.Fatalf("Create after Close: %v", err)
	}
	j.Close()
}
