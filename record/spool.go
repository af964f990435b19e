package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
)

// The spool: batches that the store could not take yet (it was
// unreachable, or the queue in memory was over its bound, or the store is
// offline) wait in an append-only journal on disk, one file per writing
// handle, under SpoolDir. An entry is fsynced before it counts as
// spooled; a torn last entry after a crash is cut off. The writer ships
// spooled batches first, in sequence order, and empties the journal once
// everything in it is shipped; what a process left behind, Store.Sync (the
// CLI's `record sync`) ships. Shipping goes through ApplyBatch with the
// batch's original writer and sequence, so that a batch applied before it
// was spooled, or shipped twice by an interrupted sync, is stored once.

// SpoolError reports writes that the store did not take and that are safe
// in the spool on disk, to be shipped by `record sync` (Store.Sync). It
// matches ErrUnavailable with errors.Is, and the cause (a context error,
// the store's error) too.
type SpoolError struct {
	Op         string
	Collection string
	ID         string
	// Path is the journal file that holds the writes.
	Path string
	// Points is the number of metric points in it; the record's seal and
	// other writes may be there too.
	Points int
	// Err is why the store did not take them.
	Err error
}

// Error says what the store did not take, why, and where it waits.
func (e *SpoolError) Error() string {
	return fmt.Sprintf("record: %s %s/%s: the store did not take the writes (%v); %d points and the rest of the run are safe in the spool at %s: run `record sync` to ship them",
		e.Op, e.Collection, e.ID, e.Err, e.Points, e.Path)
}

