package record

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/recordlab/go-record/backend"
)

// The write path of a Record.
//
// Log appends points to pending (under mu). A cut moves everything
// pending into the queue as batches of at most the batch size, one metric
// each, numbered by the handle's batch sequence (under qmu). The writer
// goroutine ships batches strictly in sequence order: first those spilled
// to the spool, then those still in memory. Each batch is applied with
// Backend.ApplyBatch (see backend.BatchStore): the points, the metric's
// summary folded from what is stored, the writer's mark
// batches.<writer> = seq, the count batches.n and the heartbeat, in one
// atomic step that a retry of an already applied batch leaves alone. With
// a backend.MultiBatchStore, the point batches at the head of the queue
// (every metric of a cut) go as one backend.MultiBatch: one transaction
// and one write of the document for all of them, the mark set to the last
// one's sequence (see headGroupLocked for how a retry keeps groups). So a
// batch whose acknowledgement was lost (a timeout on a hung server, a
// reset connection) is sent again without being stored twice, and every
// writer of one record folds into one summary.
//
// When a write fails for a reason that may pass (the store is
// unreachable, frozen or full), the queue is spilled to the spool on disk
// and the writer retries with exponential backoff. When the queue holds
// more than the memory bound, it is spilled too. Flush and Close wait for
// the batches they cut, but never past their context's deadline; Close
// past its deadline, or with the store unreachable, leaves what is left in
// the spool (record sync ships it) and says where.

// Reserved document fields of the write path.
const (
	// batchesKey holds batches.<writer> = last applied batch of that
	// writer, and batches.n = batches applied in all.
	batchesKey = "batches"
	// heartbeatKey is the time the record was last written by a live
	// handle; aliveKey the time after which, still running, it reads as
	// crashed.
	heartbeatKey = "heartbeat"
	aliveKey     = "alive_until"
)

// DefaultHeartbeat is the interval at which a running record's heartbeat
// is refreshed when WithHeartbeat does not say otherwise. A running record
// whose heartbeat is older than 3 intervals reads as crashed.
const DefaultHeartbeat = 30 * time.Second

// missedHeartbeats is how many intervals without a heartbeat make a
// running record crashed.
const missedHeartbeats = 3

// alive returns the ops of every write of a live handle: the count of
// applied batches (n, the compare-and-swap guard) and the heartbeat.
func (c createConfig) alive(n int64) []backend.Op {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return []backend.Op{
		{Kind: backend.Set, Path: []string{batchesKey, "n"}, Value: n},
		{Kind: backend.Set, Path: []string{heartbeatKey}, Value: now},
		{Kind: backend.Set, Path: []string{aliveKey}, Value: now.Add(missedHeartbeats * c.heartbeat)},
	}
}

// item is one batch in the queue: points of one metric, or document ops
// (the seal, or an idle heartbeat with neither).
type item struct {
	seq    int64
	metric string
	// pts are the points of a batch cut from memory, bpts those of a
	// batch read from the spool, or of pts once the batch is sent (head
	// makes them).
	pts  []point
	bpts []backend.Point
	// sent marks a batch that was given to the store at least once: it
	// may be applied, so it is never merged with others in the spool.
	sent bool
	// group is the seq of the last batch of the group this batch was
	// first sent in (see headGroupLocked); 0 when it was sent alone, or
	// never.
	group int64
	ops   []backend.Op
	// create is the whole document of a record created offline (seq 0).
	create map[string]any
	// heartbeat marks an idle heartbeat: it is never retried or spooled.
	heartbeat bool
}

// newWriterID returns a random id for one writing handle.
func newWriterID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cut moves every pending point into the queue as batches and returns
// the sequence of the last batch queued so far (heartbeats aside). Cuts
// are serialised by cmu, so batches keep the order of Log; Log itself
// waits only for the swap of the pending map, never for the queue's lock,
// which a spill to disk may hold. then, when not nil, runs under mu right
// after the swap (Close sets closing there, so no point slips in after
// its cut).
func (r *Record) cut(then func()) int64 { return r.cutSome(false, then) }

