package record

import (
	"context"
	"errors"
	"slices"
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
func (r *Record) Log(step int64, m Metrics) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	r.mu.Lock()
	if r.sealed.Load() || r.closing {
		if r.logErr == nil {
			r.logErr = &Error{Op: "log", Collection: r.coll, ID: r.id, err: ErrSealed}
		}
		r.mu.Unlock()
		return
	}
	for name, v := range m {
		buf := r.pending[name]
		if buf == nil {
			if err := validMetric(name); err != nil {
				if r.logErr == nil {
					r.logErr = err
				}
				continue
			}
			buf = &buffer{}
			r.pending[name] = buf
		}
		buf.add(backend.Point{Step: step, Value: v, Time: now}, r.cfg.batchSize)
		r.npending++
	}
	full := r.npending >= r.cfg.batchSize
	r.mu.Unlock()
	if full {
		r.kickWriter()
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
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

// buffer holds one metric's logged points in chunks of the batch size, so
// Log never copies what it already holds and each chunk is one batch.
type buffer struct{ chunks [][]backend.Point }

func (b *buffer) add(p backend.Point, chunkSize int) {
	n := len(b.chunks)
	if n == 0 || len(b.chunks[n-1]) == cap(b.chunks[n-1]) {
		b.chunks = append(b.chunks, make([]backend.Point, 0, chunkSize))
		n++
	}
	b.chunks[n-1] = append(b.chunks[n-1], p)
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
