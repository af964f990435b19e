// Package memory is the in-process backend, for unit tests and
// short-lived programs. Import it for its side effect:
//
//	import _ "github.com/recordlab/go-record/backend/memory"
//
// # URLs
//
//	mem://        a fresh, private store for each Open
//	mem://NAME    a store shared by every Open of NAME in the process; it
//	              outlives Close, so a program can close and reopen it
//
// No x- options are defined; any is an error.
//
// # Special considerations
//
// Data lives only as long as the process. Documents are stored as deep
// copies of Go values, so any size round-trips. Faults can be injected with
// Backend.SetFault to test code above the backend.
package memory

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docops"
)

func init() { backend.Register("mem", Open) }

var (
	namedMu sync.Mutex
	named   = map[string]*data{}
)

// data is the storage shared by the Backends opened on one name.
type data struct {
	mu     sync.RWMutex
	colls  map[string]map[string]map[string]any // coll -> id -> doc
	series map[seriesKey][]backend.Point
}

type seriesKey struct{ coll, id, name string }

func newData() *data {
	return &data{colls: map[string]map[string]map[string]any{}, series: map[seriesKey][]backend.Point{}}
}

// Backend is a handle on an in-memory store.
type Backend struct {
	d *data

	mu     sync.Mutex
	closed bool
	fault  func(op string) error
}

var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Deleter     = (*Backend)(nil)
	_ backend.Lister      = (*Backend)(nil)
	_ backend.Pinger      = (*Backend)(nil)
	_ backend.SeriesStore = (*Backend)(nil)
)

// Open opens mem:// (a fresh store) or mem://NAME (a named, shared store).
func Open(_ context.Context, dsn string) (backend.Backend, error) {
	native, _, err := backend.SplitOptions(dsn)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	rest, ok := strings.CutPrefix(strings.ToLower(native[:4])+native[4:], "mem:")
	if !ok {
		return nil, fmt.Errorf("memory: DSN %q: want mem:// or mem://NAME: %w", dsn, backend.ErrInvalid)
	}
	name := strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		return New(), nil
	}
	namedMu.Lock()
	defer namedMu.Unlock()
	d := named[name]
	if d == nil {
		d = newData()
		named[name] = d
	}
	return &Backend{d: d}, nil
}

// New returns a fresh, private in-memory backend.
func New() *Backend { return &Backend{d: newData()} }

// SetFault makes every later call first ask f, with the method's name
// ("insert", "merge", "get", "drop", "delete", "list", "collections",
// "ping", "append-series", "read-series"); a non-nil error is returned
// instead of doing the call. Nil removes the fault.
func (b *Backend) SetFault(f func(op string) error) {
	b.mu.Lock()
	b.fault = f
	b.mu.Unlock()
}

func (b *Backend) enter(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	closed, fault := b.closed, b.fault
	b.mu.Unlock()
	if closed {
		return fmt.Errorf("memory: %s: %w", op, backend.ErrClosed)
	}
	if fault != nil {
		if err := fault(op); err != nil {
			return err
		}
	}
	return nil
}

// Insert implements backend.Backend.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	if err := b.enter(ctx, "insert"); err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	c := b.d.colls[coll]
	if c == nil {
		c = map[string]map[string]any{}
		b.d.colls[coll] = c
	}
	if _, ok := c[id]; ok {
		return fmt.Errorf("memory: insert %s/%s: %w", coll, id, backend.ErrExists)
	}
	c[id] = docops.CopyDoc(doc)
	return nil
}

// Merge implements backend.Backend.
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	if err := b.enter(ctx, "merge"); err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	doc, ok := b.d.colls[coll][id]
	if !ok {
		return fmt.Errorf("memory: merge %s/%s: %w", coll, id, backend.ErrNotFound)
	}
	if err := docops.Apply(doc, ops); err != nil {
		return fmt.Errorf("memory: merge %s/%s: %w", coll, id, err)
	}
	return nil
}

// Get implements backend.Backend.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	if err := b.enter(ctx, "get"); err != nil {
		return nil, err
	}
	b.d.mu.RLock()
	defer b.d.mu.RUnlock()
	doc, ok := b.d.colls[coll][id]
	if !ok {
		return nil, fmt.Errorf("memory: get %s/%s: %w", coll, id, backend.ErrNotFound)
	}
	return docops.CopyDoc(doc), nil
}

// Drop implements backend.Backend.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	if err := b.enter(ctx, "drop"); err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	delete(b.d.colls, coll)
	for k := range b.d.series {
		if k.coll == coll {
			delete(b.d.series, k)
		}
	}
	return nil
}

// Delete implements backend.Deleter.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	if err := b.enter(ctx, "delete"); err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	c := b.d.colls[coll]
	if _, ok := c[id]; !ok {
		return fmt.Errorf("memory: delete %s/%s: %w", coll, id, backend.ErrNotFound)
	}
	delete(c, id)
	if len(c) == 0 {
		delete(b.d.colls, coll)
	}
	for k := range b.d.series {
		if k.coll == coll && k.id == id {
			delete(b.d.series, k)
		}
	}
	return nil
}

// Collections implements backend.Lister.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	if err := b.enter(ctx, "collections"); err != nil {
		return nil, err
	}
	b.d.mu.RLock()
	defer b.d.mu.RUnlock()
	names := make([]string, 0, len(b.d.colls))
	for name, c := range b.d.colls {
		if len(c) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// List implements backend.Lister. It applies every condition exactly, so
// it stops at q.Limit.
func (b *Backend) List(ctx context.Context, coll string, q backend.Query) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		if err := b.enter(ctx, "list"); err != nil {
			yield(backend.Item{}, err)
			return
		}
		b.d.mu.RLock()
		items := []backend.Item{}
		for id, doc := range b.d.colls[coll] {
			if q.Follows(id) && backend.Match(doc, q.Where) {
				items = append(items, backend.Item{ID: id, Doc: doc})
			}
		}
		slices.SortFunc(items, func(x, y backend.Item) int {
			if backend.Less(q, x, y) {
				return -1
			}
			return 1
		})
		if q.Limit > 0 && len(items) > q.Limit {
			items = items[:q.Limit]
		}
		for i := range items {
			items[i].Doc = docops.CopyDoc(items[i].Doc)
		}
		b.d.mu.RUnlock()
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// Ping implements backend.Pinger.
func (b *Backend) Ping(ctx context.Context) error { return b.enter(ctx, "ping") }

// AppendSeries implements backend.SeriesStore.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	if err := b.enter(ctx, "append-series"); err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	k := seriesKey{coll, id, name}
	b.d.series[k] = append(b.d.series[k], pts...)
	return nil
}

// ReadSeries implements backend.SeriesStore, in batches of readBatch points.
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		if err := b.enter(ctx, "read-series"); err != nil {
			yield(nil, err)
			return
		}
		for i := 0; ; i += readBatch {
			b.d.mu.RLock()
			all := b.d.series[seriesKey{coll, id, name}]
			var batch []backend.Point
			if i < len(all) {
				batch = slices.Clone(all[i:min(i+readBatch, len(all))])
			}
			b.d.mu.RUnlock()
			if len(batch) == 0 || !yield(batch, nil) {
				return
			}
		}
	}
}

// readBatch is the number of points ReadSeries yields at a time.
const readBatch = 4096

// Close implements backend.Backend. A named store keeps its data.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("memory: close: %w", backend.ErrClosed)
	}
	b.closed = true
	return nil
}