// cutSome is cut; with onlyFull, it leaves the chunks not yet filled to
// the batch size in pending, so that every batch it queues has the batch
// size.
func (r *Record) cutSome(onlyFull bool, then func()) int64 {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	r.mu.Lock()
	var taken []*buffer // copies of the buffers with points, in name order
	if r.npending > 0 {
		for _, b := range r.metrics {
			if len(b.cur) > 0 && (!onlyFull || len(b.cur) >= r.cfg.batchSize) {
				b.full = append(b.full, b.cur)
				b.cur = nil
			}
			if len(b.full) > 0 {
				taken = append(taken, &buffer{name: b.name, full: b.full})
				for _, c := range b.full {
					r.npending -= len(c)
				}
				b.full = nil
			}
		}
	}
	if !onlyFull {
		r.npending = 0
		r.kicked = false
	}
	if then != nil {
		then()
	}
	r.mu.Unlock()
	r.qmu.Lock()
	defer r.qmu.Unlock()
	for _, b := range taken {
		for _, pts := range b.full {
			r.nextSeq++
			r.lastQueued = r.nextSeq
			r.queue = append(r.queue, &item{seq: r.nextSeq, metric: b.name, pts: pts})
			r.queued += len(pts)
		}
	}
	return r.lastQueued
}

// enqueueLocked queues a batch of ops after everything cut so far and
// returns its sequence. qmu is held.
func (r *Record) enqueueLocked(ops []backend.Op) int64 {
	r.nextSeq++
	r.lastQueued = r.nextSeq
	r.queue = append(r.queue, &item{seq: r.nextSeq, ops: ops})
	return r.nextSeq
}

// run is the writer goroutine: it ships batches every flush interval, or
// sooner when kicked, refreshes the heartbeat when idle, and backs off
// while the store fails.
func (r *Record) run() {
	defer close(r.done)
	// Tick often enough for both the flush interval and the heartbeat.
	t := time.NewTicker(min(r.cfg.flushInterval, r.cfg.heartbeat/2))
	defer t.Stop()
	var failures int
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
		}
		r.cut(nil)
		r.rebaseClock()
		r.spillIfNeeded(failures > 0)
		if r.store.offline {
			continue
		}
		err := r.ship()
		if err == nil {
			failures = 0
			r.setOutage(nil)
			r.heartbeatIfIdle()
			continue
		}
		failures++
		r.setOutage(err)
		r.spillIfNeeded(true)
		// Back off: 100 ms doubling to 5 s, with jitter, so a store that
		// is down sees a few attempts a second at most.
		d := min(100*time.Millisecond<<min(failures-1, 6), 5*time.Second)
		d = d/2 + rand.N(d/2+1)
		// A Flush or Close that waits cuts the wait short, but never
		// below 200 ms between attempts.
		first := min(d, 200*time.Millisecond)
		select {
		case <-r.stop:
			return
		case <-time.After(first):
		}
		select {
		case <-r.stop:
			return
		case <-time.After(d - first):
		case <-r.kick:
		}
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// setOutage remembers whether the last attempt failed for a reason that
// may pass, and wakes the waiters so that they can decide.
func (r *Record) setOutage(err error) {
	r.qmu.Lock()
	r.outage = err
	if err != nil {
		r.failures++
	}
	r.wakeLocked()
	r.qmu.Unlock()
}

// wakeLocked wakes everyone waiting for progress. qmu is held.
func (r *Record) wakeLocked() {
	close(r.progress)
	r.progress = make(chan struct{})
}

// ship applies queued batches in order until none is left or one fails
// for a reason that may pass, which it returns.
func (r *Record) ship() error {
	for {
		r.spillIfOver()
		its, src, err := r.head()
		if err != nil || len(its) == 0 {
			return err
		}
		ctx, cancel := context.WithTimeout(r.wctx, r.cfg.writeTimeout)
		if len(its) == 1 {
			err = r.apply(ctx, its[0])
		} else {
			err = r.applyGroup(ctx, its)
		}
		cancel()
		if err != nil && transient(err) {
			return err
		}
		r.pop(its, src, err)
	}
}

// transient reports whether a failed write may succeed later: anything
// but a refusal that no retry changes.
func transient(err error) bool {
	for _, perm := range []error{ErrInvalid, ErrTooLarge, ErrNotFound, ErrSealed, ErrExists, ErrClosed} {
		if errors.Is(err, perm) {
			return false
		}
	}
	return true
}

