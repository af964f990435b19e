package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
)

// hostileOpt is a parameter value with quotes, a backslash, control
// characters and HTML.
const hostileOpt = "adam \"q\" \\ \x01\x1b[31m\n<script>"

// seedSweep writes a sweep of 3 learning rates x 3 seeds with goals
// (acc is maximised): lr 1 is stored as int by seed 0 and as float by
// the others; run-1-1's losses are all NaN, run-0-2 never logs a loss,
// and run-2-2 is a running record whose heartbeat stopped (crashed).
func seedSweep(t *testing.T, s *record.Store) {
	t.Helper()
	ctx := t.Context()
	lrs := []any{0.001, 0.01, int64(1)}
	for li, lr := range lrs {
		for seed := range 3 {
			id := fmt.Sprintf("run-%d-%d", li, seed)
			rec, err := s.Create(ctx, "sweep", record.WithID(id), record.WithoutHost(), record.WithHeartbeat(time.Hour),
				record.WithSeed(int64(seed)), record.WithGoal("acc", record.Maximize))
			if err != nil {
				t.Fatal(err)
			}
			v := lr
			if li == 2 && seed > 0 {
				v = 1.0
			}
			clip := 1.0
			if seed == 1 {
				clip = math.NaN()
			}
			p := map[string]any{"lr": v, "opt": hostileOpt, "batch": int64(32), "clip": clip,
				"tag\"\x02": fmt.Sprintf("<b>%d</b>", seed), "config": map[string]any{"optim": map[string]any{"beta": 0.9}}}
			if err := rec.Update(ctx, p); err != nil {
				t.Fatal(err)
			}
			for step := range 4 {
				m := record.Metrics{"acc": 0.5 + 0.125*float64(seed) + 0.25*float64(li) + 0.0625*float64(step)}
				switch {
				case li == 1 && seed == 1:
					m["loss"] = math.NaN()
				case li == 0 && seed == 2:
				default:
					m["loss"] = float64(4-step) * (0.25 + 0.125*float64(seed) + float64(li))
				}
				rec.Log(int64(step), m)
			}
			// Fix the times Create and Close wrote, for output that does not
			// change; only the escape hatch writes the fields record manages.
			created := base.Add(time.Duration(3*li+seed) * time.Minute)
			host, err := record.Normalize(map[string]any{"hostname": fmt.Sprintf("gpu-%d", seed%2), "os": "linux", "num_cpu": 16})
			if err != nil {
				t.Fatal(err)
			}
			ops := []backend.Op{{Kind: backend.Set, Path: []string{"created"}, Value: created}, {Kind: backend.Set, Path: []string{"host"}, Value: host}}
			if li == 2 && seed == 2 {
				if err := rec.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				// Left open: its heartbeat (an hour) never comes, and it was
				// due an hour ago.
				ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"alive_until"}, Value: time.Now().Add(-time.Hour)})
			} else {
				if err := rec.Close(ctx, nil); err != nil {
					t.Fatal(err)
				}
				ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"duration"}, Value: float64(60 + 7*(3*li+seed))})
			}
			var b backend.Backend
			if !s.As(&b) {
				t.Fatal("Store.As(*backend.Backend) = false")
			}
			if err := b.Merge(ctx, "sweep", id, ops); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sweepCases are command lines over the sweep and their output, which