// Unwrap returns ErrUnavailable and the cause.
func (e *SpoolError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// errOffline is the cause of every store call of an offline Store.
var errOffline = fmt.Errorf("the store is offline (x-offline): writes go to the spool, `record sync` ships them: %w", ErrUnavailable)

// spillIfNeeded moves the queue to the spool, one entry per batch, when
// the store failed or is offline (spillIfOver keeps the memory bound).
func (r *Record) spillIfNeeded(failed bool) {
	if r.store.spoolRoot == "" {
		return
	}
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if r.abandoned || !(failed || r.store.offline) {
		return
	}
	r.spillLocked()
}

// spillLoop is the spiller goroutine: woken by Log when the points not
// yet cut are over the memory bound, which happens when the writer is
// busy with a write that takes long (a slow or hung store, a large
// batch), it spills them (spillIfOver) without waiting for the writer.
// Log wakes it once before, at a sixteenth of the bound, to make the
// journal. Without a spool it ends at once (and Log, finding it woken, never
// wakes it again); after a spill that failed (a full disk) it waits a
// little before Log may wake it again.
func (r *Record) spillLoop() {
	defer close(r.spillDone)
	if r.store.spoolRoot == "" {
		return
	}
	for {
		select {
		case <-r.stop:
			return
		case <-r.spill:
		}
		if !r.spillIfOver() {
			select {
			case <-r.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		r.mu.Lock()
		r.spilling = false
		r.mu.Unlock()
	}
}

// spillIfOver moves points to the spool while the points in memory,
// logged or queued, are over half the memory bound (overBound), so that a
// loop that logs faster than the store takes points fills the spool, not
// the heap. Each round cuts the chunks filled to the batch size and
// spills the oldest batches until the points in memory are down to a
// quarter of the bound, in one write per MiB and no fsync
// (spool.Journal.Write), so that the spill keeps pace with Log, which an
// fsync per round does not on a fast loop (10 metrics log 20M points a
// second): these points were no safer in memory, and whatever says the
// spool holds them (a *SpoolError, Close leaving the journal for Sync)
// fsyncs it first. On an offline store, where a Flush returns once its
// points are spooled, every round is fsynced. The batches left in memory
// come after the spool. The writer calls it between two batches, the
// spiller while the writer is busy; one spills at a time (smu), and a
// batch being sent may be spilled too: the writer sends it again from
// the spool and the store recognises it. It reports false when the spool
// refused points (the error waits for the next Flush or Close) or the
// handle was abandoned.
func (r *Record) spillIfOver() bool {
	if r.store.spoolRoot == "" || !r.smu.TryLock() {
		return true
	}
	defer r.smu.Unlock()
	if r.memPoints() > r.boundPoints/16 {
		// Make the journal before it is needed: the first spill then
		// does not wait for its files and directories to be made.
		r.qmu.Lock()
		if !r.abandoned {
			r.openSpoolLocked()
		}
		r.qmu.Unlock()
	}
	for r.overBound() {
		r.cutSome(true, nil)
		r.qmu.Lock()
		empty := r.queued == 0
		r.qmu.Unlock()
		if empty {
			// Every point waits in a chunk not filled to the batch size
			// (a batch size near the bound): cut those too.
			r.cut(nil)
		}
		keep := r.boundPoints / 4
		pending := r.pendingPoints()
		r.qmu.Lock()
		n := 0 // batches to spill, oldest first
		for over := pending + r.queued - keep; n < len(r.queue) && over > 0; n++ {
			over -= len(r.queue[n].pts)
		}
		ok := !r.abandoned && n > 0 && r.spillSomeLocked(n, r.store.offline, true)
		r.qmu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// pendingPoints is the number of points logged and not yet cut.
func (r *Record) pendingPoints() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.npending
}

// memPoints is the number of points in memory, logged or queued.
func (r *Record) memPoints() int {
	n := r.pendingPoints()
	r.qmu.Lock()
	defer r.qmu.Unlock()
	return n + r.queued
}

// overBound reports whether the points in memory, logged or queued, are
// over half the memory bound. Spilling from half the bound leaves room
// for what the loop logs during a spill, and for the chunks kept for
// reuse (freeCap), so that the heap stays within the bound.
func (r *Record) overBound() bool { return r.memPoints() > r.boundPoints/2 }

// spillLocked appends the queue, oldest first, to the spool, one entry
// per batch. qmu is held. A batch that cannot be spooled (disk full)
// stays in memory, and the error is reported by the next Flush or Close.
// It is safe while the writer sends the first batch (it sends it again
// from the spool, and the store recognises it).
func (r *Record) spillLocked() { r.spillSomeLocked(len(r.queue), true, false) }

// spillSomeLocked is spillLocked for the first n batches of the queue,
// all written or none of them (it then reports false, and the error
// waits for the next Flush or Close); with durable, fsynced with
// everything written before. With merge, consecutive batches of one
// metric that were never sent share an entry of up to mergeSpill points,
// numbered with the last batch's sequence, so that the writer ships the
// spool in few large writes; a batch that was sent once is spooled
// alone, so that one the store applied is recognised and not stored
// twice. qmu is held.
func (r *Record) spillSomeLocked(n int, durable, merge bool) bool {
	defer r.wakeLocked()
	n = min(n, len(r.queue))
	// The entries, each the batches it holds. Heartbeats are never
	// spooled. The queue's array is left as it is: the writer may hold
	// batches of it (head).
	var entries [][]*item
	for _, it := range r.queue[:n] {
		if it.heartbeat {
			continue
		}
		if k := len(entries) - 1; merge && k >= 0 && mergeable(entries[k], it, max(mergeSpill, r.cfg.batchSize)) {
			entries[k] = append(entries[k], it)
			continue
		}
		entries = append(entries, []*item{it})
	}
	if len(entries) == 0 {
		r.queue = r.queue[n:]
		if durable {
			return r.syncSpoolLocked()
		}
		return true
	}
	if !r.openSpoolLocked() {
		return false
	}
	write := r.spool.Write
	if durable {
		write = r.spool.AppendBatch
	}
	var raw [][]point
	_, err := write(len(entries), func(i int) spool.Entry {
		its := entries[i]
		it := its[len(its)-1]
		e := spool.Entry{Seq: it.seq, Create: it.create, Metric: it.metric, Points: it.bpts, Ops: it.ops}
		if e.Points == nil && len(it.pts) > 0 {
			raw = raw[:0]
			for _, it := range its {
				raw = append(raw, it.pts) // written as they are
			}
			e.Raw = raw
		}
		return e
	})
	if err != nil {
		r.spoolFailed(err)
		return false
	}
	for _, its := range entries {
		r.spooled++
		r.spooledTo = its[len(its)-1].seq
		for _, it := range its {
			if it.bpts != nil {
				r.spooledPts += len(it.bpts)
			} else {
				r.spooledPts += len(it.pts)
			}
			r.queued -= len(it.pts)
			r.recycle(it.pts)
			it.pts = nil
		}
	}
	r.queue = r.queue[n:]
	return true
}

// mergeSpill is how many points a spool entry holds at most when
// spillSomeLocked merges batches.
const mergeSpill = 1 << 13

// mergeable reports whether the batch it may join the entry of the
// batches its, whose points are at most limit.
func mergeable(its []*item, it *item, limit int) bool {
	if !rawBatch(it) || !rawBatch(its[0]) || its[0].metric != it.metric {
		return false
	}
	n := len(it.pts)
	for _, b := range its {
		n += len(b.pts)
	}
	return n <= limit
}

// rawBatch reports whether a queued batch holds only points, in memory's
// form, and was never sent.
func rawBatch(it *item) bool {
	return !it.sent && it.bpts == nil && len(it.pts) > 0 && it.ops == nil && it.create == nil && !it.heartbeat
}

// openSpoolLocked makes the journal of this handle unless it exists; it
// reports false, the error waiting for the next Flush or Close, when it
// cannot. qmu is held.
func (r *Record) openSpoolLocked() bool {
	if r.spool != nil {
		return true
	}
	j, err := spool.Create(r.store.spoolRoot, spool.Header{
		Store: r.store.dsn, Collection: r.coll, ID: r.id, Writer: r.writer,
		Created: time.Now().UTC(),
	})
	if err != nil {
		r.spoolFailed(err)
		return false
	}
	r.spool, r.spoolOff = j, j.Start()
	return true
}

// syncSpoolLocked makes durable what spillIfOver wrote to the spool; it
// reports false, the error waiting for the next Flush or Close, when the
// fsync fails. qmu is held.
func (r *Record) syncSpoolLocked() bool {
	if r.spool == nil {
		return true
	}
	if err := r.spool.Sync(); err != nil {
		r.spoolFailed(err)
		return false
	}
	return true
}

func (r *Record) spoolFailed(err error) {
	if r.flushErr == nil {
		r.flushErr = &Error{Op: "spool", Collection: r.coll, ID: r.id, err: err}
	}
}

// spoolHeadLocked reads the oldest spooled batch. qmu is held.
func (r *Record) spoolHeadLocked() (*item, int64, error) {
	e, next, err := r.spool.Read(r.spoolOff)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%d spooled batches missing at offset %d of %s", r.spooled, r.spoolOff, r.spool.Path())
		}
		return nil, 0, &Error{Op: "read spool", Collection: r.coll, ID: r.id, err: err}
	}
	return &item{seq: e.Seq, metric: e.Metric, bpts: e.Points, ops: e.Ops, create: e.Create, sent: true}, next, nil
}

// spoolPopLocked drops a shipped spooled batch; an empty spool is reset.
// qmu is held.
func (r *Record) spoolPopLocked(it *item, next int64) {
	r.spoolOff = next
	r.spooled--
	r.spooledPts -= len(it.bpts)
	if r.spooled == 0 {
		if err := r.spool.Reset(); err != nil {
			r.spoolFailed(err)
		}
		r.spoolOff = r.spool.Start()
	}
}

// spoolError is the *SpoolError for what the spool holds now.
func (r *Record) spoolError(op string, cause error) error {
	var se *SpoolError
	if errors.As(cause, &se) {
		return cause
	}
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if r.spool != nil {
		if err := r.spool.Sync(); err != nil {
			// Not safe on disk after all: say why, not where.
			return &Error{Op: op, Collection: r.coll, ID: r.id, err: errors.Join(cause, err)}
		}
	}
	e := &SpoolError{Op: op, Collection: r.coll, ID: r.id, Points: r.spooledPts, Err: cause}
	if r.spool != nil {
		e.Path = r.spool.Path()
	}
	return e
}

// abandon gives up on the store for this handle: everything not shipped
// goes to the spool and the writer ships nothing more. It reports false,
// changing nothing, when the store has no spool or the spool refused.
func (r *Record) abandon() bool {
	if r.store.spoolRoot == "" {
		return false
	}
	r.qmu.Lock()
	defer r.qmu.Unlock()
	r.spillLocked()
	if len(r.queue) > 0 {
		return false
	}
	r.abandoned = true
	r.cancelWrites()
	return true // the caller then releases the journal with closeSpool
}

// closeSpool releases the journal of a handle that is done: removed when
// empty, else left for Sync.
func (r *Record) closeSpool() {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if r.spool == nil {
		return
	}
	if r.spooled == 0 {
		_ = r.spool.Remove()
	} else {
		_ = r.spool.Sync() // left for Sync: make it durable (abandon did, unless it failed)
		_ = r.spool.Close()
	}
	r.spool = nil
}

// startOffline makes the handle of a record created on an offline store:
// its document is the first entry of the spool.
func (s *Store) startOffline(coll string, cfg createConfig, doc map[string]any) (*Record, error) {
	r := s.start(coll, cfg, doc)
	r.qmu.Lock()
	r.queue = append(r.queue, &item{seq: 0, create: doc})
	r.spillLocked()
	err := r.flushErr
	r.flushErr = nil
	r.qmu.Unlock()
	if err != nil {
		r.stopFlusher(context.Background())
		r.closeSpool()
		s.untrack(r)
		return nil, err
	}
	return r, nil
}

// SyncReport says what Store.Sync shipped.
type SyncReport struct {
	// Journals is the number of journals of this store shipped in full
	// and removed.
	Journals int
	// Batches and Points count what was sent (a batch the store had
	// already applied counts too, and is stored once).
	Batches int
	Points  int
	// Busy are journals that a live process still writes; Other are
	// journals of other stores (by their redacted DSN), left alone.
	Busy  []string
	Other []string
}

// Sync ships every spooled write of this store left under the spool
// directory by any process on this machine (runs whose store was
// unreachable at Close, or offline runs), exactly once, in order, then
// removes the journals it shipped. It is safe to run twice, or after it
// was interrupted: a batch already stored is recognised and not stored
// again. Journals still held by a live process are skipped (Busy); those
// of other stores are left (Other). A store is recognised by its DSN with
// secrets redacted, the only form the spool keeps.
func (s *Store) Sync(ctx context.Context) (SyncReport, error) {
	if err := s.check(ctx); err != nil {
		return SyncReport{}, err
	}
	return s.sync(ctx, nil)
}

// sync ships the journals of this store that only accepts (all when nil).
func (s *Store) sync(ctx context.Context, only func(spool.Header) bool) (SyncReport, error) {
	var rep SyncReport
	if s.offline {
		return rep, &Error{Op: "sync", err: errOffline}
	}
	root := s.spoolRoot
	if root == "" {
		var err error
		if root, err = spool.Root(); err != nil {
			return rep, &Error{Op: "sync", err: err}
		}
	}
	infos, err := spool.Scan(root)
	var errs []error
	if err != nil {
		errs = append(errs, &Error{Op: "sync", err: err})
	}
	for _, in := range infos {
		if in.Header.Store != s.dsn || (only != nil && !only(in.Header)) {
			rep.Other = append(rep.Other, in.Path)
			continue
		}
		if err := s.syncJournal(ctx, in.Path, &rep); err != nil {
			if errors.Is(err, spool.ErrBusy) {
				rep.Busy = append(rep.Busy, in.Path)
				continue
			}
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return rep, errors.Join(errs...)
}

// syncJournal ships one journal and removes it.
func (s *Store) syncJournal(ctx context.Context, path string, rep *SyncReport) error {
	j, err := spool.Open(path)
	if err != nil {
		return err
	}
	h := j.Header()
	r := &Record{store: s, coll: h.Collection, id: h.ID, writer: h.Writer, cfg: newConfig(nil)}
	for off := j.Start(); ; {
		e, next, err := j.Read(off)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = j.Close()
			return &Error{Op: "sync", Collection: h.Collection, ID: h.ID, err: err}
		}
		it := &item{seq: e.Seq, metric: e.Metric, bpts: e.Points, ops: e.Ops, create: e.Create}
		if err := r.apply(ctx, it); err != nil {
			_ = j.Close()
			return err
		}
		rep.Batches++
		rep.Points += len(e.Points)
		off = next
	}
	rep.Journals++
	return j.Remove()
}

// takeOptions removes the x- query parameters named in keys from dsn,
// leaving the others for the adapter, and returns their values.
func takeOptions(dsn string, keys ...string) (string, map[string]string) {
	vals := map[string]string{}
	q := strings.IndexByte(dsn, '?')
	if q < 0 {
		return dsn, vals
	}
	base, query, frag := dsn[:q], dsn[q+1:], ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	var keep []string
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		found := false
		for _, want := range keys {
			if strings.EqualFold(k, want) {
				vals[want], found = v, true
			}
		}
		if !found && kv != "" {
			keep = append(keep, kv)
		}
	}
	if len(keep) > 0 {
		base += "?" + strings.Join(keep, "&")
	}
	return base + frag, vals
}

// offlineBackend is the backend of an offline Store: every call says the
// store is offline.
type offlineBackend struct{}

func (offlineBackend) Insert(context.Context, string, string, map[string]any) error {
	return errOffline
}
func (offlineBackend) Merge(context.Context, string, string, []backend.Op) error { return errOffline }
func (offlineBackend) Get(context.Context, string, string) (map[string]any, error) {
	return nil, errOffline
}
func (offlineBackend) Drop(context.Context, string) error { return errOffline }
func (offlineBackend) Close() error                       { return nil }
