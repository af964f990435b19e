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
// stored in <table>_meta under the key schema_version. Version 2 added
// <table>_blocks, the block summaries of the points (see rollup_blocks.go);
// version 3 stores the documents as SQLite's binary JSONB instead of JSON
// text (a BLOB column: read it with json(doc); json_extract(doc, ...) and
// doc -> ... work on either form).
const schemaVersion = 3

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

	// block summaries (rollup_blocks.go, rollup_read.go)
	blocksV2                                         []string // what version 2 added to version 1
	jsonbV3                                          string   // what version 3 changed in version 2
	upsertGroup, groupPoints                         string
	seriesN, groupSpans, groupsIn, stepsIn, rangePts string
	readRange                                        string
	allSeries, seriesPoints                          string
}

func newQueries(table string) queries {
	t := `"` + table + `"`
	s := `"` + table + `_series"`
	p := `"` + table + `_points"`
	m := `"` + table + `_meta"`
	bl := `"` + table + `_blocks"`
	var q queries
	// <table>_blocks holds, per group of groupSize consecutive points of a
	// series (by sequence number), the rollup block summaries of its
	// points, their count n and their smallest and greatest step lo, hi.
	// A rowid table (rows of about 1.4 KB stay on their page), with the
	// small columns in a covering index for listing a series' groups. The
	// trigger removes a series' groups with the series, whoever deletes it.
	q.blocksV2 = []string{
		`CREATE TABLE IF NOT EXISTS ` + bl + ` (
	sid INTEGER NOT NULL,
	grp INTEGER NOT NULL,
	n INTEGER NOT NULL,
	lo INTEGER NOT NULL,
	hi INTEGER NOT NULL,
	sums BLOB NOT NULL,
	UNIQUE (sid, grp)
)`,
		`CREATE INDEX IF NOT EXISTS "` + table + `_blocks_span" ON ` + bl + ` (sid, grp, n, lo, hi)`,
		`CREATE TRIGGER IF NOT EXISTS "` + table + `_series_blocks" AFTER DELETE ON ` + s + ` BEGIN
	DELETE FROM ` + bl + ` WHERE sid = old.sid;
END`,
	}
	q.create = []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
	collection TEXT NOT NULL,
	id TEXT NOT NULL,
	doc BLOB NOT NULL,
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
	}
	// Version 3 converts the documents stored as JSON text to JSONB. A
	// BLOB is stored as it is whatever the column's declared type, so a
	// version 2 table (doc TEXT) holds the blobs without being rebuilt.
	q.jsonbV3 = `UPDATE ` + t + ` SET doc = jsonb(doc) WHERE typeof(doc) = 'text'`
	q.create = append(q.create, q.blocksV2...)
	q.create = append(q.create, q.setVersion(m))
	q.version = `SELECT value FROM ` + m + ` WHERE key = 'schema_version'`

	q.insert = `INSERT INTO ` + t + ` (collection, id, doc, created_at, updated_at) VALUES (?, ?, jsonb(?), ?, ?)`
	q.get = `SELECT doc FROM ` + t + ` WHERE collection = ? AND id = ?`
	q.update = `UPDATE ` + t + ` SET doc = jsonb(?), updated_at = ? WHERE collection = ? AND id = ?`
	q.deleteDoc = `DELETE FROM ` + t + ` WHERE collection = ? AND id = ?`
	q.deleteDocPoints = `DELETE FROM ` + p + ` WHERE sid IN (SELECT sid FROM ` + s + ` WHERE collection = ? AND id = ?)`
	q.deleteDocSeries = `DELETE FROM ` + s + ` WHERE collection = ? AND id = ?`
	q.dropDocs = `DELETE FROM ` + t + ` WHERE collection = ?`
	q.dropPoints = `DELETE FROM ` + p + ` WHERE sid IN (SELECT sid FROM ` + s + ` WHERE collection = ?)`
	q.dropSeries = `DELETE FROM ` + s + ` WHERE collection = ?`
	q.collections = `SELECT DISTINCT collection FROM ` + t + ` ORDER BY collection`

	// upsertSeries reserves ?4 sequence numbers and returns the series id,
	// its new length and, when the reserved numbers start inside a group,
	// that group's block summaries (or NULL), for appendBlocks to merge into.
	q.upsertSeries = `INSERT INTO ` + s + ` (collection, id, name, n) VALUES (?1, ?2, ?3, ?4)
	ON CONFLICT (collection, id, name) DO UPDATE SET n = n + excluded.n
	RETURNING sid, n, (SELECT b.sums FROM ` + bl + ` AS b WHERE b.sid = ` + s + `.sid
		AND b.grp = (` + s + `.n - ?4) / ` + fmt.Sprint(groupSize) + ` AND (` + s + `.n - ?4) % ` + fmt.Sprint(groupSize) + ` != 0)`
	q.seriesID = `SELECT sid FROM ` + s + ` WHERE collection = ? AND id = ? AND name = ?`
	q.seriesNames = `SELECT name FROM ` + s + ` WHERE collection = ? AND id = ? AND n > 0 ORDER BY name`
	q.readPoints = `SELECT seq, step, value, time FROM ` + p + ` WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?`
	q.insertPoints = insertPointsSQL(p, seriesBatch)

	q.upsertGroup = `INSERT INTO ` + bl + ` (sid, grp, n, lo, hi, sums) VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (sid, grp) DO UPDATE SET n = excluded.n, lo = excluded.lo, hi = excluded.hi, sums = excluded.sums`
	q.groupPoints = `SELECT seq, step, value, time FROM ` + p + ` WHERE sid = ? AND seq >= ? AND seq < ? ORDER BY seq`
	q.seriesN = `SELECT sid, n FROM ` + s + ` WHERE collection = ? AND id = ? AND name = ?`
	q.groupSpans = `SELECT grp, n, lo, hi FROM ` + bl + ` WHERE sid = ? ORDER BY grp`
	q.groupsIn = `SELECT grp, n, sums FROM ` + bl + ` WHERE sid = ? AND hi >= ? AND lo <= ? ORDER BY grp`
	q.stepsIn = `SELECT min(step), max(step) FROM ` + p + ` WHERE sid = ? AND seq >= ? AND seq < ?`
	q.rangePts = `WITH r (a, z) AS MATERIALIZED (SELECT value ->> 0, value ->> 1 FROM json_each(?))
	SELECT p.step, p.value, p.time FROM r CROSS JOIN ` + p + ` AS p
	WHERE p.sid = ? AND p.seq >= r.a AND p.seq < r.z`
	q.readRange = `SELECT seq, step, value, time FROM ` + p + `
	WHERE sid = ? AND seq > ? AND seq < ? AND step >= ? AND step <= ? ORDER BY seq LIMIT ?`
	q.allSeries = `SELECT sid FROM ` + s + ` ORDER BY sid`
	q.seriesPoints = `SELECT seq, step, value, time FROM ` + p + ` WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?`
	return q
}

