package record

import (
	"context"
	"errors"
	"math"
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
	if r.sealed.Load() {
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
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func validMetric(name string) error {
	if err := validKey(name, ""); err != nil {
		return &InvalidError{What: "metric", Path: name, Reason: err.(*InvalidError).Reason}
	}
	return nil
}

// Flush writes every point logged so far and waits until it is stored. It
// returns the first error of a background flush since the last Flush, if
// any, so that no failure goes unreported.
func (r *Record) Flush(ctx context.Context) error {
	if err := r.store.check(ctx); err != nil {
		return err
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	err := r.flushLocked(ctx)
	r.mu.Lock()
	logErr := r.logErr
	r.logErr = nil
	r.mu.Unlock()
	bgErr := r.flushErr
	r.flushErr = nil
	return errors.Join(logErr, bgErr, err)
}

// flusher writes buffered points every interval, or sooner when a batch
// is full, until the record is closed.
func (r *Record) flusher() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.flushInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
		}
		r.flushMu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := r.flushLocked(ctx); err != nil && r.flushErr == nil {
			r.flushErr = err
		}
		cancel()
		r.flushMu.Unlock()
	}
}

// stopFlusher stops the background flusher and waits for it to end, no
// longer than ctx allows.
func (r *Record) stopFlusher(ctx context.Context) {
	r.system.close()
	r.stopOnce.Do(func() { close(r.stop) })
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

// buffer holds one metric's logged points in chunks of the batch size, so
// Log never copies what it already holds and each chunk is one write.
type buffer struct{ chunks [][]backend.Point }

func (b *buffer) add(p backend.Point, chunkSize int) {
	n := len(b.chunks)
	if n == 0 || len(b.chunks[n-1]) == cap(b.chunks[n-1]) {
		b.chunks = append(b.chunks, make([]backend.Point, 0, chunkSize))
		n++
	}
	b.chunks[n-1] = append(b.chunks[n-1], p)
}

// flushLocked writes the pending points, one chunk per write; flushMu is
// held. Chunks that could not be written go back to the front of the
// buffer, to be retried by the next flush.
func (r *Record) flushLocked(ctx context.Context) error {
	r.mu.Lock()
	pending := r.pending
	r.pending = make(map[string]*buffer, len(pending))
	r.npending = 0
	r.mu.Unlock()
	names := make([]string, 0, len(pending))
	for name := range pending {
		names = append(names, name)
	}
	if len(names) == 0 && len(r.dirty) == 0 {
		return nil
	}
	slices.Sort(names)
	ss, hasSeries := r.store.b.(backend.SeriesStore)
	var failed error
names:
	for _, name := range names {
		buf := pending[name]
		for len(buf.chunks) > 0 {
			pts := buf.chunks[0]
			next := r.summaries[name].add(pts)
			var err error
			if hasSeries {
				err = r.store.do(ctx, "append series "+name+" of", r.coll, r.id, func() error {
					return ss.AppendSeries(ctx, r.coll, r.id, name, pts)
				})
			} else {
				err = r.store.do(ctx, "append series "+name+" of", r.coll, r.id, func() error {
					return r.store.b.Merge(ctx, r.coll, r.id, fallbackOps(name, pts, next))
				})
			}
			if err != nil {
				failed = err
				break names
			}
			buf.chunks = buf.chunks[1:]
			r.summaries[name] = next
			if hasSeries {
				r.dirty[name] = true
			}
		}
		delete(pending, name)
	}
	if len(r.dirty) > 0 {
		ops := make([]backend.Op, 0, len(r.dirty))
		for name := range r.dirty {
			ops = append(ops, r.summaries[name].op(name))
		}
		if err := r.store.do(ctx, "write metric summaries of", r.coll, r.id, func() error {
			return r.store.b.Merge(ctx, r.coll, r.id, ops)
		}); err != nil {
			failed = errors.Join(failed, err)
		} else {
			clear(r.dirty)
		}
	}
	if len(pending) > 0 {
		r.mu.Lock()
		for name, buf := range pending {
			if cur := r.pending[name]; cur != nil {
				buf.chunks = append(buf.chunks, cur.chunks...)
			}
			r.pending[name] = buf
			for _, c := range buf.chunks {
				r.npending += len(c)
			}
		}
		r.mu.Unlock()
	}
	return failed
}

// fallbackKey is the top-level field under which a backend without
// SeriesStore keeps series inside the document:
// series.<name>.{steps,values,times} arrays. This file is the one place
// that knows the layout.
const fallbackKey = "series"

// fallbackOps stores points inside the document when the backend has no
// SeriesStore, with the metric's new summary in the same write.
func fallbackOps(name string, pts []backend.Point, sum *summary) []backend.Op {
	return append(fallbackAppend(name, pts), sum.op(name))
}

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

// summary is the per-metric digest kept at metrics.<name>. The fields a
// query ranks runs by (last, min, max, mean, sum) are finite numbers or
// null, so that plain SQL and Mongo queries, and expression indexes on
// them, work whatever was logged; NaN and infinite points are counted
// (nans, infs, neg_infs), and a non-finite last value is named in
// last_nonfinite ("NaN", "+Inf" or "-Inf"). The points keep every value
// exactly.
type summary struct {
	Count    int64
	Last     float64
	LastStep int64
	LastTime time.Time
	Min, Max float64 // over finite values; NaN when there are none
	MinStep  int64
	MaxStep  int64
	Sum      float64 // over finite values
	Finite   int64
	NaNs     int64
	Infs     int64 // +Inf points
	NegInfs  int64 // -Inf points
}

// add returns a new summary with pts folded in; s may be nil.
func (s *summary) add(pts []backend.Point) *summary {
	n := summary{Min: math.NaN(), Max: math.NaN()}
	if s != nil {
		n = *s
	}
	for _, p := range pts {
		n.Count++
		n.Last, n.LastStep, n.LastTime = p.Value, p.Step, p.Time
		v := p.Value
		switch {
		case math.IsNaN(v):
			n.NaNs++
			continue
		case math.IsInf(v, 1):
			n.Infs++
			continue
		case math.IsInf(v, -1):
			n.NegInfs++
			continue
		}
		if math.IsNaN(n.Min) || v < n.Min {
			n.Min, n.MinStep = v, p.Step
		}
		if math.IsNaN(n.Max) || v > n.Max {
			n.Max, n.MaxStep = v, p.Step
		}
		n.Sum += v
		n.Finite++
	}
	return &n
}

// finiteOrNil is v when it is finite, else nil (JSON null).
func finiteOrNil(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// nonFinite names a value that is not finite, for last_nonfinite.
func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return ""
}

func (s *summary) op(name string) backend.Op {
	doc := map[string]any{
		"count":     s.Count,
		"last":      finiteOrNil(s.Last),
		"last_step": s.LastStep,
		"last_time": s.LastTime,
		"nans":      s.NaNs,
		"infs":      s.Infs,
		"neg_infs":  s.NegInfs,
		"finite":    s.Finite,
	}
	if nf := nonFinite(s.Last); nf != "" {
		doc["last_nonfinite"] = nf
	}
	if s.Finite > 0 {
		doc["min"], doc["min_step"] = s.Min, s.MinStep
		doc["max"], doc["max_step"] = s.Max, s.MaxStep
		// A sum of finite values can still overflow: then it and the mean
		// are null rather than an infinity no query can compare.
		doc["sum"] = finiteOrNil(s.Sum)
		doc["mean"] = finiteOrNil(s.Sum / float64(s.Finite))
	}
	return backend.Op{Kind: backend.Set, Path: []string{"metrics", name}, Value: doc}
}

// summaryFromDoc restores a summary written by op, for Resume.
func summaryFromDoc(m map[string]any) *summary {
	s := &summary{Min: math.NaN(), Max: math.NaN()}
	s.Count = asInt(m["count"])
	s.Last = asFloat(m["last"])
	switch m["last_nonfinite"] {
	case "NaN":
		s.Last = math.NaN()
	case "+Inf":
		s.Last = math.Inf(1)
	case "-Inf":
		s.Last = math.Inf(-1)
	}
	s.LastStep = asInt(m["last_step"])
	s.LastTime, _ = m["last_time"].(time.Time)
	s.NaNs = asInt(m["nans"])
	s.Infs = asInt(m["infs"])
	s.NegInfs = asInt(m["neg_infs"])
	if _, ok := m["min"]; ok {
		s.Min, s.MinStep = asFloat(m["min"]), asInt(m["min_step"])
		s.Max, s.MaxStep = asFloat(m["max"]), asInt(m["max_step"])
	}
	s.Sum = asFloat(m["sum"])
	s.Finite = asInt(m["finite"])
	return s
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
