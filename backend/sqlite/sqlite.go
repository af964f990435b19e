package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/recordlab/go-record/backend"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func init() { backend.Register("sqlite", Open) }

// Compile-time checks of the interfaces Backend implements.
var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Deleter     = (*Backend)(nil)
	_ backend.Lister      = (*Backend)(nil)
	_ backend.Pinger      = (*Backend)(nil)
	_ backend.SeriesStore = (*Backend)(nil)
)

// OptionTable is the DSN option naming the documents table.
const OptionTable = "x-table"

// DefaultTable is the documents table used when the DSN has no x-table.
const DefaultTable = "records"

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
	w      *sql.DB // the one writer connection, transactions BEGIN IMMEDIATE
	r      *sql.DB // read-only pool
	q      queries
	ins    *sql.Stmt // prepared on w: insert seriesBatch points
	upsert *sql.Stmt // prepared on w: reserve sequence numbers of a series
	closed atomic.Bool
	path   string
	table  string
}

// Open opens (creating if needed) the SQLite database named by dsn, see the
// package documentation for its form, and creates or migrates the schema.
func Open(ctx context.Context, dsn string) (backend.Backend, error) {
	b, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return b, nil
}

type config struct {
	path   string
	table  string
	native url.Values // query parameters for the driver
}

func parseDSN(dsn string) (config, error) {
	var c config
	native, opts, err := backend.SplitOptions(dsn, OptionTable)
	if err != nil {
		return c, fmt.Errorf("sqlite: open %s: %w", backend.Redact(dsn), err)
	}
	scheme, rest, ok := strings.Cut(native, ":")
	if !ok || !strings.EqualFold(scheme, "sqlite") {
		return c, fmt.Errorf("sqlite: open %s: scheme is not sqlite: %w", backend.Redact(dsn), backend.ErrInvalid)
	}
	rest = strings.TrimPrefix(rest, "//")
	rawPath, rawQuery, _ := strings.Cut(rest, "?")
	if i := strings.IndexByte(rawQuery, '#'); i >= 0 {
		rawQuery = rawQuery[:i]
	}
	if c.path, err = url.PathUnescape(rawPath); err != nil {
		return c, fmt.Errorf("sqlite: open %s: bad path: %w: %w", backend.Redact(dsn), backend.ErrInvalid, err)
	}
	if c.path == "" || strings.HasPrefix(c.path, ":memory:") || strings.HasPrefix(c.path, "file:") {
		return c, fmt.Errorf("sqlite: open %s: want sqlite://FILE or sqlite:///ABS/FILE: %w", backend.Redact(dsn), backend.ErrInvalid)
	}
	if c.native, err = url.ParseQuery(rawQuery); err != nil {
		return c, fmt.Errorf("sqlite: open %s: bad query: %w: %w", backend.Redact(dsn), backend.ErrInvalid, err)
	}
	for _, k := range []string{"_txlock", "_query_only", "_journal_mode", "_journal", "mode", "vfs"} {
		if c.native.Has(k) {
			return c, fmt.Errorf("sqlite: open %s: parameter %s is set by the adapter: %w", backend.Redact(dsn), k, backend.ErrInvalid)
		}
	}
	c.table = DefaultTable
	if t, ok := opts[OptionTable]; ok {
		if !tableName.MatchString(t) || strings.HasPrefix(strings.ToLower(t), "sqlite_") {
			return c, fmt.Errorf("sqlite: open %s: %s=%q is not an SQL identifier [A-Za-z_][A-Za-z0-9_]{0,62} (not starting with sqlite_): %w",
				backend.Redact(dsn), OptionTable, t, backend.ErrInvalid)
		}
		for _, suffix := range []string{"_series", "_points", "_meta"} {
			if strings.HasSuffix(strings.ToLower(t), suffix) {
				return c, fmt.Errorf("sqlite: open %s: %s=%q ends with %s, which would collide with another table's %s table: %w",
					backend.Redact(dsn), OptionTable, t, suffix, suffix, backend.ErrInvalid)
			}
		}
		c.table = t
	}
	return c, nil
}

// driverDSN is the DSN handed to modernc.org/sqlite: the path, the adapter's
// pragmas, then the user's own parameters.
func (c config) driverDSN(writer bool) string {
	q := url.Values{}
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
	return c.path + "?" + q.Encode()
}

func open(ctx context.Context, dsn string) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	b := &Backend{path: c.path, table: c.table, q: newQueries(c.table)}
	fail := func(err error) (*Backend, error) {
		for _, st := range []*sql.Stmt{b.ins, b.upsert} {
			if st != nil {
				st.Close()
			}
		}
		if b.w != nil {
			b.w.Close()
		}
		if b.r != nil {
			b.r.Close()
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("sqlite: open %s: %w", backend.Redact(dsn), err)
	}
	if b.w, err = sql.Open("sqlite", c.driverDSN(true)); err != nil {
		return fail(err)
	}
	b.w.SetMaxOpenConns(1)
	b.w.SetMaxIdleConns(1)
	b.w.SetConnMaxLifetime(0)
	b.w.SetConnMaxIdleTime(0)
	if err := b.retry(ctx, func() error {
		var mode string
		if err := b.w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			return err
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("journal_mode is %s, not wal", mode)
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	if err := b.migrate(ctx); err != nil {
		return fail(err)
	}
	if b.ins, err = b.w.PrepareContext(ctx, b.q.insertPoints); err != nil {
		return fail(err)
	}
	if b.upsert, err = b.w.PrepareContext(ctx, b.q.upsertSeries); err != nil {
		return fail(err)
	}
	if b.r, err = sql.Open("sqlite", c.driverDSN(false)); err != nil {
		return fail(err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	b.r.SetMaxOpenConns(n)
	b.r.SetMaxIdleConns(n)
	if err := b.retry(ctx, func() error { return b.r.PingContext(ctx) }); err != nil {
		return fail(err)
	}
	return b, nil
}

// Close closes the database. Later calls return an error wrapping
// backend.ErrClosed; so does a second Close.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return fmt.Errorf("sqlite: close: %w", backend.ErrClosed)
	}
	err := errors.Join(b.ins.Close(), b.upsert.Close(), b.r.Close(), b.w.Close())
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Ping checks that the database file can be read.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return b.wrap(ctx, err, "ping")
	}
	err := b.retry(ctx, func() error {
		var one int
		return b.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	})
	return b.wrap(ctx, err, "ping")
}

// check reports a closed backend or a done context before any work.
func (b *Backend) check(ctx context.Context) error {
	if b.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// wrap turns err into the adapter's error: nil stays nil, context errors
// pass through unchanged, failures after Close wrap ErrClosed, everything
// else gets the "sqlite: what:" prefix.
func (b *Backend) wrap(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !isClassified(err) {
		return cerr
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	what := fmt.Sprintf(format, args...)
	if b.closed.Load() && !errors.Is(err, backend.ErrClosed) {
		return fmt.Errorf("sqlite: %s: %w: %w", what, backend.ErrClosed, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

func isClassified(err error) bool {
	for _, s := range []error{backend.ErrNotFound, backend.ErrExists, backend.ErrInvalid, backend.ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
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
// exponential backoff (1 ms doubling up to 100 ms).
func (b *Backend) retry(ctx context.Context, f func() error) error {
	delay := time.Millisecond
	for {
		err := f()
		if err == nil || !isBusy(err) {
			return err
		}
		if b.closed.Load() {
			return err
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
func (b *Backend) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	return b.retry(ctx, func() error {
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
}