// heartbeatIfIdle refreshes the heartbeat when nothing was written for
// half an interval, so that a live record stays well inside its 3
// intervals even on a slow store. A heartbeat that fails is not retried: the next one will do.
func (r *Record) heartbeatIfIdle() {
	if time.Since(r.lastWrite) < r.cfg.heartbeat/2 {
		return
	}
	r.qmu.Lock()
	if len(r.queue) > 0 || r.spooled > 0 || r.abandoned {
		r.qmu.Unlock()
		return
	}
	r.nextSeq++
	it := &item{seq: r.nextSeq, heartbeat: true}
	r.qmu.Unlock()
	ctx, cancel := context.WithTimeout(r.wctx, r.cfg.writeTimeout)
	defer cancel()
	if err := r.apply(ctx, it); err == nil {
		r.lastWrite = time.Now()
	}
}

// apply writes one batch.
func (r *Record) apply(ctx context.Context, it *item) error {
	if it.create != nil {
		err := r.store.do(ctx, "insert", r.coll, r.id, func() error {
			return r.store.b.Insert(ctx, r.coll, r.id, it.create)
		})
		if errors.Is(err, ErrExists) {
			err = nil // shipped before
		}
		return err
	}
	b := backend.Batch{
		Writer: r.writer,
		Seq:    it.seq,
		Metric: it.metric,
		Points: it.bpts,
		Reads:  [][]string{{batchesKey}, {"status"}},
		Guard:  []string{batchesKey, "n"},
		Update: r.updater(it),
	}
	if it.metric != "" {
		b.Reads = append(b.Reads, []string{"metrics", it.metric})
	}
	op := "append series " + it.metric + " of"
	if it.metric == "" {
		op = "write"
	}
	err := r.store.do(ctx, op, r.coll, r.id, func() error { return r.store.applyBatch(ctx, r.coll, r.id, b) })
	if err == nil {
		r.lastWrite = time.Now()
	}
	return err
}

// applyGroup writes several point batches, consecutive in sequence, as
// one backend.MultiBatch.
func (r *Record) applyGroup(ctx context.Context, its []*item) error {
	b := backend.MultiBatch{
		Writer: r.writer,
		Parts:  make([]backend.Part, len(its)),
		Reads:  [][]string{{batchesKey}, {"status"}},
		Guard:  []string{batchesKey, "n"},
		Update: r.groupUpdater(its),
	}
	seen := make(map[string]bool, len(its))
	for i, it := range its {
		b.Parts[i] = backend.Part{Seq: it.seq, Metric: it.metric, Points: it.bpts}
		if !seen[it.metric] {
			seen[it.metric] = true
			b.Reads = append(b.Reads, []string{"metrics", it.metric})
		}
	}
	op := "append series " + strconv.Quote(its[0].metric) + " and " + strconv.Itoa(len(its)-1) + " more batches of"
	err := r.store.do(ctx, op, r.coll, r.id, func() error {
		return r.store.b.(backend.MultiBatchStore).ApplyBatches(ctx, r.coll, r.id, b)
	})
	if err == nil {
		r.lastWrite = time.Now()
	}
	return err
}

// errGroupOverlap is the refusal of a group of batches of which the
// store holds some but not all: a group is applied whole, so this cannot
// happen unless the writer regrouped batches after an unknown outcome.
var errGroupOverlap = errors.New("the store holds some batches of this group but not all (the writer regrouped batches after an unknown outcome)")

