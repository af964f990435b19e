package record

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
)

// Metrics are the values of named metrics at one step, for Record.Log.
type Metrics map[string]float64

// Log buffers one point per metric at step. It never waits on I/O: points
// are written in batches in the background, and Flush and Close wait until
// every point is stored. Each metric's points go to its series
// (Snapshot.Series) and a summary {count, last, last_step, min, max, ...}
// is kept at metrics.<name> in the record. Names follow the rules of keys
// ("train/loss" is fine, "train.loss" is not); a bad name, or a Log after
// Close, is reported by the next Flush or Close.
//
// Log is fastest (no allocation, no iteration of m) when m holds the same
// names as the record's metrics so far, as a training loop that logs the
// same metrics at every step does; a map made once and updated in place
// costs nothing to build. Even so, each metric costs a map update by the
// caller and a lookup by Log (about 40 ns together here): a loop that
// logs at millions of steps a second can log through Metric handles
// instead.
func (r *Record) Log(step int64, m Metrics) {
	ms := r.clock.Load().nowMs()
	r.mu.Lock()
	if r.closing || r.sealed.Load() {
		r.refuseLocked()
		r.mu.Unlock()
		return
	}
	done := 0
	if len(m) == len(r.metrics) {
		// Every name of m is a metric already: look them up rather than
		// iterate m, until one is missing.
		for _, b := range r.metrics {
			v, ok := m[b.name]
			if !ok {
				break
			}
			b.add(point{Step: step, Value: v, Ms: ms}, r)
			done++
		}
		r.npending += done
	}
	if done < len(m) {
		r.logSlowLocked(step, m, ms, done)
	}
	kick, spill := r.wakeupsLocked()
	r.mu.Unlock()
	r.wake(kick, spill)
}

// wakeupsLocked says, after points were buffered, whether to wake the writer
// (there is about a full batch per metric) and the spiller (the points
// not even cut are over half the memory bound: the writer is busy with a
// slow write, see overBound; or, once, over a sixteenth of it, so that it
// makes the journal before the first spill needs it). mu is held.
func (r *Record) wakeupsLocked() (kick, spill bool) {
	kick = r.npending >= r.cfg.batchSize*max(len(r.metrics), 1) && !r.kicked
	r.kicked = r.kicked || kick
	spill = !r.spilling && (r.npending > r.boundPoints/2 || (!r.spillWoken && r.npending > r.boundPoints/16))
	r.spilling = r.spilling || spill
	r.spillWoken = r.spillWoken || spill
	return kick, spill
}

// wake wakes the writer and the spiller as wakeupsLocked said.
func (r *Record) wake(kick, spill bool) {
	if kick {
		r.kickWriter()
	}
	if spill {
		select {
		case r.spill <- struct{}{}:
		default:
		}
	}
}

// Metric is a handle to one metric of a record, for a loop that logs it
// at every step: its Log buffers a point as Record.Log does, without
// looking the name up in a map (for one metric, a third of the cost of
// Record.Log, and the caller's own map update besides). A handle may be
// used from several goroutines, as Record.Log may, and mixed with
// Record.Log of the same metric.
type Metric struct {
	r   *Record
	b   *buffer // nil when the name is not valid
	err error   // why the name is not valid
}