// setVersion is the statement that records schemaVersion in the meta table m.
func (queries) setVersion(m string) string {
	return `INSERT INTO ` + m + ` (key, value) VALUES ('schema_version', ` + fmt.Sprint(schemaVersion) + `)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value`
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

// migrate creates the tables, or checks their version and migrates an
// older layout, inside one BEGIN IMMEDIATE transaction, so that many
// processes opening a file at once agree: the first migrates, the others
// find the new version. With x-create=false nothing is created, but an
// existing store of an older version is migrated like any other (it is a
// store already; reading it needs the new layout).
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
	if err != nil && !errors.Is(err, errNoSchema) {
		return err
	}
	if b.noCreate && errors.Is(err, errNoSchema) {
		return b.noStore()
	}
	if err == nil && v > schemaVersion {
		return b.tooNew(v)
	}
	return b.write(ctx, func(tx *sql.Tx) error {
		v, err := b.version(ctx, tx)
		switch {
		case errors.Is(err, errNoSchema) && b.noCreate:
			return b.noStore()
		case errors.Is(err, errNoSchema):
			for _, stmt := range b.q.create {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			return nil
		case err != nil:
			return err
		case v == schemaVersion:
			return nil
		case v > schemaVersion:
			return b.tooNew(v)
		case v == 1 || v == 2:
			return b.migrateFrom(ctx, tx, v)
		}
		return fmt.Errorf("table %s has schema version %d, which this library cannot migrate", b.table, v)
	})
}

func (b *Backend) noStore() error {
	return fmt.Errorf("no such store: database file %q has no table %s: %w", b.path, b.table, backend.ErrNotFound)
}

func (b *Backend) tooNew(v int) error {
	return fmt.Errorf("table %s has schema version %d, newer than this library's %d (upgrade the library)",
		b.table, v, schemaVersion)
}

// migrateFrom brings a store of version v up to schemaVersion inside the
// migration's transaction, one version at a time: from 1, the blocks
// table, filled with the block summaries of every stored series
// (backfill); from 2, the documents converted to JSONB; then the new
// version.
func (b *Backend) migrateFrom(ctx context.Context, tx *sql.Tx, v int) error {
	if v < 2 {
		for _, stmt := range b.q.blocksV2 {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		if err := b.backfill(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, b.q.jsonbV3); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, b.q.setVersion(`"`+b.table+`_meta"`))
	return err
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