// groupUpdater returns the Update of a group of batches: nothing if the
// writer's mark says all were applied, an error if it says some were,
// ErrSealed if the record is no longer running, else each metric's
// summary with its points folded in, the mark of the last batch, the
// count of batches and the heartbeat.
func (r *Record) groupUpdater(its []*item) func(doc map[string]any) ([]backend.Op, bool, error) {
	first, last := its[0].seq, its[len(its)-1].seq
	return func(doc map[string]any) ([]backend.Op, bool, error) {
		marks, _ := doc[batchesKey].(map[string]any)
		switch mark := asInt(marks[r.writer]); {
		case mark >= last:
			return nil, false, nil
		case mark >= first:
			return nil, false, &Error{Op: "write", Collection: r.coll, ID: r.id,
				err: fmt.Errorf("batches %d to %d, mark %d: %w: %w", first, last, mark, ErrInvalid, errGroupOverlap)}
		}
		if st, _ := doc["status"].(string); st != StatusRunning && st != "" {
			return nil, false, &Error{Op: "write", Collection: r.coll, ID: r.id, err: ErrSealed}
		}
		sums := make(map[string]*summary, len(its))
		var order []string
		for _, it := range its {
			s := sums[it.metric]
			if s == nil {
				old, _ := backend.Lookup(doc, []string{"metrics", it.metric})
				m, _ := old.(map[string]any)
				s = summaryFromDoc(m)
				sums[it.metric] = s
				order = append(order, it.metric)
			}
			s.add(it.bpts)
		}
		ops := make([]backend.Op, 0, len(order)+4)
		for _, name := range order {
			ops = append(ops, sums[name].op(name))
		}
		ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{batchesKey, r.writer}, Value: last})
		return append(ops, r.cfg.alive(asInt(marks["n"])+int64(len(its)))...), true, nil
	}
}

// updater returns the Update of a batch: nothing if the writer's mark says
// it was applied, ErrSealed if the record is no longer running, else the
// metric's summary with the points folded in, the batch's own ops, the
// mark, the count of batches and the heartbeat.
func (r *Record) updater(it *item) func(doc map[string]any) ([]backend.Op, bool, error) {
	return func(doc map[string]any) ([]backend.Op, bool, error) {
		marks, _ := doc[batchesKey].(map[string]any)
		if asInt(marks[r.writer]) >= it.seq {
			return nil, false, nil
		}
		if st, _ := doc["status"].(string); st != StatusRunning && st != "" {
			return nil, false, &Error{Op: "write", Collection: r.coll, ID: r.id, err: ErrSealed}
		}
		ops := make([]backend.Op, 0, len(it.ops)+5)
		if it.metric != "" && len(it.bpts) > 0 {
			old, _ := backend.Lookup(doc, []string{"metrics", it.metric})
			m, _ := old.(map[string]any)
			s := summaryFromDoc(m)
			s.add(it.bpts)
			ops = append(ops, s.op(it.metric))
		}
		ops = append(ops, it.ops...)
		ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{batchesKey, r.writer}, Value: it.seq})
		return append(ops, r.cfg.alive(asInt(marks["n"])+1)...), true, nil
	}
}

// applyBatch applies b with the backend's BatchStore, or, for a backend
// without one, with Get and Merge (and AppendSeries): exactly once for one
// writer, but not atomic against concurrent writers of one record.
func (s *Store) applyBatch(ctx context.Context, coll, id string, b backend.Batch) error {
	if bs, ok := s.b.(backend.BatchStore); ok {
		return bs.ApplyBatch(ctx, coll, id, b)
	}
	doc, err := s.b.Get(ctx, coll, id)
	if err != nil {
		return err
	}
	ops, apply, err := b.Update(doc)
	if err != nil || !apply {
		return err
	}
	if len(b.Points) == 0 {
		return s.b.Merge(ctx, coll, id, ops)
	}
	if ss, ok := s.b.(backend.SeriesStore); ok {
		if err := ss.AppendSeries(ctx, coll, id, b.Metric, b.Points); err != nil {
			return err
		}
		return s.b.Merge(ctx, coll, id, ops)
	}
	return s.b.Merge(ctx, coll, id, append(fallbackAppend(b.Metric, b.Points), ops...))
}

// head returns the next batches to ship: the oldest spooled one, else
// the oldest in memory, together with the batches after it that share
// its atomic write (see headGroupLocked); none when there is none or the
// handle was abandoned.
func (r *Record) head() ([]*item, int64, error) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if r.abandoned {
		return nil, 0, nil
	}
	if r.spooled > 0 {
		it, src, err := r.spoolHeadLocked()
		if it == nil {
			return nil, src, err
		}
		return []*item{it}, src, err
	}
	if len(r.queue) == 0 {
		return nil, 0, nil
	}
	its := r.headGroupLocked()
	for _, it := range its {
		if it.bpts == nil && len(it.pts) > 0 {
			it.bpts = appendBackend(make([]backend.Point, 0, len(it.pts)), it.pts)
		}
		it.sent = true
	}
	return its, -1, nil
}

