package record

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
)

// Status values of a record's "status" field. A record is running from
// Create until Close; Close makes it completed, failed (runErr not nil) or
// interrupted (runErr is ErrInterrupted, as on SIGINT or SIGTERM with
// WithInterruptHandling). A running record whose handle stopped writing
// its heartbeat for 3 intervals (the process was killed, the machine
// died) reads as crashed wherever it is read (Snapshot.Status, List and
// its conditions on status, the CLI), without anyone writing to it; the
// stored status stays running, and Resume revives it.
const (
	StatusRunning     = "running"
	StatusCompleted   = "completed"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
	StatusCrashed     = "crashed"
)

// Fields that the record manages itself; user writes to them are refused.
var reserved = []string{"_id", "id", "collection", "created", "status", "ended", "duration", "error", "metrics", "series", "updated", batchesKey, heartbeatKey, aliveKey, "parent", "goals"}

// Managed reports whether a top-level field is one the library keeps
// itself (id, collection, created, status, ended, duration, error,
// metrics, series, updated, batches, heartbeat, alive_until, parent,
// goals) rather than
// one the run wrote; writes to such a field are refused.
func Managed(key string) bool { return slices.Contains(reserved, key) }

// Record is a running experiment that a program writes into. Its methods
// are safe for concurrent use. Close it when the run ends.
type Record struct {
	store *Store
	coll  string
	id    string
	cfg   createConfig
	// created is the record's created time, for the duration Close stores.
	created time.Time
	// writer identifies this handle in the batches it writes.
	writer string
	// lastSteps are the greatest stored steps per metric when the handle
	// was made (Resume).
	lastSteps map[string]int64

	sealed atomic.Bool

	cmu      sync.Mutex         // serialises cuts (see cut); taken before mu and qmu
	mu       sync.Mutex         // guards pending to kicked
	pending  map[string]*buffer // metric name -> points not yet cut into batches
	metrics  []*buffer          // the buffers of pending sorted by name, for Log's fast path and cut
	npending int                // points in pending
	logErr   error              // invalid metric names, reported by Flush/Close
	closing  bool               // Close has begun: Log refuses points
	kicked   bool               // Log woke the writer for a full batch since the last cut
	spilling bool               // Log woke the spiller, which has not finished yet
	// spillWoken: Log woke the spiller once; boundPoints is how many
	// points the memory bound holds.
	spillWoken  bool
	boundPoints int
	// clock is Log's wall clock; free holds shipped chunks for Log to
	// reuse.
	clock atomic.Pointer[logClock]
	free  chan []point

	qmu        sync.Mutex // guards what follows, to lastWrite
	queue      []*item    // batches in memory, in sequence order, after the spooled ones
	queued     int        // points in queue
	nextSeq    int64      // sequence of the last batch made
	lastQueued int64      // sequence of the last batch queued (heartbeats aside)
	acked      int64      // every batch up to this one is shipped (or refused for good)
	outage     error      // the last attempt failed for a reason that may pass; nil once one succeeds
	failures   int        // attempts that failed for a reason that may pass
	flushErr   error      // a batch refused for good, reported by the next Flush/Close
	progress   chan struct{}
	abandoned  bool // Close gave up on the store: the writer ships nothing more
	// The spool: the journal (nil until the first spill), the offset of
	// the oldest batch not shipped, how many batches and points it holds
	// and the sequence of the last one.
	spool      *spool.Journal
	spoolOff   int64
	spooled    int
	spooledPts int
	spooledTo  int64

	lastWrite time.Time // writer goroutine only

	system *systemSampler // WithSystemMetrics; nil when off

	wctx         context.Context // writes of the writer goroutine; cancelled when it stops
	cancelWrites context.CancelFunc
	kick         chan struct{}
	stop         chan struct{}
	stopOnce     sync.Once
	done         chan struct{}
	// spill wakes the spiller goroutine (spillLoop), which ends with
	// spillDone closed; smu lets one goroutine at a time spill over the
	// bound.
	spill     chan struct{}
	spillDone chan struct{}
	smu       sync.Mutex
}

// ID returns the record's id.
func (r *Record) ID() string { return r.id }

// Collection returns the record's collection.
func (r *Record) Collection() string { return r.coll }

