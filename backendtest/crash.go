package backendtest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// SeedEnv, when set to an unsigned integer, seeds the random choices of
// the Crash test (when each child is killed) instead of the clock, to
// replay a failed run: the test logs the seed it used.
const SeedEnv = "RECORD_BACKENDTEST_SEED"

// crashMetric is the metric the child of the Crash test logs.
const crashMetric = "loss"

// crashEvery is how many points the child of the Crash test logs between
// two Flushes, each acknowledged on its standard output.
const crashEvery = 200

// crashValue is the value logged at step in the Crash test: multiples of
// 0.5, negative ones, and NaN every 37 steps.
func crashValue(step int64) float64 {
	if step%37 == 36 {
		return math.NaN()
	}
	return float64(step%1001-500) * 0.5
}

// crashSettle is how long the Crash test waits after the kill before it
// resumes: a server may still commit the last transaction of a client
// that was killed, until it notices the connection is gone.
const crashSettle = 250 * time.Millisecond

// crashChild creates a record, prints "ID <id>", then logs crashMetric at
// steps 0, 1, 2, ... with background flushes in between, and Flushes
// every crashEvery points, printing "ACK <step>" after each Flush that
// returned nil: every step up to <step> is stored. It runs until killed.
func crashChild(ctx context.Context, st *record.Store, spec childSpec, fail func(string, error)) {
	rec, err := st.Create(ctx, spec.Coll, record.WithoutHost(), record.WithBatchSize(50), record.WithFlushInterval(5*time.Millisecond))
	if err != nil {
		fail("create", err)
	}
	fmt.Fprintf(os.Stdout, "ID %s\n", rec.ID())
	for step := int64(0); ctx.Err() == nil; step++ {
		rec.Log(step, record.Metrics{crashMetric: crashValue(step)})
		if (step+1)%crashEvery == 0 {
			if err := rec.Flush(ctx); err != nil {
				fail("flush", err)
			}
			fmt.Fprintf(os.Stdout, "ACK %d\n", step)
			time.Sleep(time.Millisecond)
		}
	}
	fail("crash child", fmt.Errorf("not killed within %v", childLimit))
}

// wantSteps fails t unless the stored points are steps 0..n-1, each once,
// with crashValue's values, and returns them.
func wantSteps(t *testing.T, what string, stored []record.Point, n int64) {
	t.Helper()
	got := slices.SortedFunc(slices.Values(stored), func(a, b record.Point) int { return cmp.Compare(a.Step, b.Step) })
	for i, p := range got {
		if p.Step != int64(i) {
			if i > 0 && p.Step == got[i-1].Step {
				t.Fatalf("%s: step %d is stored twice", what, p.Step)
			}
			t.Fatalf("%s: step %d is missing (the stored steps go on at %d)", what, i, p.Step)
		}
		if math.Float64bits(p.Value) != math.Float64bits(crashValue(p.Step)) {
			t.Fatalf("%s: step %d = %v, logged %v", what, p.Step, p.Value, crashValue(p.Step))
		}
	}
	if int64(len(got)) != n {
		t.Fatalf("%s: steps 0..%d are stored, want 0..%d", what, len(got)-1, n-1)
	}
}

// crashRand returns the Crash test's random source and logs its seed.
func crashRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if text := os.Getenv(SeedEnv); text != "" {
		v, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, text, err)
		}
		seed = v
	}
	t.Logf("random seed %d (set %s=%d to replay)", seed, SeedEnv, seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

func (s *suite) testCrash(t *testing.T) {
	t.Run("KillAndResume", func(t *testing.T) {
		// A child logs and Flushes, acknowledging each Flush, and is
		// killed with SIGKILL at a random moment. Every acknowledged step
		// must be stored, once; Resume must leave the summary equal to the
		// stored points and report the last stored step, from which
		// logging on stores every step once.
		s.skipUnless(t, Reopen, MultiProcess)
		const trials = 5
		rnd := crashRand(t)
		dsn := s.newDSN(t)
		st := storeDSN(t, dsn)
		ctx := t.Context()
		for trial := range trials {
			delay := time.Duration(rnd.IntN(1200)) * time.Millisecond
			more := int64(100 + rnd.IntN(400))
			c := startChild(t, childSpec{Role: "crash", DSN: dsn, Coll: coll})
			id := expectLine(t, c.lines, "ID ", time.Minute)
			time.Sleep(delay)
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatalf("trial %d: kill: %v", trial, err)
			}
			rest, _ := c.wait()
			acked := int64(-1)
			for _, line := range rest {
				if text, ok := strings.CutPrefix(line, "ACK "); ok {
					step, err := strconv.ParseInt(text, 10, 64)
					if err != nil || step <= acked {
						t.Fatalf("trial %d: bad acknowledgement %q after %d", trial, line, acked)
					}
					acked = step
				}
			}
			// The server may still be committing what the killed child
			// sent last (its connection is not seen closed at once).
			time.Sleep(crashSettle)
			rec, err := st.Resume(ctx, coll, id, record.WithBatchSize(50), record.WithFlushInterval(5*time.Millisecond))
			if err != nil {
				t.Fatalf("trial %d: Resume: %v", trial, err)
			}
			snap, err := st.Get(ctx, coll, id)
			if err != nil {
				t.Fatalf("trial %d: Get: %v", trial, err)
			}
			stored := storedPoints(t, snap, crashMetric)
			t.Logf("trial %d: killed after %v: %d steps acknowledged, %d stored", trial, delay, acked+1, len(stored))
			wantSteps(t, fmt.Sprintf("trial %d, after the kill", trial), stored, int64(len(stored)))
			if int64(len(stored)) <= acked {
				t.Fatalf("trial %d: step %d was acknowledged but only steps 0..%d are stored", trial, acked, len(stored)-1)
			}
			if len(stored) > 0 {
				wantSummary(t, snap, crashMetric, stored)
			} else if n, err := snap.Int64("metrics." + crashMetric + ".count"); err == nil && n != 0 {
				t.Fatalf("trial %d: no point stored, but metrics.%s.count = %d after Resume", trial, crashMetric, n)
			}
			next := int64(0)
			last, ok := rec.LastSteps()[crashMetric]
			switch {
			case len(stored) == 0 && ok && last != -1:
				t.Fatalf("trial %d: no point stored, but LastSteps()[%s] = %d", trial, crashMetric, last)
			case len(stored) > 0 && (!ok || last != int64(len(stored)-1)):
				t.Fatalf("trial %d: LastSteps()[%s] = %d, %v; the last stored step is %d", trial, crashMetric, last, ok, len(stored)-1)
			case ok:
				next = last + 1
			}
			end := next + more
			for step := next; step < end; step++ {
				rec.Log(step, record.Metrics{crashMetric: crashValue(step)})
			}
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatalf("trial %d: Close: %v", trial, err)
			}
			snap, err = st.Get(ctx, coll, id)
			if err != nil {
				t.Fatal(err)
			}
			stored = storedPoints(t, snap, crashMetric)
			wantSteps(t, fmt.Sprintf("trial %d, after Resume and Close", trial), stored, end)
			wantSummary(t, snap, crashMetric, stored)
			if snap.Status() != record.StatusCompleted {
				t.Fatalf("trial %d: status %q after Close, want completed", trial, snap.Status())
			}
		}
	})
}