// Metric returns the handle of the metric name of r. A bad name is
// reported as Record.Log reports it: by the next Flush or Close after a
// Log through the handle.
func (r *Record) Metric(name string) *Metric {
	if err := validMetric(name); err != nil {
		return &Metric{r: r, err: err}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.pending[name]
	if b == nil {
		b = &buffer{name: name}
		r.pending[name] = b
		r.addMetricsLocked([]*buffer{b})
	}
	return &Metric{r: r, b: b}
}

// Log buffers the point (step, value) of the metric; see Record.Log.
func (m *Metric) Log(step int64, value float64) {
	r := m.r
	ms := r.clock.Load().nowMs()
	r.mu.Lock()
	switch {
	case r.closing || r.sealed.Load():
		r.refuseLocked()
		r.mu.Unlock()
		return
	case m.b == nil:
		if r.logErr == nil {
			r.logErr = m.err
		}
		r.mu.Unlock()
		return
	}
	m.b.add(point{Step: step, Value: value, Ms: ms}, r)
	r.npending++
	kick, spill := r.wakeupsLocked()
	r.mu.Unlock()
	r.wake(kick, spill)
}

// refuseLocked records a Log after Close. mu is held.
func (r *Record) refuseLocked() {
	if r.logErr == nil {
		r.logErr = &Error{Op: "log", Collection: r.coll, ID: r.id, err: ErrSealed}
	}
}

// logSlowLocked buffers the points of m that the fast path of Log did not:
// it iterates m, skipping the first done metrics of r.metrics (already
// buffered), and adds a buffer for each new valid name. mu is held.
func (r *Record) logSlowLocked(step int64, m Metrics, ms int64, done int) {
	var added []*buffer
	for name, v := range m {
		b := r.pending[name]
		if b == nil {
			if err := validMetric(name); err != nil {
				if r.logErr == nil {
					r.logErr = err
				}
				continue
			}
			b = &buffer{name: name, idx: -1}
			r.pending[name] = b
			added = append(added, b)
		} else if b.idx >= 0 && b.idx < done {
			continue
		}
		b.add(point{Step: step, Value: v, Ms: ms}, r)
		r.npending++
	}
	if len(added) > 0 {
		r.addMetricsLocked(added)
	}
}

// addMetricsLocked adds new buffers to r.metrics, kept in name order.
// mu is held.
func (r *Record) addMetricsLocked(added []*buffer) {
	r.metrics = append(r.metrics, added...)
	slices.SortFunc(r.metrics, func(a, b *buffer) int { return strings.Compare(a.name, b.name) })
	for i, b := range r.metrics {
		b.idx = i
	}
}

func validMetric(name string) error {
	if err := validKey(name, ""); err != nil {
		return &InvalidError{What: "metric", Path: name, Reason: err.(*InvalidError).Reason}
	}
	return nil
}

// Flush writes every point logged so far and waits until it is stored,
// but no longer than ctx allows: past the deadline it returns ctx's error
// and the points stay queued (the writer keeps trying; a later Flush or
// Close waits for them again). When the store cannot be reached and the
// points are safe in the spool, it returns a *SpoolError at once, which
// errors.Is ErrUnavailable. It also returns, once, what went wrong since
// the last Flush: an invalid metric name, a Log after Close, a batch the
// store refused for good.
func (r *Record) Flush(ctx context.Context) error {
	if err := r.store.check(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	logErr := r.logErr
	r.logErr = nil
	r.mu.Unlock()
	if r.sealed.Load() {
		return logErr // nothing left to write: Close wrote or spooled it
	}
	seq := r.cut(nil)
	r.kickWriter()
	err := r.waitFor(ctx, seq, "flush")
	r.qmu.Lock()
	bgErr := r.flushErr
	r.flushErr = nil
	r.qmu.Unlock()
	return errors.Join(logErr, bgErr, err)
}

// stopFlusher stops the writer goroutine and waits for it to end, no
// longer than ctx allows.
func (r *Record) stopFlusher(ctx context.Context) {
	r.system.close()
	r.stopOnce.Do(func() {
		close(r.stop)
		r.cancelWrites()
	})
	for _, done := range []chan struct{}{r.done, r.spillDone} {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
}

// fallbackKey is the top-level field under which a backend without
// SeriesStore keeps series inside the document:
// series.<name>.{steps,values,times} arrays. This file is the one place
// that knows the layout.
const fallbackKey = "series"

// fallbackAppend returns the ops that append pts to the fallback layout.
func fallbackAppend(name string, pts []backend.Point) []backend.Op {
	steps := make([]any, len(pts))
	values := make([]any, len(pts))
	times := make([]any, len(pts))
	for i, p := range pts {
		steps[i], values[i], times[i] = p.Step, p.Value, p.Time
	}
	base := []string{fallbackKey, name}
	return []backend.Op{
		{Kind: backend.Append, Path: append(slices.Clip(base), "steps"), Value: steps},
		{Kind: backend.Append, Path: append(slices.Clip(base), "values"), Value: values},
		{Kind: backend.Append, Path: append(slices.Clip(base), "times"), Value: times},
	}
}

// fallbackPoints reads the points that fallbackOps stored in doc.
func fallbackPoints(doc map[string]any, name string) []backend.Point {
	m, _ := backend.Lookup(doc, []string{fallbackKey, name})
	sm, _ := m.(map[string]any)
	steps, _ := sm["steps"].([]any)
	values, _ := sm["values"].([]any)
	times, _ := sm["times"].([]any)
	n := min(len(steps), len(values), len(times))
	pts := make([]backend.Point, n)
	for i := range n {
		t, _ := times[i].(time.Time)
		pts[i] = backend.Point{Step: asInt(steps[i]), Value: asFloat(values[i]), Time: t}
	}
	return pts
}