// must be the same bytes on every backend.
var sweepCases = []struct {
	name string
	args []string
	want string
}{
	// Groups: int 1 and float 1.0 together, N with the NaN and missing
	// runs counted beside it, mean ± std, stderr and the best member by
	// the metric's goal (acc is maximised), cells cleaned of control
	// characters.
	{"group", []string{"ls", "sweep", "--group-by", "lr,opt", "--metric", "loss.min", "--metric", "metrics.acc.max"}, `
lr     opt                         RUNS  loss.min: N    MEAN ± STD          STDERR     BEST     metrics.acc.max: N  MEAN ± STD      STDERR     BEST
0.001  adam "q" \   [31m <script>  3     2 (1 missing)  0.3125 ± 0.0883883  0.0625     run-0-0  3                   0.8125 ± 0.125  0.0721688  run-0-2
0.01   adam "q" \   [31m <script>  3     2 (1 NaN/Inf)  1.375 ± 0.176777    0.125      run-1-0  3                   1.0625 ± 0.125  0.0721688  run-1-2
1      adam "q" \   [31m <script>  3     3              2.375 ± 0.125       0.0721688  run-2-0  3                   1.3125 ± 0.125  0.0721688  run-2-2
`},
	// --best orders groups by their mean, descending for a maximised metric.
	{"group_best", []string{"ls", "sweep", "--group-by", "lr", "--best", "acc", "--metric", "loss.last,loss,loss.min"}, `
lr     RUNS  loss.last: N   MEAN ± STD          STDERR     BEST     loss.min: N    MEAN ± STD          STDERR     BEST     acc.max: N  MEAN ± STD      STDERR     BEST
1      3     3              2.375 ± 0.125       0.0721688  run-2-0  3              2.375 ± 0.125       0.0721688  run-2-0  3           1.3125 ± 0.125  0.0721688  run-2-2
0.01   3     2 (1 NaN/Inf)  1.375 ± 0.176777    0.125      run-1-0  2 (1 NaN/Inf)  1.375 ± 0.176777    0.125      run-1-0  3           1.0625 ± 0.125  0.0721688  run-1-2
0.001  3     2 (1 missing)  0.3125 ± 0.0883883  0.0625     run-0-0  2 (1 missing)  0.3125 ± 0.0883883  0.0625     run-0-0  3           0.8125 ± 0.125  0.0721688  run-0-2
`},
	{"group_limit", []string{"ls", "sweep", "--group-by", "batch", "--metric", "loss.min", "--where", "lr<0.1", "--best", "loss", "--limit", "1"}, `
batch  RUNS  loss.min: N               MEAN ± STD          STDERR    BEST
32     6     4 (1 NaN/Inf, 1 missing)  0.84375 ± 0.623957  0.311979  run-0-0
`},
	// --columns chooses params and metric summaries; --best sorts records
	// ascending for a minimised metric, the runs without one last; the
	// crashed run says so.
	{"columns", []string{"ls", "sweep", "--columns", "lr,opt,loss.min,loss.last,acc.max,metrics.acc.last,config.optim.beta,tag\"\x02", "--best", "loss"}, `
ID       CREATED              STATUS     DURATION  lr     opt                         loss.min  loss.last  acc.max  metrics.acc.last  config.optim.beta  tag" 
run-0-0  2026-11-25 10:00:00  completed  1m0s      0.001  adam "q" \   [31m <script>  0.25      0.25       0.6875   0.6875            0.9                <b>0</b>
run-0-1  2026-11-25 10:01:00  completed  1m7s      0.001  adam "q" \   [31m <script>  0.375     0.375      0.8125   0.8125            0.9                <b>1</b>
run-1-0  2026-11-25 10:03:00  completed  1m21s     0.01   adam "q" \   [31m <script>  1.25      1.25       0.9375   0.9375            0.9                <b>0</b>
run-1-2  2026-11-25 10:05:00  completed  1m35s     0.01   adam "q" \   [31m <script>  1.5       1.5        1.1875   1.1875            0.9                <b>2</b>
run-2-0  2026-11-25 10:06:00  completed  1m42s     1      adam "q" \   [31m <script>  2.25      2.25       1.1875   1.1875            0.9                <b>0</b>
run-2-1  2026-11-25 10:07:00  completed  1m49s     1      adam "q" \   [31m <script>  2.375     2.375      1.3125   1.3125            0.9                <b>1</b>
run-2-2  2026-11-25 10:08:00  crashed    -         1      adam "q" \   [31m <script>  2.5       2.5        1.4375   1.4375            0.9                <b>2</b>
run-0-2  2026-11-25 10:02:00  completed  1m14s     0.001  adam "q" \   [31m <script>  -         -          0.9375   0.9375            0.9                <b>2</b>
run-1-1  2026-11-25 10:04:00  completed  1m28s     0.01   adam "q" \   [31m <script>  -         NaN        1.0625   1.0625            0.9                <b>1</b>
`},
	{"best", []string{"ls", "sweep", "--columns", "lr,acc.max", "--best", "acc", "--limit", "3"}, `
ID       CREATED              STATUS     DURATION  lr  acc.max
run-2-2  2026-11-25 10:08:00  crashed    -         1   1.4375
run-2-1  2026-11-25 10:07:00  completed  1m49s     1   1.3125
run-2-0  2026-11-25 10:06:00  completed  1m42s     1   1.1875
`},
	// The plain table: NAME.best is the maximum of a maximised metric.
	{"ls", []string{"ls", "sweep", "--where", "seed>=1", "--where", "lr>0.005"}, `
ID       CREATED              STATUS     DURATION  batch  clip  lr    opt                         seed  tag"     acc.last  acc.best  loss.last  loss.best
run-1-1  2026-11-25 10:04:00  completed  1m28s     32     NaN   0.01  adam "q" \   [31m <script>  1     <b>1</b>  1.0625    1.0625    NaN        -
run-1-2  2026-11-25 10:05:00  completed  1m35s     32     1     0.01  adam "q" \   [31m <script>  2     <b>2</b>  1.1875    1.1875    1.5        1.5
run-2-1  2026-11-25 10:07:00  completed  1m49s     32     NaN   1     adam "q" \   [31m <script>  1     <b>1</b>  1.3125    1.3125    2.375      2.375
run-2-2  2026-11-25 10:08:00  crashed    -         32     1     1     adam "q" \   [31m <script>  2     <b>2</b>  1.4375    1.4375    2.5        2.5
`},
	// compare: what differs, the rest folded; the host only with --host.
	{"compare", []string{"compare", "sweep", "run-0-0", "run-1-1", "run-2-2"}, `
             run-0-0              run-1-1              run-2-2
record                                                 
  status     completed            completed            crashed
  created    2026-11-25 10:00:00  2026-11-25 10:04:00  2026-11-25 10:08:00
  duration   1m0s                 1m28s                -
params                                                 
  clip       1                    NaN                  1
  lr         0.001                0.01                 1
  seed       0                    1                    2
  tag"       <b>0</b>             <b>1</b>             <b>2</b>
metrics                                                
  acc.last   0.6875               1.0625               1.4375
  acc.min    0.5                  0.875                1.25
  acc.max    0.6875               1.0625               1.4375
  loss.last  0.25                 NaN                  2.5
  loss.min   0.25                 -                    2.5
  loss.max   1                    -                    10
same: batch=32, config.optim.beta=0.9, opt=adam "q" \   [31m <script>
`},
	{"compare_host", []string{"compare", "sweep", "run-0-0", "run-1-1", "run-2-2", "--host"}, `
             run-0-0              run-1-1              run-2-2
record                                                 
  status     completed            completed            crashed
  created    2026-11-25 10:00:00  2026-11-25 10:04:00  2026-11-25 10:08:00
  duration   1m0s                 1m28s                -
params                                                 
  clip       1                    NaN                  1
  lr         0.001                0.01                 1
  seed       0                    1                    2
  tag"       <b>0</b>             <b>1</b>             <b>2</b>
metrics                                                
  acc.last   0.6875               1.0625               1.4375
  acc.min    0.5                  0.875                1.25
  acc.max    0.6875               1.0625               1.4375
  loss.last  0.25                 NaN                  2.5
  loss.min   0.25                 -                    2.5
  loss.max   1                    -                    10
host                                                   
  hostname   gpu-0                gpu-1                gpu-0
same: batch=32, config.optim.beta=0.9, opt=adam "q" \   [31m <script>
same host: num_cpu=16, os=linux
`},
}

