package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// DSN options (x- query parameters) understood by Open.
const (
	// OptTable names the records table; the series table is its name
	// followed by "_series".
	OptTable = "x-table"
	// OptSchema names the schema holding the tables; it is created if
	// missing. Empty means the connection's current schema.
	OptSchema = "x-schema"
)

// DefaultTable is the records table used when the DSN has no x-table.
const DefaultTable = "records"

// conflictCode is the SQLSTATE the merge function raises on a conflicting op.
const conflictCode = "RC001"

var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Deleter     = (*Backend)(nil)
	_ backend.Lister      = (*Backend)(nil)
	_ backend.Pinger      = (*Backend)(nil)
	_ backend.SeriesStore = (*Backend)(nil)
)

func init() {
	open := func(ctx context.Context, dsn string) (backend.Backend, error) { return Open(ctx, dsn) }
	backend.Register("postgres", open)
	backend.Register("postgresql", open)
}

// tableName limits x-table so that the series table's name (x-table +
// "_series") still fits PostgreSQL's 63-byte identifiers.
var (
	tableName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,55}$`)
	schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// Backend stores records in a PostgreSQL table as JSONB. It is safe for
// concurrent use. Create it with Open.
type Backend struct {
	pool   *pgxpool.Pool
	schema string
	table  string
	closed atomic.Bool

	// Quoted, schema-qualified names, ready to splice into SQL text.
	records string // the records table
	series  string // the series table
	merge   string // the merge function

	// SQL statements, built once from the names above.
	sqlInsert, sqlGet, sqlMerge, sqlDelete, sqlDrop string
	sqlCollections, sqlList, sqlListEq              string
	sqlSeriesInsert, sqlSeriesRead                  string
}

// Open connects to the PostgreSQL server named by dsn (postgres:// or
// postgresql://, x- options included), creates or migrates the tables, and
// returns the Backend. See the package documentation for the options.
func Open(ctx context.Context, dsn string) (*Backend, error) {
	native, opts, err := backend.SplitOptions(dsn, OptTable, OptSchema)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", backend.Redact(dsn), err)
	}
	table := DefaultTable
	if v, ok := opts[OptTable]; ok {
		table = v
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("postgres: open: %s=%q is not a table name (want [A-Za-z_][A-Za-z0-9_]{0,55}): %w", OptTable, table, backend.ErrInvalid)
	}
	schema := opts[OptSchema]
	if _, ok := opts[OptSchema]; ok && !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("postgres: open: %s=%q is not a schema name (want [A-Za-z_][A-Za-z0-9_]{0,62}): %w", OptSchema, schema, backend.ErrInvalid)
	}
	cfg, err := pgxpool.ParseConfig(native)
	if err != nil {
		return nil, redacted(dsn, fmt.Errorf("postgres: open %s: %w: %w", backend.Redact(dsn), backend.ErrInvalid, err))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redacted(dsn, fmt.Errorf("postgres: open %s: %w", backend.Redact(dsn), err))
	}
	b := &Backend{pool: pool, schema: schema, table: table}
	if err := b.migrate(ctx); err != nil {
		pool.Close()
		return nil, redacted(dsn, fmt.Errorf("postgres: open %s: %w", backend.Redact(dsn), err))
	}
	b.prepareSQL()
	return b, nil
}

// Table returns the schema-qualified, quoted name of the records table, as
// it can be written in SQL text.
func (b *Backend) Table() string { return b.records }

// SeriesTable returns the schema-qualified, quoted name of the series table.
func (b *Backend) SeriesTable() string { return b.series }

// Pool returns the connection pool, for SQL of one's own on the same
// server. Closing the Backend closes it.
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

func (b *Backend) prepareSQL() {
	b.sqlInsert = `insert into ` + b.records + ` (collection, id, doc) values ($1, $2, $3)`
	b.sqlGet = `select doc from ` + b.records + ` where collection = $1 and id = $2`
	b.sqlMerge = `update ` + b.records + ` set doc = ` + b.merge + `(doc, $3::jsonb), updated_at = now() where collection = $1 and id = $2`
	b.sqlDelete = `with r as (delete from ` + b.records + ` where collection = $1 and id = $2 returning 1),
		s as (delete from ` + b.series + ` where collection = $1 and id = $2)
		select count(*) from r`
	b.sqlDrop = `with r as (delete from ` + b.records + ` where collection = $1),
		s as (delete from ` + b.series + ` where collection = $1)
		select 1`
	// A loose index scan: one index probe per collection.
	b.sqlCollections = `with recursive c(collection) as (
		(select collection from ` + b.records + ` order by collection limit 1)
		union all
		select (select r.collection from ` + b.records + ` r where r.collection > c.collection order by r.collection limit 1)
		from c where c.collection is not null)
		select collection from c where collection is not null`
	b.sqlList = `select id, doc from ` + b.records + ` where collection = $1` // List adds the order
	b.sqlListEq = `select id, doc from ` + b.records + ` where collection = $1 and doc #> $2::text[] = to_jsonb($3::text)`
	b.sqlSeriesInsert = `insert into ` + b.series + ` (collection, id, name, steps, vals, times) values ($1, $2, $3, $4, $5, $6)`
	b.sqlSeriesRead = `select steps, vals, times from ` + b.series + ` where collection = $1 and id = $2 and name = $3 order by seq`
}

