package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// crashedChildEnv carries the DSN to the child process of TestCrashedCLI.
const crashedChildEnv = "RECORD_TEST_CLI_CRASHED_CHILD"

// crashedBeat is the heartbeat interval of the child's record: it reads
// as crashed 3 intervals after its last sign of life.
const crashedBeat = 100 * time.Millisecond

// crashedChild creates a record with a 100 ms heartbeat, logs and flushes
// a few points, prints "ID <id>" and waits to be killed.
func crashedChild(dsn string) {
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "crashed child: %s: %v\n", what, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := record.Open(ctx, dsn)
	if err != nil {
		fail("open", err)
	}
	rec, err := st.Create(ctx, "crash", record.WithoutHost(), record.WithHeartbeat(crashedBeat))
	if err != nil {
		fail("create", err)
	}
	for step, v := range []float64{math.NaN(), math.Inf(1), -math.MaxFloat64, 0.5} {
		rec.Log(int64(step), record.Metrics{"loss": v})
	}
	if err := rec.Flush(ctx); err != nil {
		fail("flush", err)
	}
	fmt.Printf("ID %s\n", rec.ID())
	<-ctx.Done()
	fail("wait", fmt.Errorf("not killed within 2 minutes"))
}

// statusLine finds the status in the output of record show.
var statusLine = regexp.MustCompile(`(?m)^  "status": "([a-z]+)",?$`)

// cliStatus returns the status that `record ls` (the table), `record ls
// --json` and `record show` print for id, and whether `record ls --where
// status=crashed` and `--where status=running` list it.
func cliStatus(t *testing.T, dsn, coll, id string) (table, show string, inCrashed, inRunning bool) {
	t.Helper()
	for _, line := range strings.Split(ok(t, "--dsn", dsn, "ls", coll), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == id {
			table = f[3] // ID, CREATED (date, time), STATUS
		}
	}
	full := ok(t, "--dsn", dsn, "show", coll, id)
	if m := statusLine.FindStringSubmatch(full); m != nil {
		show = m[1]
	} else {
		t.Fatalf("record show %s prints no status:\n%s", id, full)
	}
	has := func(status string) bool {
		for _, line := range strings.Split(ok(t, "--dsn", dsn, "ls", coll, "--where", "status="+status, "--json"), "\n") {
			if line == "" {
				continue
			}
			doc, err := record.UnmarshalDoc([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			if doc["status"] != status {
				t.Errorf("ls --where status=%s listed %v with status %v", status, doc["id"], doc["status"])
			}
			if doc["id"] == id {
				return true
			}
		}
		return false
	}
	return table, show, has(record.StatusCrashed), has(record.StatusRunning)
}

// TestCrashedCLI: the record of a child process with a 100 ms heartbeat
// reads running while the child lives; once the child is SIGKILLed,
// `record ls`, `record show` and `record ls --where status=crashed` show
// it crashed within 1 s (3 heartbeats and a margin), while a live record
// with the same heartbeat stays running. After Store.Resume the CLI shows
// it running again, and after Close completed.
func TestCrashedCLI(t *testing.T) {
	if dsn := os.Getenv(crashedChildEnv); dsn != "" {
		crashedChild(dsn)
		return
	}
	ctx := t.Context()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "runs.db")
	const coll = "crash"
	st := open(t, dsn)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashedCLI$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashedChildEnv+"="+dsn)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	id, found := strings.CutPrefix(strings.TrimSpace(line), "ID ")
	if err != nil || !found {
		t.Fatalf("child printed %q (%v), want ID <id>; stderr:\n%s", line, err, stderr.String())
	}
	live, err := st.Create(ctx, coll, record.WithoutHost(), record.WithHeartbeat(crashedBeat))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close(context.Background(), nil)
	if table, show, crashed, running := cliStatus(t, dsn, coll, id); table != record.StatusRunning || show != record.StatusRunning || crashed || !running {
		t.Fatalf("the live child's record: ls %q, show %q, in --where status=crashed %v, in status=running %v; want running", table, show, crashed, running)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waited = true
	killed := time.Now()
	for {
		table, show, crashed, running := cliStatus(t, dsn, coll, id)
		if table == record.StatusCrashed && show == record.StatusCrashed && crashed && !running {
			t.Logf("ls, show and ls --where status=crashed show the killed run crashed %v after SIGKILL (heartbeat %v)", time.Since(killed).Round(time.Millisecond), crashedBeat)
			break
		}
		if time.Since(killed) > time.Second {
			t.Fatalf("%v after SIGKILL: ls %q, show %q, in --where status=crashed %v, in status=running %v; want crashed within 1 s", time.Since(killed).Round(time.Millisecond), table, show, crashed, running)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if table, show, crashed, running := cliStatus(t, dsn, coll, live.ID()); table != record.StatusRunning || show != record.StatusRunning || crashed || !running {
		t.Errorf("a live record with heartbeat %v: ls %q, show %q, in --where status=crashed %v, in status=running %v; want running", crashedBeat, table, show, crashed, running)
	}

	rec, err := st.Resume(ctx, coll, id, record.WithoutHost(), record.WithHeartbeat(crashedBeat))
	if err != nil {
		t.Fatalf("Resume of the crashed run: %v", err)
	}
	if table, show, crashed, running := cliStatus(t, dsn, coll, id); table != record.StatusRunning || show != record.StatusRunning || crashed || !running {
		t.Errorf("after Resume: ls %q, show %q, in --where status=crashed %v, in status=running %v; want running", table, show, crashed, running)
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if table, show, crashed, running := cliStatus(t, dsn, coll, id); table != record.StatusCompleted || show != record.StatusCompleted || crashed || running {
		t.Errorf("after Close: ls %q, show %q, in --where status=crashed %v, in status=running %v; want completed", table, show, crashed, running)
	}
}