// Create starts a new record in coll and writes it at once with its id,
// created time, status "running", the seed if given, and the facts of the
// machine and program (host, build, run).
func (s *Store) Create(ctx context.Context, coll string, opts ...CreateOption) (*Record, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := ValidCollection(coll); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	if !cfg.idSet {
		cfg.id = NewID()
	} else if err := ValidID(cfg.id); err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	doc := map[string]any{
		"id":         cfg.id,
		"collection": coll,
		"created":    now,
		"status":     StatusRunning,
		heartbeatKey: now,
		aliveKey:     now.Add(missedHeartbeats * cfg.heartbeat),
	}
	if cfg.parent != "" {
		if err := s.checkParent(ctx, coll, cfg.parent); err != nil {
			return nil, err
		}
		doc["parent"] = cfg.parent
	}
	if len(cfg.goals) > 0 {
		goals := map[string]any{}
		for m, g := range cfg.goals {
			if err := validMetric(m); err != nil {
				return nil, err
			}
			if g != Minimize && g != Maximize {
				return nil, invalid("goal", m, fmt.Sprintf("%q is not %q or %q", g, Minimize, Maximize))
			}
			goals[m] = g
		}
		doc["goals"] = goals
	}
	if cfg.seed != nil {
		doc["seed"] = *cfg.seed
	}
	if cfg.hostFacts {
		f, err := facts(ctx, &cfg)
		if err != nil {
			return nil, err
		}
		for k, v := range f {
			doc[k] = v
		}
	}
	if s.offline {
		return s.startOffline(coll, cfg, doc)
	}
	if err := s.do(ctx, "insert", coll, cfg.id, func() error { return s.b.Insert(ctx, coll, cfg.id, doc) }); err != nil {
		return nil, err
	}
	return s.start(coll, cfg, doc), nil
}

// Resume continues a record that is not sealed (running, or crashed: a
// running record whose heartbeat stopped), for example after the process
// that created it was killed. A sealed record returns ErrSealed.
//
// Resume first ships what earlier handles of the record left in this
// machine's spool (see Sync). It then recomputes each metric's summary from its stored points and
// stores it where it differs (a backend that cannot write points and
// summary in one step may have been interrupted between the two), revives
// the heartbeat, and reports with LastSteps where each metric's stored
// points end, so that the resumed run can continue without writing a step
// twice. It reads every stored point once: a long run costs a few seconds
// per ten million points. It assumes no other handle writes the record
// meanwhile.
func (s *Store) Resume(ctx context.Context, coll, id string, opts ...CreateOption) (*Record, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := validRef(coll, id); err != nil {
		return nil, err
	}
	if s.offline {
		return nil, &Error{Op: "resume", Collection: coll, ID: id, err: errOffline}
	}
	cfg := newConfig(opts)
	cfg.id = id
	if s.spoolRoot != "" {
		// Ship first what an earlier handle of this record left in the
		// spool, so that LastSteps counts it.
		_, err := s.sync(ctx, func(h spool.Header) bool { return h.Collection == coll && h.ID == id })
		if err != nil {
			return nil, err
		}
	}
	// Recount, then store the corrections only if no batch landed in
	// between (the count of batches is unchanged): else recount again.
	for attempt := 1; ; attempt++ {
		var doc map[string]any
		err := s.do(ctx, "resume", coll, id, func() (err error) {
			doc, err = s.b.Get(ctx, coll, id)
			return err
		})
		if err != nil {
			return nil, err
		}
		if st, _ := doc["status"].(string); st != StatusRunning && st != "" {
			return nil, &Error{Op: "resume", Collection: coll, ID: id, err: fmt.Errorf("status is %s: %w", st, ErrSealed)}
		}
		last, fix, err := s.recount(ctx, coll, id, doc)
		if err != nil {
			return nil, err
		}
		marks, _ := doc[batchesKey].(map[string]any)
		n0, had := marks["n"]
		if attempt > 3 {
			fix = nil // writers keep writing: their batches fold correctly; revive only
		}
		b := backend.Batch{
			Writer: newWriterID(),
			Reads:  [][]string{{batchesKey}, {"status"}},
			Guard:  []string{batchesKey, "n"},
			Update: func(cur map[string]any) ([]backend.Op, bool, error) {
				m, _ := cur[batchesKey].(map[string]any)
				n, has := m["n"]
				if has != had || asInt(n) != asInt(n0) {
					if fix != nil {
						return nil, false, errRecount
					}
				}
				if st, _ := cur["status"].(string); st != StatusRunning && st != "" {
					return nil, false, fmt.Errorf("status is %s: %w", st, ErrSealed)
				}
				return append(slices.Clip(fix), cfg.alive(asInt(n)+1)...), true, nil
			},
		}
		err = s.do(ctx, "resume", coll, id, func() error { return s.applyBatch(ctx, coll, id, b) })
		if errors.Is(err, errRecount) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r := s.start(coll, cfg, doc)
		r.lastSteps = last
		return r, nil
	}
}

