package record

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/redact"
	"github.com/recordlab/go-record/internal/spool"
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

// RedactDSN returns dsn with its passwords and keys masked, for messages
// and logs: URL user info, credential query parameters, libpq
// password=, SQLite key pragmas.
func RedactDSN(dsn string) string { return redact.DSN(dsn) }

// DefaultDSN is the store Open uses when neither its argument nor
// $RECORD_DSN names one: an SQLite file in the working directory. The
// sqlite adapter must be imported (backend/sqlite or backend/all).
const DefaultDSN = "sqlite://records.db"

// DSNEnv is the environment variable Open reads when its dsn is empty.
const DSNEnv = "RECORD_DSN"

// Store is a connection to one backend. It is safe for concurrent use.
type Store struct {
	b       backend.Backend
	secrets []string // of the DSN, removed from every error
	gate    gate

	// dsn is the store's DSN with secrets redacted, which names it in the
	// spool; spoolRoot is the spool directory, "" when the store has no
	// spool (mem://, NewStore, x-spool=off); offline says that nothing is
	// sent to the store (x-offline=true): writes go to the spool only.
	dsn       string
	spoolRoot string
	offline   bool

	mu   sync.Mutex
	open map[*Record]struct{} // records to flush on Close
}

// Open opens the store named by dsn; see ResolveDSN for what an empty dsn
// means. The adapter for the DSN's scheme must be imported. No error it
// returns contains a password of the DSN.
func Open(ctx context.Context, dsn string) (*Store, error) {
	dsn = ResolveDSN(dsn)
	secrets := redact.Secrets(dsn)
	dsn, opts := takeOptions(dsn, "x-offline", "x-spool")
	spoolRoot, offline, err := spoolOptions(dsn, opts)
	if err != nil {
		return nil, &Error{Op: "open " + redact.DSN(dsn), err: redact.Error(err, secrets...)}
	}
	var b backend.Backend = offlineBackend{}
	if !offline {
		b, err = backend.Open(ctx, dsn)
	}
	if err != nil {
		e := &Error{Op: "open " + redact.DSN(dsn), err: redact.Error(err, secrets...)}
		if ctx.Err() != nil {
			e.err = context.Cause(ctx)
		}
		return nil, e
	}
	s := NewStore(b)
	s.secrets = secrets
	s.dsn = redact.DSN(dsn)
	s.spoolRoot, s.offline = spoolRoot, offline
	return s, nil
}

// spoolOptions reads the DSN options of the spool: x-spool (a directory,
// or "off"; default $RECORD_SPOOL_DIR, else the user's cache directory,
// else none) and x-offline (true or false).
func spoolOptions(dsn string, opts map[string]string) (root string, offline bool, err error) {
	if v, ok := opts["x-offline"]; ok {
		offline, err = strconv.ParseBool(v)
		if err != nil {
			return "", false, fmt.Errorf("x-offline=%q: want true or false: %w", v, ErrInvalid)
		}
	}
	root, set := opts["x-spool"]
	if root, err = url.PathUnescape(root); err != nil {
		return "", false, fmt.Errorf("x-spool: %w: %w", err, ErrInvalid)
	}
	mem := strings.HasPrefix(strings.ToLower(dsn), "mem:")
	switch {
	case root == "off" || (mem && !set):
		if offline {
			return "", false, fmt.Errorf("x-offline needs a spool (x-spool is off, or the store is mem://): %w", ErrInvalid)
		}
		return "", false, nil
	case !set || root == "":
		if root, err = spool.Root(); err != nil {
			if offline {
				return "", false, err
			}
			// No cache directory (no $HOME): the store works without a
			// spool, as mem:// does, rather than not at all.
			return "", false, nil
		}
	}
	return root, offline, err
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
// (without sealing them), waits for the calls in flight, then closes the
// backend. It waits no longer than ctx allows: past the deadline it
// closes the backend anyway, which ends the calls still in flight, and
// reports what could not be written. Later calls on the Store or its
// records return ErrClosed; closing again returns nil.
func (s *Store) Close(ctx context.Context) error {
	if s.isClosed() {
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
			if r.abandon() {
				err = r.spoolError("close store", err)
			}
			errs = append(errs, err)
		}
		r.stopFlusher(ctx)
		r.closeSpool()
	}
	idle, ok := s.shut()
	if !ok {
		return errors.Join(errs...)
	}
	select {
	case <-idle:
	case <-ctx.Done():
		errs = append(errs, s.fail(ctx, "close", "", "", ctx.Err()))
	}
	if err := s.b.Close(); err != nil {
		errs = append(errs, s.fail(context.Background(), "close", "", "", err))
	}
	return errors.Join(errs...)
}

// check refuses a call on a closed store or with a done ctx, in the form
// fail gives errors.
func (s *Store) check(ctx context.Context) error {
	if s.isClosed() {
		return s.fail(ctx, "call", "", "", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return s.fail(ctx, "call", "", "", err)
	}
	return nil
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
	if err := validRef(coll, id); err != nil {
		return nil, err
	}
	var doc map[string]any
	err := s.do(ctx, "get", coll, id, func() (err error) {
		doc, err = s.b.Get(ctx, coll, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return newSnapshot(s, coll, id, doc), nil
}

// Delete removes one record and its metric series. It returns ErrNotFound
// if the record does not exist, and ErrUnsupported if the backend cannot
// delete single records.
func (s *Store) Delete(ctx context.Context, coll, id string) error {
	if err := validRef(coll, id); err != nil {
		return err
	}
	return s.do(ctx, "delete", coll, id, func() error {
		d, ok := s.b.(backend.Deleter)
		if !ok {
			return ErrUnsupported
		}
		return d.Delete(ctx, coll, id)
	})
}

// Drop removes a whole collection with its records and their series.
// Dropping a missing collection is not an error.
func (s *Store) Drop(ctx context.Context, coll string) error {
	if err := ValidCollection(coll); err != nil {
		return err
	}
	return s.do(ctx, "drop", coll, "", func() error { return s.b.Drop(ctx, coll) })
}

// Ping checks that the backend answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.do(ctx, "ping", "", "", func() error {
		if p, ok := s.b.(backend.Pinger); ok {
			return p.Ping(ctx)
		}
		_, err := s.b.Get(ctx, "ping", "ping")
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
}

// Collections returns the names of the collections holding records, sorted.
func (s *Store) Collections(ctx context.Context) ([]string, error) {
	var names []string
	err := s.do(ctx, "collections", "", "", func() (err error) {
		l, ok := s.b.(backend.Lister)
		if !ok {
			return ErrUnsupported
		}
		names, err = l.Collections(ctx)
		return err
	})
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
