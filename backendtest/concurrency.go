package backendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

func (s *suite) testConcurrency(t *testing.T) {
	t.Run("Goroutines", func(t *testing.T) {
		s.skipUnless(t, ConcurrentMerge)
		st := s.store(t)
		rec := s.create(t, st)
		ctx := t.Context()
		const n = 32
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for g := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- rec.Set(ctx, fmt.Sprintf("workers.w%02d.done", g), int64(g))
			}()
			go func() {
				defer wg.Done()
				errs <- rec.Append(ctx, "events", int64(g))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent write: %v", err)
			}
		}
		snap, err := st.Get(ctx, coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		workers, _ := snap.Map("workers")
		events, _ := snap.Slice("events")
		if len(workers) != n || len(events) != n {
			t.Fatalf("%d of %d disjoint Sets and %d of %d Appends survived", len(workers), n, len(events), n)
		}
		seen := map[int64]bool{}
		for _, e := range events {
			seen[e.(int64)] = true
		}
		if len(seen) != n {
			t.Fatalf("appended values are not the %d distinct ones: %v", n, events)
		}
	})
	t.Run("Processes", func(t *testing.T) {
		s.skipUnless(t, Reopen, MultiProcess, ConcurrentMerge)
		dsn := s.newDSN(t)
		st := storeDSN(t, dsn)
		rec := s.create(t, st)
		const procs, writes = 4, 25
		var wg sync.WaitGroup
		outs := make([][]byte, procs)
		errs := make([]error, procs)
		for p := range procs {
			spec, _ := json.Marshal(workerSpec{DSN: dsn, Coll: coll, ID: rec.ID(), Worker: p, Writes: writes})
			cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), workerEnv+"="+string(spec))
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[p], errs[p] = cmd.CombinedOutput()
			}()
		}
		wg.Wait()
		for p := range procs {
			if errs[p] != nil {
				t.Fatalf("worker process %d: %v\n%s", p, errs[p], outs[p])
			}
		}
		snap, err := st.Get(t.Context(), coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		events, _ := snap.Slice("events")
		if len(events) != procs*writes {
			t.Fatalf("%d appends survived, want %d", len(events), procs*writes)
		}
		for p := range procs {
			w, err := snap.Map(fmt.Sprintf("workers.p%d", p))
			if err != nil || len(w) != writes {
				t.Fatalf("worker %d: %d of %d disjoint Sets survived (%v)", p, len(w), writes, err)
			}
			ser, err := snap.LoadSeries(t.Context(), fmt.Sprintf("loss_p%d", p))
			if err != nil || len(ser.Values) != writes {
				t.Fatalf("worker %d: %d of %d points survived (%v)", p, len(ser.Values), writes, err)
			}
		}
	})
}

// workerEnv carries a workerSpec to a child process of the Processes test.
const workerEnv = "RECORD_BACKENDTEST_WORKER"

type workerSpec struct {
	DSN    string
	Coll   string
	ID     string
	Worker int
	Writes int
}

// runPattern turns a test name into a -test.run pattern selecting the top
// test only: the child runs RunConformanceTests, which sees workerEnv first.
func runPattern(name string) string {
	top, _, _ := strings.Cut(name, "/")
	return "^" + regexp.QuoteMeta(top) + "$"
}

// runWorker is the body of a child process: it resumes the record and
// writes into it alongside its siblings, then exits.
func runWorker(t *testing.T, specText string) {
	var spec workerSpec
	if err := json.Unmarshal([]byte(specText), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "backendtest worker: bad spec:", err)
		os.Exit(2)
	}
	fail := func(what string, err error) {
		fmt.Fprintf(os.Stderr, "backendtest worker %d: %s: %v\n", spec.Worker, what, err)
		os.Exit(1)
	}
	ctx := t.Context()
	st, err := record.Open(ctx, spec.DSN)
	if err != nil {
		fail("open", err)
	}
	rec, err := st.Resume(ctx, spec.Coll, spec.ID, record.WithBatchSize(5), record.WithFlushInterval(time.Millisecond))
	if err != nil {
		fail("resume", err)
	}
	metric := fmt.Sprintf("loss_p%d", spec.Worker)
	for i := range spec.Writes {
		if err := rec.Append(ctx, "events", fmt.Sprintf("p%d-%d", spec.Worker, i)); err != nil {
			fail("append", err)
		}
		if err := rec.Set(ctx, fmt.Sprintf("workers.p%d.w%03d", spec.Worker, i), int64(i)); err != nil {
			fail("set", err)
		}
		rec.Log(int64(i), record.Metrics{metric: float64(i)})
	}
	if err := rec.Flush(ctx); err != nil {
		fail("flush", err)
	}
	if err := st.Close(context.Background()); err != nil {
		fail("close", err)
	}
	os.Exit(0)
}
