package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/redact"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func init() {
	backend.Register("sqlite", func(ctx context.Context, dsn string) (backend.Backend, error) {
		return Open(ctx, dsn)
	})
}

// Compile-time checks of the interfaces Backend implements.
var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Deleter     = (*Backend)(nil)
	_ backend.Lister      = (*Backend)(nil)
	_ backend.Indexer     = (*Backend)(nil)
	_ backend.Pinger      = (*Backend)(nil)
	_ backend.SeriesStore = (*Backend)(nil)
	_ backend.BatchStore  = (*Backend)(nil)
)

// OptionTable is the DSN option naming the documents table.
const OptionTable = "x-table"

// DefaultTable is the documents table used when the DSN has no x-table.
const DefaultTable = "records"

// OptionCreate is the DSN option that says whether Open may create the
// store: x-create=true (the default) creates a missing file and creates or
// migrates the schema. x-create=false opens an existing store only
// (SQLite's mode=rw): it creates no file, not even for a missing path,
// creates no table (a store of an older schema version is still migrated,
// so that older files stay readable), and leaves the journal mode as it is; a
// missing file, or a file without the tables of x-table, is ErrNotFound
// naming the path. Writes to an existing store still work.
// record.OpenExisting sets it.
const OptionCreate = "x-create"

// busyTimeoutMS is SQLite's busy_timeout on every connection. The driver
// ends the wait early when the call's context is done; past the timeout the
// adapter retries with backoff (see retry), so SQLITE_BUSY never reaches a
// caller while its context is live.
const busyTimeoutMS = 5000

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Backend stores records in one SQLite database file. It is safe for
// concurrent use by many goroutines and, through SQLite's file locks, by many
// processes opening the same file.
type Backend struct {
	w       *sql.DB // the one writer connection, transactions BEGIN IMMEDIATE
	r       *sql.DB // read-only pool
	q       queries
	ins     *sql.Stmt // prepared on w: insert seriesBatch points
	upsert  *sql.Stmt // prepared on w: reserve sequence numbers of a series
	table   string
	indexed sync.Map // index name -> struct{}: indexes known to exist

	noCreate bool   // x-create=false: mode=rw, no schema changes
	path     string // the database file, for messages and its free space

	full atomic.Bool // a write found the disk full: see afterFull

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // prepared on r, by SQL text
}

// maxStmts bounds the statements a Backend keeps prepared.
const maxStmts = 256

// read returns a statement prepared on the read pool, from a cache by
// name: List builds long SQL (the sort key of an ordered path), and
// building and preparing it costs more than running it through an index.
// text returns the statement's SQL when it is not in the cache.
func (b *Backend) read(ctx context.Context, name string, text func() string) (*sql.Stmt, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.stmts[name]; ok {
		return st, nil
	}
	st, err := b.r.PrepareContext(ctx, text())
	if err != nil {
		return nil, err
	}
	if len(b.stmts) >= maxStmts {
		for k, old := range b.stmts {
			old.Close() // finalized once the rows still using it are closed
			delete(b.stmts, k)
		}
	}
	b.stmts[name] = st
	return st, nil
}

// Open opens (creating if needed) the SQLite database named by dsn, see the
// package documentation for its form, and creates or migrates the schema.
// No error it returns contains a key the DSN carries.
func Open(ctx context.Context, dsn string) (*Backend, error) {
	b, err := open(ctx, dsn)
	if err != nil {
		return nil, redact.Error(err, redact.Secrets(dsn)...)
	}
	return b, nil
}

type config struct {
	path     string
	table    string
	noCreate bool       // x-create=false
	native   url.Values // query parameters for the driver
}

func invalidDSN(format string, args ...any) error {
	return fmt.Errorf("sqlite: "+format+": %w", append(args, backend.ErrInvalid)...)
}

