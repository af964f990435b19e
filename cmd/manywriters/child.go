package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/recordlab/go-record/record"
)

// childEnv holds the JSON spec of a child process; the program runs as a
// child when it is set.
const childEnv = "MANYWRITERS_CHILD"

// profileEnv names a directory where each child writes a CPU profile of
// its work (go tool pprof), when set.
const profileEnv = "MANYWRITERS_CPUPROFILE"

// Modes of a child: through the library, or with the raw driver.
const (
	modeLib = "lib"
	modeRaw = "raw"
)

// spec is what one child process does.
type spec struct {
	Backend    string   `json:"backend"` // sqlite, postgres, mongo
	Mode       string   `json:"mode"`    // lib or raw
	DSN        string   `json:"dsn"`     // lib: the record.Open DSN
	Raw        rawSpec  `json:"raw"`     // raw: where the library's layout lives
	Collection string   `json:"collection"`
	Writer     int      `json:"writer"`
	Runs       int      `json:"runs"`
	Steps      int64    `json:"steps"` // per run; one point per metric per step
	Metrics    []string `json:"metrics"`
	FlushEvery int64    `json:"flush_every"` // steps between Flush calls; 0: Close only
	Batch      int      `json:"batch"`
	Hostile    bool     `json:"hostile"` // log the hostile values too (value)
}

// runResult is what a child says about one run.
type runResult struct {
	ID     string `json:"id"`
	Logged int64  `json:"logged"` // steps logged, each with one point per metric
	Acked  int64  `json:"acked"`  // steps acknowledged by a Flush or Close that returned nil
	Closed bool   `json:"closed"` // Close returned nil
}

// childResult is the one line of JSON a child prints when it is done.
type childResult struct {
	Writer  int            `json:"writer"`
	Runs    []runResult    `json:"runs"`
	Flush   []float64      `json:"flush_ms"`
	Close   []float64      `json:"close_ms"`
	Errors  map[string]int `json:"errors,omitempty"`
	Samples []string       `json:"samples,omitempty"`
	Fatal   string         `json:"fatal,omitempty"`
}

func (r *childResult) fail(err error) {
	if r.Errors == nil {
		r.Errors = map[string]int{}
	}
	r.Errors[errorClass(err)]++
	if len(r.Samples) < 3 {
		r.Samples = append(r.Samples, err.Error())
	}
}

// errorClass names the class of an error for the report: "locked" for
// SQLite's busy or locked errors (which must never reach a user),
// "unavailable", "spooled", "timeout", "sealed", else "other".
func errorClass(err error) string {
	var spooled *record.SpoolError
	msg := err.Error()
	switch {
	case strings.Contains(msg, "database is locked"), strings.Contains(msg, "SQLITE_BUSY"), strings.Contains(msg, "SQLITE_LOCKED"):
		return "locked"
	case errors.As(err, &spooled):
		return "spooled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, record.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, record.ErrSealed):
		return "sealed"
	}
	return "other"
}

// writer opens runs in one store: the library or a raw driver.
type writer interface {
	create(ctx context.Context, coll string) (runHandle, error)
	close(ctx context.Context) error
}

// runHandle is one run being written.
type runHandle interface {
	id() string
	// log buffers one point per metric at step (vals in metric order).
	log(step int64, vals []float64)
	// flush stores everything logged so far.
	flush(ctx context.Context) error
	// close stores the rest and marks the run completed.
	close(ctx context.Context) error
}

// Deadlines of the child's calls: generous, so that a slow store shows
// as latency, not as an error.
const (
	flushTimeout = 2 * time.Minute
	openTimeout  = time.Minute
)

// childMain runs one child: open, say "ready", wait for "go" on stdin,
// write, print the result.
func childMain(specJSON string) int {
	var s spec
	res := childResult{}
	enc := json.NewEncoder(os.Stdout)
	if err := json.Unmarshal([]byte(specJSON), &s); err != nil {
		res.Fatal = fmt.Sprintf("bad spec: %v", err)
		_ = enc.Encode(res)
		return 1
	}
	res.Writer = s.Writer
	ctx := context.Background()
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	w, err := openWriter(octx, s)
	cancel()
	if err != nil {
		res.Fatal = "open: " + err.Error()
		_ = enc.Encode(res)
		return 1
	}
	if dir := os.Getenv(profileEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.pprof", s.Backend, s.Mode, s.Writer)))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		res.Fatal = "no go from the parent: " + err.Error()
		_ = enc.Encode(res)
		return 1
	}
	work(ctx, s, w, &res)
	if rw, ok := w.(*rawWriter); ok && rw.retries > 0 {
		if res.Errors == nil {
			res.Errors = map[string]int{}
		}
		res.Errors["busy-retried"] += rw.retries
	}
	if err := w.close(ctx); err != nil {
		res.fail(err)
	}
	if err := enc.Encode(res); err != nil {
		return 1
	}
	return 0
}

