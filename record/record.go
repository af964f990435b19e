package record

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recordlab/go-record/backend"
)

// Status values of a record's "status" field.
const (
	StatusRunning     = "running"
	StatusCompleted   = "completed"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted"
)

// Fields that the record manages itself; user writes to them are refused.
var reserved = []string{"_id", "id", "collection", "created", "status", "ended", "duration", "error", "metrics", "series", "updated"}

// Record is a running experiment that a program writes into. Its methods
// are safe for concurrent use. Close it when the run ends.
type Record struct {
	store *Store
	coll  string
	id    string
	cfg   createConfig
	// created is the record's created time, for the duration Close stores.
	created time.Time

	sealed atomic.Bool

	mu       sync.Mutex         // guards pending, logErr
	pending  map[string]*buffer // metric name -> points not yet written
	npending int
	logErr   error // invalid metric names, reported by Flush/Close

	flushMu   sync.Mutex // one flush at a time; guards summaries and flushErr
	summaries map[string]*summary
	dirty     map[string]bool // summaries stored in memory but not yet in the document
	flushErr  error           // a failed background flush, reported by the next Flush/Close

	system *systemSampler // WithSystemMetrics; nil when off

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
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
	doc := map[string]any{
		"id":         cfg.id,
		"collection": coll,
		"created":    time.Now().UTC().Truncate(time.Millisecond),
		"status":     StatusRunning,
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
	if err := s.do(ctx, "insert", coll, cfg.id, func() error { return s.b.Insert(ctx, coll, cfg.id, doc) }); err != nil {
		return nil, err
	}
	return s.start(coll, cfg, doc), nil
}

// Resume continues a record that is not sealed, for example after the
// process that created it crashed. A sealed record returns ErrSealed.
func (s *Store) Resume(ctx context.Context, coll, id string, opts ...CreateOption) (*Record, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := validRef(coll, id); err != nil {
		return nil, err
	}
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
	cfg := newConfig(opts)
	cfg.id = id
	return s.start(coll, cfg, doc), nil
}

func (s *Store) start(coll string, cfg createConfig, doc map[string]any) *Record {
	r := &Record{
		store:     s,
		coll:      coll,
		id:        cfg.id,
		cfg:       cfg,
		pending:   map[string]*buffer{},
		summaries: map[string]*summary{},
		dirty:     map[string]bool{},
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	r.created, _ = doc["created"].(time.Time)
	if m, ok := doc["metrics"].(map[string]any); ok {
		for name, v := range m {
			if sm, ok := v.(map[string]any); ok {
				r.summaries[name] = summaryFromDoc(sm)
			}
		}
	}
	s.track(r)
	go r.flusher()
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
// duration in seconds. A sealed record refuses writes with ErrSealed.
// If the flush fails the record is not sealed, so Close can be retried.
func (r *Record) Close(ctx context.Context, runErr error) error {
	if err := r.check(ctx); err != nil {
		return err
	}
	r.system.close()
	if err := r.Flush(ctx); err != nil {
		return err
	}
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
	if err := r.store.do(ctx, "close", r.coll, r.id, func() error { return r.store.b.Merge(ctx, r.coll, r.id, ops) }); err != nil {
		return err
	}
	r.sealed.Store(true)
	r.stopFlusher(ctx)
	r.store.untrack(r)
	return nil
}

// ErrInterrupted, given to Close, marks the run "interrupted" (for
// example after SIGINT or SIGTERM) rather than "failed".
var ErrInterrupted = errors.New("interrupted")