// checkParent refuses a parent that is not a record of coll.
func (s *Store) checkParent(ctx context.Context, coll, parent string) error {
	if err := ValidID(parent); err != nil {
		return err
	}
	if s.offline {
		return nil // cannot be checked; sync stores it as given
	}
	return s.do(ctx, "check parent", coll, parent, func() error {
		_, err := s.b.Get(ctx, coll, parent)
		return err
	})
}

// errRecount says that batches landed while Resume recounted.
var errRecount = errors.New("batches landed during the recount")

// recount recomputes the summary of every metric of a record from its
// stored points. It returns each metric's greatest stored step and the ops
// that correct the summaries that differ.
func (s *Store) recount(ctx context.Context, coll, id string, doc map[string]any) (map[string]int64, []backend.Op, error) {
	stored, _ := doc["metrics"].(map[string]any)
	names := make([]string, 0, len(stored))
	for name := range stored {
		names = append(names, name)
	}
	if bs, ok := s.b.(backend.BatchStore); ok {
		var more []string
		err := s.do(ctx, "resume", coll, id, func() (err error) {
			more, err = bs.SeriesNames(ctx, coll, id)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		names = append(names, more...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	last := map[string]int64{}
	var ops []backend.Op
	for _, name := range names {
		if validMetric(name) != nil {
			continue
		}
		sum := newSummary()
		for pts, err := range newSnapshot(s, coll, id, doc).Series(ctx, name) {
			if err != nil {
				return nil, nil, err
			}
			sum.add(pts)
		}
		if sum.Count > 0 {
			last[name] = sum.LastStep
		}
		old, _ := stored[name].(map[string]any)
		if old == nil && sum.Count == 0 {
			continue
		}
		if old == nil || !summaryFromDoc(old).equal(sum) {
			ops = append(ops, sum.op(name))
		}
	}
	return last, ops, nil
}

// LastSteps returns, for a record continued with Resume, the greatest
// stored step of each metric that has points: logging from
// LastSteps()[name]+1 on writes no step twice. It is empty for a record
// made by Create.
func (r *Record) LastSteps() map[string]int64 { return maps.Clone(r.lastSteps) }

func (s *Store) start(coll string, cfg createConfig, doc map[string]any) *Record {
	r := &Record{
		store:       s,
		coll:        coll,
		id:          cfg.id,
		cfg:         cfg,
		writer:      newWriterID(),
		pending:     map[string]*buffer{},
		free:        make(chan []point, freeCap(cfg)),
		progress:    make(chan struct{}),
		kick:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		spill:       make(chan struct{}, 1),
		boundPoints: cfg.memoryBound / pointBytes,
		spillDone:   make(chan struct{}),
	}
	r.clock.Store(newLogClock(nil))
	r.wctx, r.cancelWrites = context.WithCancel(context.Background())
	r.lastWrite = time.Now()
	r.created, _ = doc["created"].(time.Time)
	s.track(r)
	go r.run()
	go r.spillLoop()
	if cfg.systemInterval > 0 {
		r.startSystemMetrics(cfg.systemInterval)
	}
	if cfg.interrupts {
		r.closeOnSignal()
	}
	return r
}

// check refuses writes to a sealed record or a closed store.
func (r *Record) check(ctx context.Context) error {
	if r.sealed.Load() {
		return &Error{Op: "write", Collection: r.coll, ID: r.id, err: ErrSealed}
	}
	return r.store.check(ctx)
}

// Set stores value at the dotted path, creating missing parent objects.
// A path through a scalar or an array is ErrInvalid and changes nothing.
func (r *Record) Set(ctx context.Context, path string, value any) error {
	keys, err := r.userPath(path)
	if err != nil {
		return err
	}
	v, err := normalizeAt(value, path)
	if err != nil {
		return err
	}
	return r.merge(ctx, []backend.Op{{Kind: backend.Set, Path: keys, Value: v}})
}

// Append appends values to the array at the dotted path, creating it if
// missing. Appending to something that is not an array is ErrInvalid.
func (r *Record) Append(ctx context.Context, path string, values ...any) error {
	keys, err := r.userPath(path)
	if err != nil {
		return err
	}
	v, err := normalizeAt(values, path)
	if err != nil {
		return err
	}
	return r.merge(ctx, []backend.Op{{Kind: backend.Append, Path: keys, Value: v}})
}

// Unset removes the dotted path. Removing a missing path is not an error.
func (r *Record) Unset(ctx context.Context, path string) error {
	keys, err := r.userPath(path)
	if err != nil {
		return err
	}
	return r.merge(ctx, []backend.Op{{Kind: backend.Unset, Path: keys}})
}

// Update stores each field of v at the top level, like the classic
// update(args). v may be a map, a struct (json tags honoured), a
// *flag.FlagSet (every flag's typed value) or a Source such as INIFile or
// JSONFile. All fields are written in one atomic step. Secrets are
// masked on the way in: flags and struct fields whose names say secret
// (password, token, api-key...), and secret-shaped values (URL passwords,
// tokens) in their strings; the tags record:"secret" and record:"public"
// decide for a struct field (see Normalize). A flag named like a reserved
// field (id, status, ...) is an error naming it: store flags under a key
// with UpdateAt(ctx, "flags", fs).
func (r *Record) Update(ctx context.Context, v any) error {
	return r.update(ctx, nil, v)
}

// UpdateAt stores each field of v under the dotted path: a one-level
// merge, like the classic update(d, key='models'), so UpdateAt(ctx,
// "models", modelA) then UpdateAt(ctx, "models", modelB) keeps both
// models. v is what Update accepts. All fields are written in one atomic
// step.
func (r *Record) UpdateAt(ctx context.Context, path string, v any) error {
	prefix, err := r.userPath(path)
	if err != nil {
		return err
	}
	return r.update(ctx, prefix, v)
}

func (r *Record) update(ctx context.Context, prefix []string, v any) error {
	if src, ok := v.(Source); ok {
		m, err := src.Load()
		if err != nil {
			return err
		}
		v = m
	}
	nv, err := normalizeAt(v, strings.Join(prefix, "."))
	if err != nil {
		return err
	}
	m, ok := nv.(map[string]any)
	if !ok {
		return invalid("value", strings.Join(prefix, "."), fmt.Sprintf("Update needs a map, struct, *flag.FlagSet or Source, not %T", v))
	}
	if fs, isFlags := v.(*flag.FlagSet); isFlags && len(prefix) == 0 {
		if err := reservedFlagError(fs); err != nil {
			return err
		}
	}
	ops := make([]backend.Op, 0, len(m))
	for k, val := range m {
		path := append(slices.Clip(prefix), k)
		if len(prefix) == 0 && slices.Contains(reserved, k) {
			return invalid("key", k, "reserved for the record's own use")
		}
		ops = append(ops, backend.Op{Kind: backend.Set, Path: path, Value: val})
	}
	if len(ops) == 0 {
		return r.check(ctx)
	}
	slices.SortFunc(ops, func(a, b backend.Op) int { return strings.Compare(a.Path[len(a.Path)-1], b.Path[len(b.Path)-1]) })
	return r.merge(ctx, ops)
}

// Apply makes several changes in one atomic step: all of them are
// stored, or none. Two changes where one path is a prefix of the other
// ("a" and "a.b") are ErrInvalid.
func (r *Record) Apply(ctx context.Context, changes ...Change) error {
	ops := make([]backend.Op, len(changes))
	for i, c := range changes {
		op, err := c.op(r)
		if err != nil {
			return err
		}
		ops[i] = op
	}
	if len(ops) == 0 {
		return r.check(ctx)
	}
	return r.merge(ctx, ops)
}

// userPath parses a path a user writes to and refuses reserved fields.
func (r *Record) userPath(path string) ([]string, error) {
	keys, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	if slices.Contains(reserved, keys[0]) {
		return nil, invalid("path", path, "\""+keys[0]+"\" is reserved for the record's own use")
	}
	return keys, nil
}

// normalizeAt normalizes v and prefixes error paths with path.
func normalizeAt(v any, path string) (any, error) {
	nv, err := Normalize(v)
	var ie *InvalidError
	if errors.As(err, &ie) && path != "" {
		e := *ie
		switch {
		case e.Path == "":
			e.Path = path
		case strings.HasPrefix(e.Path, "["):
			e.Path = path + e.Path
		default:
			e.Path = path + "." + e.Path
		}
		return nil, &e
	}
	return nv, err
}

func (r *Record) merge(ctx context.Context, ops []backend.Op) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	if err := checkPrefixes(ops); err != nil {
		return err
	}
	if r.store.offline {
		r.qmu.Lock()
		seq := r.enqueueLocked(ops)
		r.qmu.Unlock()
		r.kickWriter()
		return r.waitFor(ctx, seq, "merge")
	}
	return r.store.do(ctx, "merge", r.coll, r.id, func() error { return r.store.b.Merge(ctx, r.coll, r.id, ops) })
}

// checkPrefixes refuses two ops where one path is a prefix of the other.
func checkPrefixes(ops []backend.Op) error {
	if len(ops) < 2 {
		return nil
	}
	paths := make([]string, len(ops))
	for i, op := range ops {
		paths[i] = strings.Join(op.Path, "\x00") + "\x00"
	}
	slices.Sort(paths)
	for i := 1; i < len(paths); i++ {
		if strings.HasPrefix(paths[i], paths[i-1]) {
			p := strings.ReplaceAll(strings.TrimSuffix(paths[i-1], "\x00"), "\x00", ".")
			q := strings.ReplaceAll(strings.TrimSuffix(paths[i], "\x00"), "\x00", ".")
			return invalid("op", q, "overlaps "+p+" in the same write")
		}
	}
	return nil
}

// Close flushes every logged metric, then seals the record: status
// "completed" when runErr is nil, else "failed" with runErr's text (or
// "interrupted" when runErr is ErrInterrupted), the end time and the
// duration in seconds. The seal is written after the last point, in the
// same ordered, exactly-once stream. A sealed record refuses writes with
// ErrSealed.
//
// Close returns by ctx's deadline. If the store cannot be reached (or the
// deadline passes first) and the store has a spool, what is not written
// yet, the seal included, is left in the spool on disk and Close returns a
// *SpoolError that says where (errors.Is ErrUnavailable): nothing is lost,
// `record sync` ships it. Without a spool (mem://) the record stays open,
// so that Close can be called again.
func (r *Record) Close(ctx context.Context, runErr error) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	r.system.close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	status := StatusCompleted
	ops := []backend.Op{{Kind: backend.Set, Path: []string{"ended"}, Value: now}}
	if runErr != nil {
		status = StatusFailed
		if errors.Is(runErr, ErrInterrupted) {
			status = StatusInterrupted
		}
		msg := strings.ToValidUTF8(runErr.Error(), "\uFFFD")
		ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"error"}, Value: msg})
	}
	ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"status"}, Value: status})
	if !r.created.IsZero() {
		ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"duration"}, Value: now.Sub(r.created).Seconds()})
	}
	var busy bool
	var logErr error
	r.cut(func() {
		if busy = r.closing; !busy {
			r.closing = true
			logErr, r.logErr = r.logErr, nil
		}
	})
	if busy {
		return &Error{Op: "close", Collection: r.coll, ID: r.id, err: fmt.Errorf("a Close is under way: %w", ErrSealed)}
	}
	r.qmu.Lock()
	seal := r.enqueueLocked(ops)
	r.qmu.Unlock()
	r.kickWriter()
	wait := ctx
	if dl, ok := ctx.Deadline(); ok && r.store.spoolRoot != "" {
		// Stop waiting a little early, to leave time for the spool.
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, dl.Add(-min(time.Until(dl)/10, 500*time.Millisecond)))
		defer cancel()
	}
	err := r.waitFor(wait, seal, "close")
	r.qmu.Lock()
	bgErr := r.flushErr
	r.flushErr = nil
	r.qmu.Unlock()
	if err != nil && !r.abandon() {
		// Nothing is lost, but nothing is safe on disk either: the record
		// stays open for another Close. Take the seal back.
		r.qmu.Lock()
		r.queue = slices.DeleteFunc(r.queue, func(it *item) bool { return it.seq == seal })
		r.qmu.Unlock()
		r.mu.Lock()
		r.closing = false
		r.mu.Unlock()
		return errors.Join(logErr, bgErr, err)
	}
	if err != nil {
		err = r.spoolError("close", err)
	}
	r.sealed.Store(true)
	r.stopFlusher(ctx)
	r.closeSpool()
	r.store.untrack(r)
	return errors.Join(logErr, bgErr, err)
}

// ErrInterrupted, given to Close, marks the run "interrupted" (for
// example after SIGINT or SIGTERM) rather than "failed".
var ErrInterrupted = errors.New("interrupted")