func openWriter(ctx context.Context, s spec) (writer, error) {
	switch s.Mode {
	case modeLib:
		store, err := record.Open(ctx, s.DSN)
		if err != nil {
			return nil, err
		}
		return &libWriter{store: store, batch: s.Batch, metrics: s.Metrics}, nil
	case modeRaw:
		return openRaw(ctx, s)
	}
	return nil, fmt.Errorf("unknown mode %q", s.Mode)
}

// work creates s.Runs runs one after the other and logs s.Steps steps of
// every metric into each at full speed, with a Flush every s.FlushEvery
// steps, then Close.
func work(ctx context.Context, s spec, w writer, res *childResult) {
	vals := make([]float64, len(s.Metrics))
	for range s.Runs {
		rn, err := w.create(ctx, s.Collection)
		if err != nil {
			res.fail(err)
			continue
		}
		rr := runResult{ID: rn.id(), Logged: s.Steps}
		for step := range s.Steps {
			for i := range vals {
				vals[i] = value(i, step, s.Hostile)
			}
			rn.log(step, vals)
			if s.FlushEvery > 0 && (step+1)%s.FlushEvery == 0 && step+1 < s.Steps {
				fctx, cancel := context.WithTimeout(ctx, flushTimeout)
				start := time.Now()
				err := rn.flush(fctx)
				res.Flush = append(res.Flush, ms(time.Since(start)))
				cancel()
				if err != nil {
					res.fail(err)
				} else {
					rr.Acked = step + 1
				}
			}
		}
		cctx, cancel := context.WithTimeout(ctx, flushTimeout)
		start := time.Now()
		err = rn.close(cctx)
		res.Close = append(res.Close, ms(time.Since(start)))
		cancel()
		if err != nil {
			res.fail(err)
		} else {
			rr.Acked, rr.Closed = s.Steps, true
		}
		res.Runs = append(res.Runs, rr)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// hostile are values that every backend must store bit for bit; value
// cycles through them.
var hostile = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1),
	math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 0,
}

// value is the value of metric i at step: an ordinary number that differs
// by metric and step, or, with hostile, one of the hostile values every 97
// steps.
func value(i int, step int64, withHostile bool) float64 {
	if k := (step + int64(i)) % 97; withHostile && k < int64(len(hostile)) {
		return hostile[k]
	}
	return float64(step)*0.001 + float64(i)
}

// sameValue reports whether a stored value is the logged one: bit for bit,
// any NaN matching any NaN.
func sameValue(want, got float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Float64bits(want) == math.Float64bits(got)
}

// metricNames returns n metric names, the first ones hostile (a quote, a
// backslash, a control character, non-ASCII letters, a space, a slash).
func metricNames(n int) []string {
	names := []string{"loss", `acc "top1"`, `grad\norm`, "lr\x01", "ünï/çødé", " sp ace"}
	for i := len(names); i < n; i++ {
		names = append(names, fmt.Sprintf("m%02d", i))
	}
	return names[:n]
}

// libWriter writes through package record.
type libWriter struct {
	store   *record.Store
	batch   int
	metrics []string
}

func (w *libWriter) create(ctx context.Context, coll string) (runHandle, error) {
	rec, err := w.store.Create(ctx, coll, record.WithoutHost(), record.WithBatchSize(w.batch))
	if err != nil {
		return nil, err
	}
	return &libRun{rec: rec, names: w.metrics, m: make(record.Metrics, len(w.metrics))}, nil
}

func (w *libWriter) close(ctx context.Context) error { return w.store.Close(ctx) }

type libRun struct {
	rec   *record.Record
	names []string
	m     record.Metrics
}

func (r *libRun) id() string { return r.rec.ID() }

func (r *libRun) log(step int64, vals []float64) {
	for i, name := range r.names {
		r.m[name] = vals[i]
	}
	r.rec.Log(step, r.m)
}

func (r *libRun) flush(ctx context.Context) error { return r.rec.Flush(ctx) }
func (r *libRun) close(ctx context.Context) error { return r.rec.Close(ctx, nil) }
