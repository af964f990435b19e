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
// copies of Go values, so any size round-trips. Like a database driver, a
// call whose context is already done returns the context's error and
// changes nothing. Faults can be injected with Backend.Inject (see Fault)
// to test the code above the backend: a call that fails before it is
// applied, one that is applied but whose acknowledgement is lost, and one
// that hangs until its context is done.
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

func init() {
	backend.Register("mem", func(ctx context.Context, dsn string) (backend.Backend, error) {
		return Open(ctx, dsn)
	})
}

var (
	namedMu sync.Mutex
	named   = map[string]*data{}
)

// data is the storage shared by the Backends opened on one name.
type data struct {
	mu     sync.RWMutex
	colls  map[string]map[string]map[string]any // coll -> id -> doc
	series map[seriesKey]*series
}

type seriesKey struct{ coll, id, name string }

func newData() *data {
	return &data{colls: map[string]map[string]map[string]any{}, series: map[seriesKey]*series{}}
}

// Backend is a handle on an in-memory store.
type Backend struct {
	d      *data
	faults faults
}

var (
	_ backend.Backend      = (*Backend)(nil)
	_ backend.Deleter      = (*Backend)(nil)
	_ backend.Lister       = (*Backend)(nil)
	_ backend.Pinger       = (*Backend)(nil)
	_ backend.SeriesStore  = (*Backend)(nil)
	_ backend.SeriesRanger = (*Backend)(nil)
	_ backend.Counter      = (*Backend)(nil)
	_ backend.BatchStore   = (*Backend)(nil)
)

// Open opens mem:// (a fresh store) or mem://NAME (a named store, shared
// by every Open of NAME in the process).
func Open(_ context.Context, dsn string) (*Backend, error) {
	native, _, err := backend.SplitOptions(dsn)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	scheme, rest, ok := strings.Cut(native, ":")
	if !ok || !strings.EqualFold(scheme, "mem") {
		return nil, fmt.Errorf("memory: want a DSN of the form mem:// or mem://NAME: %w", backend.ErrInvalid)
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
	name, _, _ = strings.Cut(name, "#")
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

// enter starts a call: it returns the context's error if ctx is done, and
// otherwise fires the first injected fault that matches op. after, when
// not nil, is the error to return once the call has been applied.
func (b *Backend) enter(ctx context.Context, op Op) (after error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.faults.fire(ctx, op)
}

// Insert implements backend.Backend.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	after, err := b.enter(ctx, OpInsert)
	if err != nil {
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
		return fmt.Errorf("memory: %w", backend.ErrExists)
	}
	c[id] = docops.CopyDoc(doc)
	return after
}

// Merge implements backend.Backend.
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	after, err := b.enter(ctx, OpMerge)
	if err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	doc, ok := b.d.colls[coll][id]
	if !ok {
		return fmt.Errorf("memory: %w", backend.ErrNotFound)
	}
	if err := docops.Apply(doc, ops); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return after
}

// Get implements backend.Backend.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	after, err := b.enter(ctx, OpGet)
	if err != nil {
		return nil, err
	}
	b.d.mu.RLock()
	defer b.d.mu.RUnlock()
	doc, ok := b.d.colls[coll][id]
	if !ok {
		return nil, fmt.Errorf("memory: %w", backend.ErrNotFound)
	}
	if after != nil {
		return nil, after
	}
	return docops.CopyDoc(doc), nil
}

// Drop implements backend.Backend.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	after, err := b.enter(ctx, OpDrop)
	if err != nil {
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
	return after
}

// Delete implements backend.Deleter.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	after, err := b.enter(ctx, OpDelete)
	if err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	c := b.d.colls[coll]
	if _, ok := c[id]; !ok {
		return fmt.Errorf("memory: %w", backend.ErrNotFound)
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
	return after
}

// Collections implements backend.Lister.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	after, err := b.enter(ctx, OpCollections)
	if err != nil {
		return nil, err
	}
	if after != nil {
		return nil, after
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
// it stops at q.Limit, and copies only the paths in q.Fields when given.
func (b *Backend) List(ctx context.Context, coll string, q backend.Query) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		after, err := b.enter(ctx, OpList)
		if err != nil {
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
		sortItems(q, items)
		if q.Limit > 0 && len(items) > q.Limit {
			items = items[:q.Limit]
		}
		for i := range items {
			items[i].Doc = project(items[i].Doc, q.Fields)
		}
		b.d.mu.RUnlock()
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
		if after != nil {
			yield(backend.Item{}, after)
		}
	}
}

