package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strings"

	"github.com/recordlab/go-record/internal/docjson"
)

// sortKey returns the SQL expression by which List orders records on
// path p, and false when a key of p cannot be written in a JSON path (see
// jsonPath). The expression maps each value to one SQLite value whose
// order (NULL < numbers < TEXT < BLOB, numbers compared exactly, TEXT and
// BLOB byte-wise) is backend.CompareAt's:
//
//	plain number                 the number, INTEGER or REAL
//	{"$float": "-Inf"|"+Inf"|"-0"}  -Inf, +Inf, 0.0 (-0 equals 0)
//	string                       TEXT
//	{"$time": 24 bytes}          the text as a BLOB (sorts chronologically)
//	{"$time": other} and {"$string": ...}  X'FF', after every time: the
//	                             exceptions, which List orders in Go
//	anything else                NULL: the values ranked last
//
// The path is a literal, not a parameter, so that an index on the
// expression (see Index) matches the queries that use it.
func sortKey(p []string) (string, bool) {
	path, ok := jsonPath(p)
	if !ok {
		return "", false
	}
	lit := func(suffix string) string {
		return "'" + strings.ReplaceAll(path+suffix, "'", "''") + "'"
	}
	v, f, t, s := lit(""), lit(`."`+docjson.TagFloat+`"`), lit(`."`+docjson.TagTime+`"`), lit(`."`+docjson.TagString+`"`)
	return `(CASE json_type(doc,` + v + `)` +
		` WHEN 'integer' THEN json_extract(doc,` + v + `)` +
		` WHEN 'real' THEN json_extract(doc,` + v + `)` +
		` WHEN 'text' THEN json_extract(doc,` + v + `)` +
		` WHEN 'object' THEN CASE json_extract(doc,` + f + `)` +
		` WHEN '-Inf' THEN -9e999 WHEN '+Inf' THEN 9e999 WHEN '-0' THEN 0.0` +
		` ELSE CASE WHEN json_type(doc,` + t + `)='text' THEN` +
		` CASE WHEN length(json_extract(doc,` + t + `))=24 THEN CAST(json_extract(doc,` + t + `) AS BLOB) ELSE X'FF' END` +
		` WHEN json_type(doc,` + s + `)='text' THEN X'FF' END END END)`, true
}

// keyExceptions is the sort key of the values List orders in Go.
const keyExceptions = `X'FF'`

// sortKeyVersion names the definition of sortKey; a new definition needs
// new indexes, so it changes their names.
const sortKeyVersion = "1"

// indexName names the index on the sort key of p: the table's name and a
// hash of the path and sortKeyVersion, so that every process derives the
// same name.
func (b *Backend) indexName(path string) string {
	sum := sha256.Sum256([]byte(sortKeyVersion + "\x00" + path))
	return b.table + "_ix_" + hex.EncodeToString(sum[:8])
}

// Index creates, if it does not exist, an index on (collection, the sort
// key of path, id), so that List ordered by path, with a Limit, reads
// only the records it returns, and conditions on path read only those in
// range. It covers every collection of the table. A path with a key that
// cannot be written in a JSON path (a '"', a '\' or a control character)
// gets no index: List orders it in Go.
func (b *Backend) Index(ctx context.Context, _ string, path []string) error {
	key, ok := sortKey(path)
	if !ok {
		return nil
	}
	p, _ := jsonPath(path)
	name := b.indexName(p)
	err := b.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS "`+name+`" ON "`+b.table+`" (collection, `+key+`, id)`)
		return err
	})
	if err != nil {
		return fail(err)
	}
	b.indexed.Store(name, struct{}{})
	return nil
}

// hasIndex reports whether the index on the sort key of path exists.
// Indexes, once seen, are remembered; an error reads as no index, which
// costs only speed.
func (b *Backend) hasIndex(ctx context.Context, path []string) bool {
	p, ok := jsonPath(path)
	if !ok {
		return false
	}
	name := b.indexName(p)
	if _, ok := b.indexed.Load(name); ok {
		return true
	}
	st, err := b.read(ctx, "index", func() string { return `SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?` })
	if err != nil {
		return false
	}
	var n int
	if err := st.QueryRowContext(ctx, name).Scan(&n); err != nil || n == 0 {
		return false
	}
	b.indexed.Store(name, struct{}{})
	return true
}
