package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/recordlab/go-record/record"
)

// settings are the parsed command line.
type settings struct {
	backends   []string
	procs      []int
	modes      []string
	points     int64
	metrics    int
	runs       int
	flushEvery int64
	batch      int
	postgres   string
	mongo      string
	sqlite     string
	verify     bool
	json       bool
	serverPID  int
	hostile    bool
	keep       bool
}

func parseOptions(args []string, stderr io.Writer) (settings, error) {
	var o settings
	fs := flag.NewFlagSet("manywriters", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backends := fs.String("backends", "sqlite,postgres,mongo", "comma-separated backends: sqlite, postgres, mongo")
	procs := fs.String("procs", "8,32,64", "comma-separated numbers of writer processes")
	modes := fs.String("modes", "raw,lib", "comma-separated modes: raw (the driver alone), lib (package record)")
	fs.Int64Var(&o.points, "points", 1_000_000, "total points of one configuration, shared out over processes, runs and metrics")
	fs.IntVar(&o.metrics, "metrics", 8, "metrics logged at every step")
	fs.IntVar(&o.runs, "runs", 2, "runs each process creates, one after the other")
	fs.Int64Var(&o.flushEvery, "flush-every", 100, "steps between Flush calls (0: Close only)")
	fs.IntVar(&o.batch, "batch", 1000, "batch size: record.WithBatchSize, and the raw writers' batch")
	fs.StringVar(&o.postgres, "postgres", os.Getenv("RECORD_TEST_POSTGRES_DSN"), "PostgreSQL DSN (default $RECORD_TEST_POSTGRES_DSN)")
	fs.StringVar(&o.mongo, "mongo", os.Getenv("RECORD_TEST_MONGO_DSN"), "MongoDB DSN (default $RECORD_TEST_MONGO_DSN)")
	fs.StringVar(&o.sqlite, "sqlite", "", "SQLite file (default: a new file in a temporary directory)")
	fs.BoolVar(&o.verify, "verify", false, "read every point of the library's runs back and compare it with what was logged")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per configuration instead of tables")
	fs.BoolVar(&o.keep, "keep", false, "keep the schema, database and file written")
	fs.BoolVar(&o.hostile, "hostile", false, "log NaN, ±Inf, -0, ±MaxFloat64 and the smallest subnormal among the values (every 97 steps)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "a server process (PostgreSQL's postmaster, FerretDB) whose CPU time, with its exited children's, to report per configuration")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.backends = splitList(*backends)
	o.modes = splitList(*modes)
	for _, b := range o.backends {
		if !slices.Contains([]string{"sqlite", "postgres", "mongo"}, b) {
			return o, fmt.Errorf("-backends: unknown backend %q (want sqlite, postgres, mongo)", b)
		}
	}
	for _, m := range o.modes {
		if m != modeRaw && m != modeLib {
			return o, fmt.Errorf("-modes: unknown mode %q (want raw, lib)", m)
		}
	}
	for _, p := range splitList(*procs) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return o, fmt.Errorf("-procs: %q is not a positive number", p)
		}
		o.procs = append(o.procs, n)
	}
	switch {
	case o.metrics < 1:
		return o, errors.New("-metrics must be at least 1")
	case o.runs < 1:
		return o, errors.New("-runs must be at least 1")
	case o.batch < 1:
		return o, errors.New("-batch must be at least 1")
	case o.points < 1:
		return o, errors.New("-points must be at least 1")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// run is the parent: for every backend, writer count and mode it runs the
// children, counts what is stored and prints the results. ok is false
// when a check failed.
func run(ctx context.Context, args []string, stdout io.Writer) (ok bool, err error) {
	o, err := parseOptions(args, os.Stderr)
	if err != nil {
		return false, err
	}
	exe, err := os.Executable()
	if err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp("", "manywriters-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	tag := strings.ToLower(newID()[16:])
	metrics := metricNames(o.metrics)
	ok = true
	var results []result
	for _, name := range o.backends {
		t, err := openTarget(ctx, name, o, tmp, tag)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		for _, n := range o.procs {
			for _, mode := range o.modes {
				c := config{target: t, writers: n, mode: mode, metrics: metrics, o: o, exe: exe, tag: tag,
					spool: filepath.Join(tmp, fmt.Sprintf("spool-%s-%s-%d", name, mode, n))}
				res, err := c.run(ctx)
				if err != nil {
					t.cleanup(ctx, o.keep)
					return false, fmt.Errorf("%s, %d writers, %s: %w", name, n, mode, err)
				}
				ok = ok && res.OK
				results = append(results, res)
				if o.json {
					if err := json.NewEncoder(stdout).Encode(res); err != nil {
						return false, err
					}
				}
			}
		}
		t.cleanup(ctx, o.keep)
	}
	if !o.json {
		writeTables(stdout, results, o)
	}
	return ok, nil
}

// config is one measurement: one backend, one number of writers, one mode.
type config struct {
	target  *target
	writers int
	mode    string
	metrics []string
	o       settings
	exe     string
	spool   string
	tag     string // of this invocation, in collection names
}

// child is one started child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

func (c config) run(ctx context.Context) (result, error) {
	o := c.o
	coll := fmt.Sprintf("mw-%s-%s-%d", c.tag, c.mode, c.writers)
	steps := max(1, o.points/int64(c.writers*o.runs*len(c.metrics)))
	base := spec{Backend: c.target.name, Mode: c.mode, DSN: c.target.libDSN, Raw: c.target.raw,
		Collection: coll, Runs: o.runs, Steps: steps, Metrics: c.metrics, FlushEvery: o.flushEvery, Batch: o.batch, Hostile: o.hostile}
	if err := os.MkdirAll(c.spool, 0o700); err != nil {
		return result{}, err
	}
	if c.mode == modeRaw {
		if err := c.target.prepare(ctx, coll); err != nil {
			return result{}, err
		}
	}
	load := loadAvg()
	serverStart := procCPU(o.serverPID)
	children := make([]*child, 0, c.writers)
	defer func() {
		for _, ch := range children {
			if ch.cmd.ProcessState == nil {
				_ = ch.cmd.Process.Kill()
				_ = ch.cmd.Wait()
			}
		}
	}()
	for i := range c.writers {
		s := base
		s.Writer = i
		js, err := json.Marshal(s)
		if err != nil {
			return result{}, err
		}
		cmd := exec.CommandContext(ctx, c.exe)
		cmd.Env = append(os.Environ(), childEnv+"="+string(js), "RECORD_SPOOL_DIR="+c.spool)
		ch := &child{cmd: cmd}
		cmd.Stderr = &ch.stderr
		if ch.stdin, err = cmd.StdinPipe(); err != nil {
			return result{}, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return result{}, err
		}
		ch.out = bufio.NewReader(stdout)
		if err := cmd.Start(); err != nil {
			return result{}, err
		}
		children = append(children, ch)
	}
	// Wait until every child has opened the store, then release them all.
	for i, ch := range children {
		line, err := ch.out.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			return result{}, fmt.Errorf("child %d did not start: %q %v %s", i, line, err, ch.stderr.String())
		}
	}
	start := time.Now()
	for _, ch := range children {
		_, _ = io.WriteString(ch.stdin, "go\n")
		ch.stdin.Close()
	}
	res := result{Backend: c.target.name, Mode: c.mode, Writers: c.writers, Metrics: len(c.metrics),
		StepsPerRun: steps, Load: load, Errors: map[string]int{}}
	outs := make([]childResult, len(children))
	errs := make([]error, len(children))
	ends := make([]time.Time, len(children))
	var wg sync.WaitGroup
	for i, ch := range children {
		wg.Go(func() {
			line, err := ch.out.ReadBytes('\n')
			ends[i] = time.Now()
			if err == nil {
				err = json.Unmarshal(line, &outs[i])
			}
			if werr := ch.cmd.Wait(); err == nil && werr != nil {
				err = werr
			}
			if err != nil {
				errs[i] = fmt.Errorf("child %d: %w (stderr: %s)", i, err, strings.TrimSpace(ch.stderr.String()))
			}
		})
	}
	wg.Wait()
	end := slices.MaxFunc(ends, time.Time.Compare)
	res.Seconds = end.Sub(start).Seconds()
	if o.serverPID > 0 {
		res.ServerCPU = procCPU(o.serverPID) - serverStart
	}
	var flushes, closes []float64
	for i, ch := range children {
		if ps := ch.cmd.ProcessState; ps != nil {
			res.ClientCPU += (ps.UserTime() + ps.SystemTime()).Seconds()
		}
		if rss := maxRSS(ch.cmd.ProcessState); rss > res.PeakRSSMB {
			res.PeakRSSMB = rss
		}
		if errs[i] != nil {
			res.ChildFailures++
			res.addSample(errs[i].Error())
		}
		out := outs[i]
		if out.Fatal != "" {
			res.ChildFailures++
			res.addSample(out.Fatal)
		}
		for k, v := range out.Errors {
			res.Errors[k] += v
		}
		for _, s := range out.Samples {
			res.addSample(s)
		}
		flushes = append(flushes, out.Flush...)
		closes = append(closes, out.Close...)
		res.runs = append(res.runs, out.Runs...)
	}
	res.FlushP50, res.FlushP99, res.FlushMax = percentile(flushes, 50), percentile(flushes, 99), percentile(flushes, 100)
	res.CloseP99 = percentile(closes, 99)
	res.Flushes = len(flushes)
	stored, err := c.target.count(ctx, coll)
	if err != nil {
		return res, fmt.Errorf("count: %w", err)
	}
	var sums map[string]summary
	if c.mode == modeLib {
		if sums, err = c.target.summaries(ctx, coll, res.runs, c.metrics); err != nil {
			return res, fmt.Errorf("summaries: %w", err)
		}
	}
	res.check(c.metrics, stored, sums)
	if c.mode == modeLib {
		res.SpoolLeft = countFiles(c.spool)
		if o.verify {
			if err := verifyRuns(ctx, c.target.store, coll, res.runs, c.metrics, o.hostile, &res); err != nil {
				return res, fmt.Errorf("verify: %w", err)
			}
		}
	}
	if res.Seconds > 0 {
		res.PtsPerSec = float64(res.Stored) / res.Seconds
	}
	res.OK = res.ok()
	return res, nil
}

// maxRSS is a finished process's peak resident set in MB.
func maxRSS(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return 0
}

// procCPU is the CPU time in seconds of process pid and of its children
// that it has reaped (a PostgreSQL backend that exited), from
// /proc/pid/stat; 0 if pid is 0 or unreadable.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 here.
	if len(f) < 15 {
		return 0
	}
	var ticks float64
	for _, s := range f[11:15] {
		n, _ := strconv.ParseFloat(s, 64)
		ticks += n
	}
	return ticks / 100 // USER_HZ
}

// percentile is the p-th percentile (nearest rank) of xs; 0 without any.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// loadAvg is the 1-minute load average, as /proc/loadavg says.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// countFiles counts the regular files under dir: what the library left in
// its spool.
func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// summary is a metric's summary as the record document holds it.
type summary struct {
	count  int64
	found  bool
	status string
}

// verifyRuns reads every point of every run's metrics through package
// record and compares steps and values with what the children logged.
func verifyRuns(ctx context.Context, store *record.Store, coll string, runs []runResult, metrics []string, hostile bool, res *result) error {
	for _, r := range runs {
		snap, err := store.Get(ctx, coll, r.ID)
		if err != nil {
			return err
		}
		for i, name := range metrics {
			var next int64
			for batch, err := range snap.Series(ctx, name) {
				if err != nil {
					return err
				}
				for _, p := range batch {
					if p.Step != next || !sameValue(value(i, p.Step, hostile), p.Value) {
						res.ValueBad++
						if res.ValueBad <= 3 {
							res.addSample(fmt.Sprintf("run %s metric %q: point %d is step %d value %v, want step %d value %v",
								r.ID, name, next, p.Step, p.Value, next, value(i, next, hostile)))
						}
					}
					next++
				}
			}
			res.Verified += next
		}
	}
	return nil
}
