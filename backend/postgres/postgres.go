package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/redact"
)

// DSN options (x- query parameters) understood by Open.
const (
	// OptionTable names the records table; the series table is its name
	// followed by "_series".
	OptionTable = "x-table"
	// OptionSchema names the schema holding the tables; it is created if
	// missing. Empty means the connection's current schema.
	OptionSchema = "x-schema"
)

// DefaultTable is the records table used when the DSN has no x-table.
const DefaultTable = "records"

// conflictCode is the SQLSTATE the merge function raises on a conflicting op.
const conflictCode = "RC001"

var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Deleter     = (*Backend)(nil)
	_ backend.Lister      = (*Backend)(nil)
	_ backend.Indexer     = (*Backend)(nil)
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
// concurrent use. Create it with Open; make no call after Close.
type Backend struct {
	pool   *pgxpool.Pool
	schema string
	table  string

	// Quoted, schema-qualified names, ready to splice into SQL text.
	records string // the records table
	series  string // the series table
	merge   string // the merge function

	// SQL statements, built once from the names above.
	sqlInsert, sqlGet, sqlMerge, sqlDelete, sqlDrop string
	sqlCollections, sqlSeriesRead                   string
	sqlSeriesNames                                  string
}

// Open connects to the PostgreSQL server named by dsn (postgres:// or
// postgresql://, x- options included), creates or migrates the tables, and
// returns the Backend. See the package documentation for the options. No
// error it returns shows the DSN's password.
func Open(ctx context.Context, dsn string) (*Backend, error) {
	b, err := open(ctx, dsn)
	if err != nil {
		return nil, redact.Error(err, redact.Secrets(dsn)...)
	}
	return b, nil
}

func open(ctx context.Context, dsn string) (*Backend, error) {
	native, opts, err := backend.SplitOptions(dsn, OptionTable, OptionSchema)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	table := DefaultTable
	if v, ok := opts[OptionTable]; ok {
		table = v
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("postgres: %s=%q is not a table name (want [A-Za-z_][A-Za-z0-9_]{0,55}): %w", OptionTable, table, backend.ErrInvalid)
	}
	schema := opts[OptionSchema]
	if _, ok := opts[OptionSchema]; ok && !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("postgres: %s=%q is not a schema name (want [A-Za-z_][A-Za-z0-9_]{0,62}): %w", OptionSchema, schema, backend.ErrInvalid)
	}
	cfg, err := pgxpool.ParseConfig(native)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w: %w", backend.ErrInvalid, err)
	}
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if err := registerArrays(ctx, conn); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, conn)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	b := &Backend{pool: pool, schema: schema, table: table}
	if err := b.migrate(ctx); err != nil {
		pool.Close()
		return nil, classify(err)
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
	b.sqlSeriesRead = `select seq, steps, vals, times from ` + b.series + `
		where collection = $1 and id = $2 and name = $3 and seq > $4 order by seq limit $5`
	// A loose index scan: one index probe per name.
	b.sqlSeriesNames = `with recursive n(name) as (
		(select name from ` + b.series + ` where collection = $1 and id = $2 order by name limit 1)
		union all
		select (select s.name from ` + b.series + ` s where s.collection = $1 and s.id = $2 and s.name > n.name order by s.name limit 1)
		from n where n.name is not null)
		select name from n where name is not null`
}

// Close closes the connection pool.
func (b *Backend) Close() error {
	b.pool.Close()
	return nil
}

// Ping checks that the server answers.
func (b *Backend) Ping(ctx context.Context) error {
	return b.retryRead(ctx, func() error { return b.pool.Ping(ctx) })
}

// Insert stores a new document; ErrExists if (coll, id) is taken.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	data, err := docjson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("postgres: %w: %w", backend.ErrInvalid, err)
	}
	_, err = b.pool.Exec(ctx, b.sqlInsert, coll, id, data)
	return classifyCtx(ctx, err)
}

