package record

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/recordlab/go-record/backend"
)

// ResolveDSN returns the DSN that Open(ctx, dsn) opens: dsn itself, or
// when it is empty $RECORD_DSN, or when that is empty too DefaultDSN.
func ResolveDSN(dsn string) string {
	if dsn == "" {
		dsn = os.Getenv(DSNEnv)
	}
	if dsn == "" {
		dsn = DefaultDSN
	}
	return dsn
}

// DefaultDSN is the store Open uses when neither its argument nor
// $RECORD_DSN names one: an SQLite file in the working directory. The
// sqlite adapter must be imported (backend/sqlite or backend/all).
const DefaultDSN = "sqlite://records.db"

// DSNEnv is the environment variable Open reads when its dsn is empty.
const DSNEnv = "RECORD_DSN"

// Store is a connection to one backend. It is safe for concurrent use.
type Store struct {
	b      backend.Backend
	closed atomic.Bool

	mu   sync.Mutex
	open map[*Record]struct{} // records to flush on Close
}

// Open opens the store named by dsn; see DefaultDSN and DSNEnv for what an
// empty dsn means. The adapter for the DSN's scheme must be imported.
func Open(ctx context.Context, dsn string) (*Store, error) {
	dsn = ResolveDSN(dsn)
	b, err := backend.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err) // adapters name the DSN, redacted
	}
	return NewStore(b), nil
}

// NewStore returns a Store over a backend the caller opened. Closing the
// Store closes the backend.
func NewStore(b backend.Backend) *Store {
	return &Store{b: b, open: map[*Record]struct{}{}}
}

// As sets target, which must be a non-nil pointer, to the backend under
// the store (or to one of its optional interfaces) when the backend's type
// is assignable to what target points to, and reports whether it did, in
// the manner of errors.As and gocloud's As. It is the escape hatch to an
// adapter's own API, for example *postgres.Backend's Pool:
//
//	var pg *postgres.Backend
//	if store.As(&pg) { pool := pg.Pool() ... }
func (s *Store) As(target any) bool {
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	e := v.Elem()
	bv := reflect.ValueOf(s.b)
	if !bv.Type().AssignableTo(e.Type()) {
		return false
	}
	e.Set(bv)
	return true
}

// Close flushes the metrics of every record still open in this process
// (without sealing them), then closes the backend. It waits for the
// flushes no longer than ctx allows: past the deadline it closes the
// backend anyway and reports what could not be written. Later calls on the
// Store or its records return ErrClosed; closing again returns nil.
func (s *Store) Close(ctx context.Context) error {
	if s.closed.Load() {
		return nil
	}
	s.mu.Lock()
	recs := make([]*Record, 0, len(s.open))
	for r := range s.open {
		recs = append(recs, r)
	}
	s.mu.Unlock()
	var errs []error
	for _, r := range recs {
		if err := r.Flush(ctx); err != nil && !errors.Is(err, ErrSealed) {
			errs = append(errs, err)
		}
		r.stopFlusher()
	}
	if !s.closed.CompareAndSwap(false, true) {
		return errors.Join(errs...)
	}
	errs = append(errs, s.b.Close())
	return errors.Join(errs...)
}

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("record: store: %w", ErrClosed)
	}
	return ctx.Err()
}

func (s *Store) track(r *Record) {
	s.mu.Lock()
	s.open[r] = struct{}{}
	s.mu.Unlock()
}

func (s *Store) untrack(r *Record) {
	s.mu.Lock()
	delete(s.open, r)
	s.mu.Unlock()
}

// Get reads a record. The Snapshot is a copy: later writes do not change
// it, and changing what it returns does not change the store.
func (s *Store) Get(ctx context.Context, coll, id string) (*Snapshot, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if err := validRef(coll, id); err != nil {
		return nil, err
	}
	doc, err := s.b.Get(ctx, coll, id)
	if err != nil {
		return nil, err
	}
	return newSnapshot(s, coll, id, doc), nil
}

// Delete removes one record and its metric series. It returns ErrNotFound
// if the record does not exist, and ErrUnsupported if the backend cannot
// delete single records.
func (s *Store) Delete(ctx context.Context, coll, id string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := validRef(coll, id); err != nil {
		return err
	}
	d, ok := s.b.(backend.Deleter)
	if !ok {
		return fmt.Errorf("record: delete: %w", ErrUnsupported)
	}
	return d.Delete(ctx, coll, id)
}

// Drop removes a whole collection with its records and their series.
// Dropping a missing collection is not an error.
func (s *Store) Drop(ctx context.Context, coll string) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := ValidCollection(coll); err != nil {
		return err
	}
	return s.b.Drop(ctx, coll)
}

// Ping checks that the backend answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if p, ok := s.b.(backend.Pinger); ok {
		return p.Ping(ctx)
	}
	_, err := s.b.Get(ctx, "ping", "ping")
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Collections returns the names of the collections holding records, sorted.
func (s *Store) Collections(ctx context.Context) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	l, ok := s.b.(backend.Lister)
	if !ok {
		return nil, fmt.Errorf("record: collections: %w", ErrUnsupported)
	}
	names, err := l.Collections(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

func validRef(coll, id string) error {
	if err := ValidCollection(coll); err != nil {
		return err
	}
	return ValidID(id)
}

// Backend_ is TEMPORARY while the CLI moves onto record's own API.
func (s *Store) Backend_() backend.Backend { return s.b }