func parseDSN(dsn string) (config, error) {
	var c config
	native, opts, err := backend.SplitOptions(dsn, OptionTable, OptionCreate)
	if err != nil {
		return c, fmt.Errorf("sqlite: %w", err)
	}
	scheme, rest, ok := strings.Cut(native, ":")
	if !ok || !strings.EqualFold(scheme, "sqlite") {
		return c, invalidDSN("scheme is not sqlite")
	}
	rest = strings.TrimPrefix(rest, "//")
	rawPath, rawQuery, _ := strings.Cut(rest, "?")
	if i := strings.IndexByte(rawQuery, '#'); i >= 0 {
		rawQuery = rawQuery[:i]
	}
	if c.path, err = url.PathUnescape(rawPath); err != nil {
		return c, invalidDSN("bad path")
	}
	if c.path == "" || strings.HasPrefix(c.path, ":memory:") || strings.HasPrefix(c.path, "file:") {
		return c, invalidDSN("want sqlite://FILE or sqlite:///ABS/FILE")
	}
	if c.native, err = url.ParseQuery(rawQuery); err != nil {
		return c, invalidDSN("bad query")
	}
	for _, k := range []string{"_txlock", "_query_only", "_journal_mode", "_journal", "mode", "vfs"} {
		if c.native.Has(k) {
			return c, invalidDSN("parameter %s is set by the adapter", k)
		}
	}
	if v, ok := opts[OptionCreate]; ok {
		create, err := strconv.ParseBool(v)
		if err != nil {
			return c, invalidDSN("%s=%q: want true or false", OptionCreate, v)
		}
		c.noCreate = !create
	}
	c.table = DefaultTable
	if t, ok := opts[OptionTable]; ok {
		if !tableName.MatchString(t) || strings.HasPrefix(strings.ToLower(t), "sqlite_") {
			return c, invalidDSN("%s=%q is not an SQL identifier [A-Za-z_][A-Za-z0-9_]{0,62} (not starting with sqlite_)", OptionTable, t)
		}
		for _, suffix := range []string{"_series", "_points", "_meta", "_blocks", "_blocks_span"} {
			if strings.HasSuffix(strings.ToLower(t), suffix) {
				return c, invalidDSN("%s=%q ends with %s, which would collide with another table's %s table", OptionTable, t, suffix, suffix)
			}
		}
		c.table = t
	}
	return c, nil
}

// driverDSN is the DSN handed to modernc.org/sqlite: a file: URI of the
// path, the adapter's pragmas, then the user's own parameters. A URI, so
// that a '?' or '#' in a file name stays in the name, and so that SQLite
// itself honours mode: with x-create=false, mode=rw, which never creates
// the file. (Not mode=ro: read-only connections cannot remove the -wal
// and -shm files when they close, and would leave them behind.)
func (c config) driverDSN(writer bool) string {
	q := url.Values{}
	if c.noCreate {
		q.Set("mode", "rw")
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "synchronous(NORMAL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	for k, vs := range c.native {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	return fileURI(c.path) + "?" + q.Encode()
}

// fileURI is path as an SQLite file: URI. '%', '?' and '#' are escaped,
// which would otherwise be read as an escape, the query or the fragment;
// an absolute path gets an empty authority, so that one starting with
// "//" is not read as a host.
func fileURI(path string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	if strings.HasPrefix(p, "/") {
		return "file://" + p
	}
	return "file:" + p
}

// missing returns ErrNotFound when the database file of an x-create=false
// config does not exist; a file that cannot be examined is left for the
// driver to report.
func (c config) missing() error {
	if !c.noCreate {
		return nil
	}
	if _, err := os.Stat(c.path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: no such store: database file %q does not exist: %w", c.path, backend.ErrNotFound)
	}
	return nil
}

func open(ctx context.Context, dsn string) (*Backend, error) {
	c, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if err := c.missing(); err != nil {
		return nil, err
	}
	b := &Backend{table: c.table, q: newQueries(c.table), stmts: map[string]*sql.Stmt{}, noCreate: c.noCreate, path: c.path}
	abort := func(err error) (*Backend, error) {
		for _, st := range []*sql.Stmt{b.ins, b.upsert} {
			if st != nil {
				st.Close()
			}
		}
		for _, db := range []*sql.DB{b.w, b.r} {
			if db != nil {
				db.Close()
			}
		}
		return nil, fail(err)
	}
	if b.w, err = sql.Open("sqlite", c.driverDSN(true)); err != nil {
		return abort(err)
	}
	b.w.SetMaxOpenConns(1)
	b.w.SetMaxIdleConns(1)
	b.w.SetConnMaxLifetime(0)
	b.w.SetConnMaxIdleTime(0)
	if err := b.retry(ctx, func() error {
		if c.noCreate {
			return nil // the journal mode is the file's: it is a store's already
		}
		var mode string
		if err := b.w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			return err
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal_mode is %s, not wal", mode)
		}
		return nil
	}); err != nil {
		return abort(err)
	}
	if err := b.migrate(ctx); err != nil {
		return abort(err)
	}
	if b.ins, err = b.w.PrepareContext(ctx, b.q.insertPoints); err != nil {
		return abort(err)
	}
	if b.upsert, err = b.w.PrepareContext(ctx, b.q.upsertSeries); err != nil {
		return abort(err)
	}
	if b.r, err = sql.Open("sqlite", c.driverDSN(false)); err != nil {
		return abort(err)
	}
	// No bound on open readers: List and ReadSeries stream, and a caller
	// that reads while ranging over a listing, from many goroutines, must
	// never wait for a connection that only it could free.
	b.r.SetMaxIdleConns(max(4, runtime.GOMAXPROCS(0)))
	if err := b.retry(ctx, func() error { return b.r.PingContext(ctx) }); err != nil {
		return abort(err)
	}
	return b, nil
}

