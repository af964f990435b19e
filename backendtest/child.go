package backendtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// childEnv carries a childSpec to a child process of the Writers, Crash
// and Crashed tests (workerEnv serves the older Concurrency test).
const childEnv = "RECORD_BACKENDTEST_CHILD"

// childSpec tells a child process what to do.
type childSpec struct {
	Role   string // "writer", "crash" or "crashed"
	DSN    string
	Coll   string
	ID     string // the record to resume ("writer", "crash")
	Writer int    // the writer's index ("writer")
	Of     int    // how many writers there are ("writer")
	Points int    // points to log ("writer")
	// Gate makes a writer wait, once it has resumed the record and
	// printed "READY", for a line on its standard input before it logs.
	Gate bool
	// Heartbeat is the heartbeat interval of the record that "crashed"
	// creates.
	Heartbeat time.Duration
}

// childLimit bounds the life of a child that waits to be killed, should
// its parent die first.
const childLimit = 2 * time.Minute

// child is a running child process of the test binary.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  <-chan string // its standard output, line by line
	stderr *lockedWriter
}

// startChild starts the test binary as a child process doing spec. The
// child is killed when t ends, if it still runs.
func startChild(t *testing.T, spec childSpec) *child {
	t.Helper()
	text, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), childEnv+"="+string(text))
	c := &child{cmd: cmd, stderr: &lockedWriter{}}
	cmd.Stderr = c.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child %s: %v", spec.Role, err)
	}
	lines := make(chan string, 1<<16)
	c.lines = lines
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		cmd.Process.Kill()
		c.wait()
		if t.Failed() && c.stderr.String() != "" {
			t.Logf("child %s %d stderr:\n%s", spec.Role, spec.Writer, c.stderr.String())
		}
	})
	return c
}

// send writes a line to the child's standard input.
func (c *child) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatalf("write to child: %v", err)
	}
}

// wait reads the child's output to its end, waits for it to exit and
// returns what it left unread, and the exit error.
func (c *child) wait() ([]string, error) {
	var rest []string
	for line := range c.lines {
		rest = append(rest, line)
	}
	err := c.cmd.Wait()
	if err != nil && strings.Contains(err.Error(), "Wait was already called") {
		err = nil
	}
	return rest, err
}

// lockedWriter collects what a child writes to its stderr.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runChild is the body of a child process; it exits.
func runChild(specText string) {
	var spec childSpec
	if err := json.Unmarshal([]byte(specText), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "backendtest child: bad spec:", err)
		os.Exit(2)
	}
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "backendtest child %s %d: %s: %v\n", spec.Role, spec.Writer, what, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childLimit)
	defer cancel()
	st, err := record.Open(ctx, spec.DSN)
	if err != nil {
		fail("open", err)
	}
	switch spec.Role {
	case "writer":
		rec, err := st.Resume(ctx, spec.Coll, spec.ID, record.WithBatchSize(64), record.WithFlushInterval(5*time.Millisecond))
		if err != nil {
			fail("resume", err)
		}
		fmt.Fprintln(os.Stdout, "READY")
		if spec.Gate {
			if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
				fail("wait for the gate", err)
			}
		}
		for i := range spec.Points {
			step, v := writerPoint(spec.Writer, spec.Of, spec.Points, i)
			rec.Log(step, record.Metrics{writersMetric: v})
		}
		if err := rec.Flush(ctx); err != nil {
			fail("flush", err)
		}
	case "crash":
		crashChild(ctx, st, spec, fail)
	case "crashed":
		crashedChild(ctx, st, spec, fail)
	default:
		fail("role", fmt.Errorf("unknown role %q", spec.Role))
	}
	if err := st.Close(ctx); err != nil {
		fail("close", err)
	}
	os.Exit(0)
}

// expectLine waits for a line of the child's output that starts with
// prefix and returns the rest of it.
func expectLine(t *testing.T, lines <-chan string, prefix string, limit time.Duration) string {
	t.Helper()
	timeout := time.After(limit)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("child ended before printing %q", prefix)
			}
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		case <-timeout:
			t.Fatalf("child did not print %q within %v", prefix, limit)
		}
	}
}