// Get returns the document; ErrNotFound if absent.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	var data []byte
	err := b.retryRead(ctx, func() error { return b.pool.QueryRow(ctx, b.sqlGet, coll, id).Scan(&data) })
	if err != nil {
		return nil, err
	}
	return decodeDoc(data)
}

// Merge applies ops to one document in one UPDATE statement, through the
// merge function the migration installs: all or none, under the row lock.
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	data, err := encodeOps(ops)
	if err != nil {
		return fmt.Errorf("postgres: %w: %w", backend.ErrInvalid, err)
	}
	tag, err := b.pool.Exec(ctx, b.sqlMerge, coll, id, data)
	if err != nil {
		return classifyCtx(ctx, err)
	}
	if tag.RowsAffected() == 0 {
		return errNotFound
	}
	return nil
}

// Delete removes one record and its series; ErrNotFound if absent.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	var n int64
	if err := b.pool.QueryRow(ctx, b.sqlDelete, coll, id).Scan(&n); err != nil {
		return classifyCtx(ctx, err)
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// Drop removes every record of coll and their series.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	_, err := b.pool.Exec(ctx, b.sqlDrop, coll)
	return classifyCtx(ctx, err)
}

var errNotFound = fmt.Errorf("postgres: %w", backend.ErrNotFound)

// decodeDoc decodes a stored document.
func decodeDoc(data []byte) (map[string]any, error) {
	doc, err := docjson.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return doc, nil
}

// classify maps a driver error to the sentinels of package backend beside
// the driver's own error: no rows is ErrNotFound, a unique violation
// ErrExists, a merge conflict or bad input ErrInvalid, a size limit
// ErrTooLarge. Context errors pass through unchanged.
func classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("postgres: %w: %w", backend.ErrExists, err)
		case conflictCode, "22P02", "22P05", "22021":
			return fmt.Errorf("postgres: %w: %w", backend.ErrInvalid, err)
		case "54000":
			return fmt.Errorf("postgres: %w: %w", backend.ErrTooLarge, err)
		case "53100":
			return fmt.Errorf("postgres: %w: %w", backend.ErrFull, err)
		}
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("postgres: %w: %w", backend.ErrUnavailable, err)
	}
	if connLost(err) {
		return fmt.Errorf("postgres: connection to the server lost: %w: %w", backend.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// classifyCtx is classify for an error of a call made with ctx: a
// context error while ctx itself is not done is a timeout of the driver's
// own (connect_timeout, a dial that gave up), so the server did not
// answer: ErrUnavailable.
func classifyCtx(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return fmt.Errorf("postgres: %w: %w", backend.ErrUnavailable, err)
	}
	return classify(err)
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
// It returns the classified error.
func (b *Backend) retryRead(ctx context.Context, read func() error) error {
	err := read()
	if err != nil && ctx.Err() == nil && connLost(err) {
		err = read()
	}
	return classifyCtx(ctx, err)
}

// scan runs sql and calls row for each row until it returns false or an
// error, which scan returns as is; errors of the driver come classified.
// A connection lost before the first row is retried once.
func (b *Backend) scan(ctx context.Context, sql string, args []any, row func(pgx.Rows) (bool, error)) error {
	started, err, rowErr := b.scanOnce(ctx, sql, args, row)
	if err != nil && !started && ctx.Err() == nil && connLost(err) {
		started, err, rowErr = b.scanOnce(ctx, sql, args, row)
	}
	if rowErr != nil {
		return rowErr
	}
	return classifyCtx(ctx, err)
}

// scanOnce returns whether a row came, the driver's error and row's error.
func (b *Backend) scanOnce(ctx context.Context, sql string, args []any, row func(pgx.Rows) (bool, error)) (started bool, err, rowErr error) {
	rows, err := b.pool.Query(ctx, sql, args...)
	if err != nil {
		return false, err, nil
	}
	defer rows.Close()
	for rows.Next() {
		started = true
		more, err := row(rows)
		if err != nil || !more {
			return true, nil, err
		}
	}
	return started, rows.Err(), nil
}