// Close closes the connection pool. Later calls of any method return
// ErrClosed.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return fmt.Errorf("postgres: close: %w", backend.ErrClosed)
	}
	b.pool.Close()
	return nil
}

func (b *Backend) checkOpen(op string) error {
	if b.closed.Load() {
		return fmt.Errorf("postgres: %s: %w", op, backend.ErrClosed)
	}
	return nil
}

// Ping checks that the server answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.checkOpen("ping"); err != nil {
		return err
	}
	return b.retryRead(ctx, func() error {
		if err := b.pool.Ping(ctx); err != nil {
			return b.fail("ping", err)
		}
		return nil
	})
}

// Insert stores a new document; ErrExists if (coll, id) is taken.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	if err := b.checkOpen("insert"); err != nil {
		return err
	}
	data, err := docjson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("postgres: insert %s/%s: %w: %w", coll, id, backend.ErrInvalid, err)
	}
	if _, err := b.pool.Exec(ctx, b.sqlInsert, coll, id, data); err != nil {
		return b.fail("insert "+coll+"/"+id, err)
	}
	return nil
}

// Get returns the document; ErrNotFound if absent.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	if err := b.checkOpen("get"); err != nil {
		return nil, err
	}
	var data []byte
	err := b.retryRead(ctx, func() error {
		if err := b.pool.QueryRow(ctx, b.sqlGet, coll, id).Scan(&data); err != nil {
			return b.fail("get "+coll+"/"+id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	doc, err := docjson.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("postgres: get %s/%s: %w", coll, id, err)
	}
	return doc, nil
}

// Merge applies ops to one document in one UPDATE statement, through the
// merge function the migration installs: all or none, under the row lock.
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	if err := b.checkOpen("merge"); err != nil {
		return err
	}
	data, err := encodeOps(ops)
	if err != nil {
		return fmt.Errorf("postgres: merge %s/%s: %w", coll, id, err)
	}
	tag, err := b.pool.Exec(ctx, b.sqlMerge, coll, id, data)
	if err != nil {
		return b.fail("merge "+coll+"/"+id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: merge %s/%s: %w", coll, id, backend.ErrNotFound)
	}
	return nil
}

// Delete removes one record and its series; ErrNotFound if absent.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	if err := b.checkOpen("delete"); err != nil {
		return err
	}
	var n int64
	if err := b.pool.QueryRow(ctx, b.sqlDelete, coll, id).Scan(&n); err != nil {
		return b.fail("delete "+coll+"/"+id, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: delete %s/%s: %w", coll, id, backend.ErrNotFound)
	}
	return nil
}

// Drop removes every record of coll and their series.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	if err := b.checkOpen("drop"); err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, b.sqlDrop, coll); err != nil {
		return b.fail("drop "+coll, err)
	}
	return nil
}

// fail classifies a driver error: no rows is ErrNotFound, a unique
// violation ErrExists, a merge conflict ErrInvalid, a size limit
// ErrTooLarge, a closed pool ErrClosed; the driver's error stays wrapped.
func (b *Backend) fail(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, backend.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return fmt.Errorf("postgres: %s: %w: %w", op, backend.ErrExists, err)
		case pgErr.Code == conflictCode:
			// The function's message says what conflicts; keep the
			// PgError reachable without repeating it in the text.
			return &conflictError{msg: fmt.Sprintf("postgres: %s: %s: %v", op, pgErr.Message, backend.ErrInvalid), pgErr: err}
		case pgErr.Code == "54000":
			return fmt.Errorf("postgres: %s: %w: %w", op, backend.ErrTooLarge, err)
		case pgErr.Code == "22P02", pgErr.Code == "22P05", pgErr.Code == "22021":
			return fmt.Errorf("postgres: %s: %w: %w", op, backend.ErrInvalid, err)
		case connLost(err):
			return fmt.Errorf("postgres: %s: connection to the server lost: %w", op, err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if b.closed.Load() {
		return fmt.Errorf("postgres: %s: %w: %w", op, backend.ErrClosed, err)
	}
	if connLost(err) {
		return fmt.Errorf("postgres: %s: connection to the server lost: %w", op, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// connLost reports whether err says the connection broke: the server shut
// down or restarted, or the network failed.
func connLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		strings.Contains(err.Error(), "conn closed")
}

// retryRead runs a read once more when its connection broke (the server
// restarted): reads are safe to repeat, and pgx dials a new connection.
func (b *Backend) retryRead(ctx context.Context, read func() error) error {
	err := read()
	if err == nil || ctx.Err() != nil || !connLost(err) || b.closed.Load() {
		return err
	}
	return read()
}

// conflictError is ErrInvalid for a merge conflict, wrapping the
// function's *pgconn.PgError.
type conflictError struct {
	msg   string
	pgErr error
}

func (e *conflictError) Error() string   { return e.msg }
func (e *conflictError) Unwrap() []error { return []error{backend.ErrInvalid, e.pgErr} }

// redactedError hides a password in the text of an error it wraps.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redacted makes sure err's text never shows the password of dsn.
func redacted(dsn string, err error) error {
	pw := password(dsn)
	if pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

// password extracts the password of a URL or key=value DSN.
func password(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err == nil {
		return cfg.Password
	}
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"); i >= 0 && j > i {
		if _, pw, ok := strings.Cut(dsn[i+3:j], ":"); ok {
			return pw
		}
	}
	return ""
}
