package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/recordlab/go-record/backend"
)

// schemaVersion is the version of the layout this package creates; it is
// stored in <table>_meta under the key schema_version.
const schemaVersion = 1

// seriesBatch is the number of points per multi-row INSERT.
const seriesBatch = 100

// queries holds the SQL text of every statement, with the table names
// formatted in once. Table names are the only text ever formatted into SQL;
// they were validated as identifiers.
type queries struct {
	create []string

	version string

	insert, get, update                         string
	deleteDoc, deleteDocPoints, deleteDocSeries string
	dropDocs, dropPoints, dropSeries            string
	collections                                 string

	upsertSeries, seriesID, readPoints string
	seriesNames                        string
	insertPoints                       string // seriesBatch rows
}

func newQueries(table string) queries {
	t := `"` + table + `"`
	s := `"` + table + `_series"`
	p := `"` + table + `_points"`
	m := `"` + table + `_meta"`
	var q queries
	q.create = []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
	collection TEXT NOT NULL,
	id TEXT NOT NULL,
	doc TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (collection, id)
)`,
		`CREATE TABLE IF NOT EXISTS ` + s + ` (
	sid INTEGER PRIMARY KEY,
	collection TEXT NOT NULL,
	id TEXT NOT NULL,
	name TEXT NOT NULL,
	n INTEGER NOT NULL,
	UNIQUE (collection, id, name)
)`,
		`CREATE TABLE IF NOT EXISTS ` + p + ` (
	sid INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	step INTEGER NOT NULL,
	value INTEGER NOT NULL,
	time INTEGER NOT NULL,
	PRIMARY KEY (sid, seq)
) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS ` + m + ` (
	key TEXT PRIMARY KEY,
	value ANY
)`,
		`INSERT INTO ` + m + ` (key, value) VALUES ('schema_version', ` + fmt.Sprint(schemaVersion) + `)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
	}
	q.version = `SELECT value FROM ` + m + ` WHERE key = 'schema_version'`

	q.insert = `INSERT INTO ` + t + ` (collection, id, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`
	q.get = `SELECT doc FROM ` + t + ` WHERE collection = ? AND id = ?`
	q.update = `UPDATE ` + t + ` SET doc = ?, updated_at = ? WHERE collection = ? AND id = ?`
	q.deleteDoc = `DELETE FROM ` + t + ` WHERE collection = ? AND id = ?`
	q.deleteDocPoints = `DELETE FROM ` + p + ` WHERE sid IN (SELECT sid FROM ` + s + ` WHERE collection = ? AND id = ?)`
	q.deleteDocSeries = `DELETE FROM ` + s + ` WHERE collection = ? AND id = ?`
	q.dropDocs = `DELETE FROM ` + t + ` WHERE collection = ?`
	q.dropPoints = `DELETE FROM ` + p + ` WHERE sid IN (SELECT sid FROM ` + s + ` WHERE collection = ?)`
	q.dropSeries = `DELETE FROM ` + s + ` WHERE collection = ?`
	q.collections = `SELECT DISTINCT collection FROM ` + t + ` ORDER BY collection`

	q.upsertSeries = `INSERT INTO ` + s + ` (collection, id, name, n) VALUES (?, ?, ?, ?)
	ON CONFLICT (collection, id, name) DO UPDATE SET n = n + excluded.n
	RETURNING sid, n`
	q.seriesID = `SELECT sid FROM ` + s + ` WHERE collection = ? AND id = ? AND name = ?`
	q.seriesNames = `SELECT name FROM ` + s + ` WHERE collection = ? AND id = ? AND n > 0 ORDER BY name`
	q.readPoints = `SELECT seq, step, value, time FROM ` + p + ` WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?`
	q.insertPoints = insertPointsSQL(p, seriesBatch)
	return q
}

// insertPointsSQL returns a multi-row INSERT of n points: series id,
// sequence number, step, value bits and time of each. Plain ? parameters:
// numbered ones (?NNN) make the driver's binding quadratic.
func insertPointsSQL(table string, n int) string {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO ` + table + ` (sid, seq, step, value, time) VALUES `)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?)")
	}
	return sb.String()
}

// migrate creates the tables, or checks their version, inside one
// BEGIN IMMEDIATE transaction, so that many processes opening a fresh file
// at once agree.
func (b *Backend) migrate(ctx context.Context) error {
	// Fast path: an up-to-date schema needs no write lock.
	var v int
	err := b.retry(ctx, func() (err error) {
		v, err = b.version(ctx, b.w)
		return err
	})
	if err == nil && v == schemaVersion {
		return nil
	}
	if b.noCreate {
		switch {
		case errors.Is(err, errNoSchema):
			return fmt.Errorf("no such store: database file %q has no table %s: %w", b.path, b.table, backend.ErrNotFound)
		case err == nil:
			return fmt.Errorf("table %s has schema version %d, this library reads version %d",
				b.table, v, schemaVersion)
		}
		return err
	}
	if err != nil && !errors.Is(err, errNoSchema) {
		return err
	}
	return b.write(ctx, func(tx *sql.Tx) error {
		v, err := b.version(ctx, tx)
		switch {
		case errors.Is(err, errNoSchema):
		case err != nil:
			return err
		case v == schemaVersion:
			return nil
		case v > schemaVersion:
			return fmt.Errorf("table %s has schema version %d, newer than this library's %d (upgrade the library)",
				b.table, v, schemaVersion)
		}
		// Version 1 is the first: nothing to migrate from yet.
		for _, stmt := range b.q.create {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
}

var errNoSchema = errors.New("no schema")

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (b *Backend) version(ctx context.Context, db queryRower) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, b.table+"_meta").Scan(&n)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errNoSchema
	}
	var v int
	if err := db.QueryRowContext(ctx, b.q.version).Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, errNoSchema
		}
		return 0, err
	}
	return v, nil
}