// TestSweepOutput runs sweepCases on every backend.
func TestSweepOutput(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			seedSweep(t, open(t, dsn))
			for _, c := range sweepCases {
				got := ok(t, append([]string{"--dsn", dsn}, c.args...)...)
				if dir := os.Getenv("SWEEP_DUMP"); dir != "" {
					os.WriteFile(filepath.Join(dir, c.name), []byte(got), 0o644)
				}
				if d := cmp.Diff(strings.TrimPrefix(c.want, "\n"), got); d != "" {
					t.Errorf("%s: record %s (-want +got):\n%s", c.name, strings.Join(c.args, " "), d)
				}
			}
		})
	}
}

// TestLsGroupErrors: flags that do not go together, bad paths and a
// missing collection are refused with the usual exit statuses.
func TestLsGroupErrors(t *testing.T) {
	dsn := "mem://" + unique("group")
	seedSweep(t, open(t, dsn))
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--metric", "loss.min"}, 2, "--metric goes with --group-by"},
		{[]string{"--group-by", "lr", "--sort", "lr"}, 2, "--sort does not go with --group-by"},
		{[]string{"--group-by", "lr", "--json"}, 2, "--json does not go with --group-by"},
		{[]string{"--group-by", "lr", "--columns", "lr"}, 2, "--columns does not go with --group-by"},
		{[]string{"--best", "loss", "--sort", "lr"}, 2, "give one"},
		{[]string{"--group-by", "lr,,batch"}, 2, "bad --group-by"},
		{[]string{"--group-by", "lr", "--metric", "$x"}, 2, "bad --metric"},
		{[]string{"--best", "a..b"}, 2, "bad --best"},
		{[]string{"--columns", "lr,"}, 2, "bad --columns"},
		{[]string{"--columns", "lr", "--json"}, 2, "--columns does not go with --json"},
		{[]string{"--group-by", "lr", "--where", "lr>\"x\""}, 2, "bad --where"},
	} {
		args := append([]string{"--dsn", dsn, "ls", "sweep"}, c.args...)
		out, errOut, code := cli(t, "", args...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.msg) {
			t.Errorf("record %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), code, out, errOut, c.code, c.msg)
		}
	}
	out, errOut, code := cli(t, "", "--dsn", dsn, "ls", "nope", "--group-by", "lr", "--metric", "loss")
	if code != 3 || out != "" || !strings.Contains(errOut, "no collection") {
		t.Errorf("missing collection: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A condition that selects nothing prints the header alone.
	out = ok(t, "--dsn", dsn, "ls", "sweep", "--group-by", "lr", "--metric", "loss", "--where", "lr>5")
	if out != "lr  RUNS  loss.last: N  MEAN ± STD  STDERR  BEST\n" {
		t.Errorf("no group: %q", out)
	}
}