// sortItems sorts items in q's order (backend.Less). The values at
// q.OrderBy are looked up once, not at every comparison.
func sortItems(q backend.Query, items []backend.Item) {
	if q.OrderBy == nil {
		slices.SortFunc(items, func(x, y backend.Item) int {
			if backend.Less(q, x, y) {
				return -1
			}
			return 1
		})
		return
	}
	type keyed struct {
		key backend.Item // the id and a document holding only the value at q.OrderBy, at "v"
		it  backend.Item
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		k := map[string]any{}
		if v, ok := backend.Lookup(it.Doc, q.OrderBy); ok {
			k["v"] = v
		}
		ks[i] = keyed{backend.Item{ID: it.ID, Doc: k}, it}
	}
	kq := q
	kq.OrderBy = []string{"v"}
	slices.SortFunc(ks, func(x, y keyed) int {
		if backend.Less(kq, x.key, y.key) {
			return -1
		}
		return 1
	})
	for i := range ks {
		items[i] = ks[i].it
	}
}

// project returns a deep copy of the values at fields in doc, or of the
// whole document when fields is nil.
func project(doc map[string]any, fields [][]string) map[string]any {
	if fields == nil {
		return docops.CopyDoc(doc)
	}
	out := map[string]any{}
	for _, f := range fields {
		v, ok := backend.Lookup(doc, f)
		if !ok || len(f) == 0 {
			continue
		}
		backend.SetAt(out, f, docops.Copy(v))
	}
	return out
}

// Ping implements backend.Pinger.
func (b *Backend) Ping(ctx context.Context) error {
	after, err := b.enter(ctx, OpPing)
	if err != nil {
		return err
	}
	return after
}

// AppendSeries implements backend.SeriesStore.
func (b *Backend) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	after, err := b.enter(ctx, OpAppendSeries)
	if err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	b.d.appendSeries(seriesKey{coll, id, name}, pts)
	return after
}

// ReadSeries implements backend.SeriesStore, in batches of readBatch points.
func (b *Backend) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	return b.readSeries(ctx, OpReadSeries, seriesKey{coll, id, name}, nil)
}

// readSeries yields the points of series k that keep accepts (all when
// keep is nil), reading readBatch stored points at a time under the read
// lock, so that writers interleave with a long read.
func (b *Backend) readSeries(ctx context.Context, op Op, k seriesKey, keep func(backend.Point) bool) iter.Seq2[[]backend.Point, error] {
	return func(yield func([]backend.Point, error) bool) {
		after, err := b.enter(ctx, op)
		if err != nil {
			yield(nil, err)
			return
		}
		for i := 0; ; i += readBatch {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			b.d.mu.RLock()
			all := b.d.series[k]
			batch := all.appendRange(nil, i, i+readBatch, keep)
			end := i+readBatch >= all.len()
			b.d.mu.RUnlock()
			if len(batch) > 0 && !yield(batch, nil) {
				return
			}
			if end {
				break
			}
		}
		if after != nil {
			yield(nil, after)
		}
	}
}

// appendSeries appends pts to the series k. mu is held.
func (d *data) appendSeries(k seriesKey, pts []backend.Point) {
	s := d.series[k]
	if s == nil {
		s = &series{}
		d.series[k] = s
	}
	s.add(pts)
}

// readBatch is the number of points ReadSeries yields at a time.
const readBatch = 4096

// Close implements backend.Backend. It releases nothing: a named store
// keeps its data for the next Open of its name. Package record makes no
// call on a Backend after Close.
func (b *Backend) Close() error { return nil }

// ApplyBatch implements backend.BatchStore: the document change and the
// points are one step under the store's lock.
func (b *Backend) ApplyBatch(ctx context.Context, coll, id string, bt backend.Batch) error {
	after, err := b.enter(ctx, OpApplyBatch)
	if err != nil {
		return err
	}
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	doc, ok := b.d.colls[coll][id]
	if !ok {
		return fmt.Errorf("memory: %w", backend.ErrNotFound)
	}
	ops, apply, err := bt.Update(doc)
	if err != nil {
		return err
	}
	if !apply {
		return after
	}
	if err := docops.Apply(doc, ops); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if len(bt.Points) > 0 {
		b.d.appendSeries(seriesKey{coll, id, bt.Metric}, bt.Points)
	}
	return after
}

// SeriesNames implements backend.BatchStore.
func (b *Backend) SeriesNames(ctx context.Context, coll, id string) ([]string, error) {
	after, err := b.enter(ctx, OpSeriesNames)
	if err != nil {
		return nil, err
	}
	b.d.mu.RLock()
	defer b.d.mu.RUnlock()
	var names []string
	for k, s := range b.d.series {
		if k.coll == coll && k.id == id && s.len() > 0 {
			names = append(names, k.name)
		}
	}
	slices.Sort(names)
	return names, after
}