// Close closes the database.
func (b *Backend) Close() error {
	errs := []error{b.ins.Close(), b.upsert.Close()}
	b.mu.Lock()
	for _, st := range b.stmts {
		errs = append(errs, st.Close())
	}
	b.stmts = nil
	b.mu.Unlock()
	return fail(errors.Join(append(errs, b.r.Close(), b.w.Close())...))
}

// Ping checks that the database file can be read.
func (b *Backend) Ping(ctx context.Context) error {
	return fail(b.retry(ctx, func() error {
		var one int
		return b.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}))
}

// fail turns a native error into the adapter's: nil stays nil, context
// errors pass through, a constraint, size or space failure gets its class
// beside the driver's error, and everything gets the "sqlite:" prefix.
// SQLITE_FULL (any extended code), and an I/O error that noSpace (called
// by retry) found on a full disk, are ErrFull.
func fail(err error) error {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, backend.ErrFull):
		return fmt.Errorf("sqlite: %w", err)
	}
	switch code(err) {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("sqlite: %w: %w", backend.ErrExists, err)
	case sqlite3.SQLITE_TOOBIG:
		return fmt.Errorf("sqlite: %w: %w", backend.ErrTooLarge, err)
	}
	switch code(err) & 0xff {
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("sqlite: %w: %w", backend.ErrFull, err)
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY:
		return fmt.Errorf("sqlite: %w: %w", backend.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %w", err)
}

// code returns the SQLite result code of err, or 0.
func code(err error) int {
	var e *msqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isBusy(err error) bool {
	c := code(err) & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// retry runs f until it succeeds, fails with something other than
// SQLITE_BUSY, or ctx is done; between tries it sleeps with jittered
// exponential backoff (1 ms doubling up to 100 ms). An I/O error on a
// full disk comes back marked as ErrFull (see noSpace).
func (b *Backend) retry(ctx context.Context, f func() error) error {
	delay := time.Millisecond
	for {
		err := f()
		if err == nil || !isBusy(err) {
			return b.noSpace(err)
		}
		t := time.NewTimer(delay/2 + rand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// write runs f in one BEGIN IMMEDIATE transaction on the writer
// connection, retrying the whole transaction while the database is busy.
// A transaction that fails is rolled back, by database/sql or, for a
// failed COMMIT, by the driver, so the connection never stays inside a
// transaction; after one that found the disk full, the next write first
// checkpoints the write-ahead log (afterFull).
func (b *Backend) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	b.afterFull(ctx)
	err := b.retry(ctx, func() error {
		tx, err := b.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := f(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if isFull(err) {
		b.full.Store(true)
	}
	return err
}