// Bounds of one group of batches written as one (backend.MultiBatch).
const (
	maxGroupParts  = 256
	maxGroupPoints = 1 << 16
)

// headGroupLocked returns the batches at the head of the queue that go
// to the store as one atomic write: with a backend.MultiBatchStore, the
// consecutive point batches that were never sent (those of one cut and
// any after it), or the rest of a group sent before whose outcome is
// unknown, so that a retry resends the same group (or, after a spill took
// its first batches to the spool, what is left of it). A group is applied
// whole or not at all, so the writer's mark is below its first batch or
// at least its last: resending any part of it, together or one by one,
// is recognised. A batch sent alone stays alone. qmu is held.
func (r *Record) headGroupLocked() []*item {
	first := r.queue[0]
	if _, ok := r.store.b.(backend.MultiBatchStore); !ok || !groupable(first) || (first.sent && first.group == 0) {
		return r.queue[:1:1]
	}
	n, pts := 1, len(first.pts)+len(first.bpts)
	for ; n < len(r.queue) && n < maxGroupParts; n++ {
		it := r.queue[n]
		if !groupable(it) {
			break
		}
		if first.sent {
			if it.group != first.group {
				break
			}
		} else if it.sent || pts+len(it.pts) > max(maxGroupPoints, r.cfg.batchSize) {
			break
		}
		pts += len(it.pts)
	}
	its := r.queue[:n:n]
	if n > 1 && !first.sent {
		for _, it := range its {
			it.group = its[n-1].seq
		}
	}
	return its
}

// groupable reports whether a queued batch may share an atomic write with
// others: the points of one metric, nothing else.
func groupable(it *item) bool {
	return it.metric != "" && len(it.pts)+len(it.bpts) > 0 && it.ops == nil && it.create == nil && !it.heartbeat
}

// pop removes shipped batches (src -1: from memory; else the spool offset
// after the one spooled batch) and records a refusal that no retry
// changes. A batch that a spill moved to the spool meanwhile stays there:
// it is sent again and recognised by the writer's mark.
func (r *Record) pop(its []*item, src int64, failed error) {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if failed != nil && r.flushErr == nil {
		r.flushErr = failed
	}
	for _, it := range its {
		if src >= 0 {
			r.spoolPopLocked(it, src)
		} else if len(r.queue) > 0 && r.queue[0] == it {
			r.queue[0] = nil
			r.queue = r.queue[1:]
			r.queued -= len(it.pts)
			r.recycle(it.pts)
			it.pts = nil
		}
		if it.seq > r.acked {
			r.acked = it.seq
		}
	}
	r.wakeLocked()
}

// waitFor waits until the batch seq is shipped (nil), or ctx is done, or
// a write fails after the wait began for a reason that may pass: then the
// batches are spilled to the spool, if the store has one, and a
// *SpoolError says where; without a spool the error says why, and the
// batches stay queued for the writer to retry.
func (r *Record) waitFor(ctx context.Context, seq int64, op string) error {
	r.qmu.Lock()
	since := r.failures
	r.qmu.Unlock()
	for {
		r.qmu.Lock()
		acked, outage, ch := r.acked, r.outage, r.progress
		if outage != nil && r.failures > since && r.store.spoolRoot != "" && r.spooledTo < seq {
			r.spillLocked()
		}
		spooledTo, failed := r.spooledTo, outage != nil && r.failures > since
		r.qmu.Unlock()
		abandoned := r.abandoned
		switch {
		case acked >= seq:
			return nil
		case abandoned:
			return r.spoolError(op, ErrUnavailable)
		case r.store.offline && spooledTo >= seq:
			return nil
		case failed && spooledTo >= seq:
			return r.spoolError(op, outage)
		case failed:
			// No spool, or it refused (a full disk): the batches stay
			// queued and the writer keeps trying.
			return outage
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return r.store.fail(ctx, op, r.coll, r.id, ctx.Err())
		}
	}
}

// kickWriter wakes the writer goroutine.
func (r *Record) kickWriter() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}
