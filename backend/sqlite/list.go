package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// List implements backend.Lister. It streams rows from one or a few
// queries (see listing.run), pushing the conditions down as SQL (see
// pushdown), selecting only q.Fields when given, and ordering in SQL:
// by id, or by the sort key of q.OrderBy (see sortKey). The rare values
// SQL cannot order (strings holding NUL, times outside years 0 to 9999)
// are ordered in Go and merged in, and so is everything when a key of
// q.OrderBy cannot be written in a JSON path.
func (b *Backend) List(ctx context.Context, coll string, q backend.Query) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		l := b.plan(ctx, coll, q)
		for it, err := range l.run(ctx) {
			if err != nil {
				yield(backend.Item{}, fail(err))
				return
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}

// listing is the plan of one List call.
type listing struct {
	b      *Backend
	q      backend.Query
	cols   string     // the selected columns: id, doc, then keyColumn for keyed
	fields [][]string // nil: the second column is the whole document
	keyed  int        // the field read from the index (see keyColumn), or -1
	where  string     // the WHERE clause
	args   []any      // of cols and where
	limit  int        // LIMIT of each query, 0 for none
	path   string     // JSON path of q.OrderBy, "" when ordering in Go or by id
	index  bool       // whether an index on the sort key of q.OrderBy exists
}

func (b *Backend) plan(ctx context.Context, coll string, q backend.Query) *listing {
	l := &listing{b: b, q: q, cols: "id, doc", keyed: -1}
	var order bool // q.OrderBy can be ordered in SQL
	if q.OrderBy != nil {
		l.path, order = jsonPath(q.OrderBy)
		l.index = order && b.hasIndex(ctx, q.OrderBy)
	}
	if q.Fields != nil {
		fields := [][]string{}
		for _, f := range append(slices.Clip(q.Fields), q.OrderBy) { // merging in Go compares the values at OrderBy
			if f != nil && !slices.ContainsFunc(fields, func(g []string) bool { return slices.Equal(f, g) }) {
				fields = append(fields, f)
			}
		}
		// The fields are looked up in Go in the stored document (one
		// column, see decode), but for the sort key when its index
		// holds it (keyColumn).
		cols := "id, doc"
		var args []any
		for i, f := range fields {
			p, ok := jsonPath(f)
			if !ok {
				fields, l.keyed, args = nil, -1, nil
				break
			}
			if l.index && p == l.path {
				cols += ", " + keyColumn
				l.keyed = i
				args = append(args, p)
			}
		}
		if fields != nil {
			l.cols, l.fields, l.args = cols, fields, args
		}
	}
	if l.fields == nil && len(q.Omit) > 0 {
		// Leave the omitted paths in the database: jsonb_remove drops them
		// from the JSONB that is shipped and decoded.
		var paths []any
		for _, o := range q.Omit {
			if p, ok := jsonPath(o); ok {
				paths = append(paths, p)
			}
		}
		if len(paths) > 0 {
			l.cols = "id, jsonb_remove(doc" + strings.Repeat(", ?", len(paths)) + ")"
			l.args = append(l.args, paths...)
		}
	}
	frag, args, exact := pushdown(q.Where, func(p []string) (string, bool) {
		if !b.hasIndex(ctx, p) {
			return "", false
		}
		return sortKey(p)
	})
	l.where = "collection = ?" + frag
	l.args = append(append(l.args, coll), args...)
	if q.After != "" {
		if q.Desc {
			l.where += " AND id < ?"
		} else {
			l.where += " AND id > ?"
		}
		l.args = append(l.args, q.After)
	}
	if exact && (q.OrderBy == nil || order) {
		l.limit = q.Limit
	}
	return l
}

// run yields the records in q's order.
func (l *listing) run(ctx context.Context) iter.Seq2[backend.Item, error] {
	switch {
	case l.q.OrderBy == nil:
		return items(l.query(ctx, l.sql()))
	case l.path == "":
		return backend.SortItems(l.q, items(l.query(ctx, l.sql())))
	}
	return func(yield func(backend.Item, error) bool) {
		for limit := l.limit; ; limit = 0 {
			if l.mergeRows(ctx, l.sqlLimit(limit), !l.index && limit > 0, yield) {
				return
			}
			// Without an index, the exceptions took part of the LIMIT:
			// read everything.
		}
	}
}

// mergeRows yields the rows of a query that yields the exceptions first:
// it sorts them, then merges them into the rest, which is in order. It
// returns false, having yielded nothing, when the exceptions counted
// against the query's LIMIT (limited).
func (l *listing) mergeRows(ctx context.Context, st statement, limited bool, yield func(backend.Item, error) bool) bool {
	var exceptions []backend.Item
	merging := false
	start := func() bool {
		merging = true
		if limited && len(exceptions) > 0 {
			return false
		}
		slices.SortFunc(exceptions, func(a, b backend.Item) int {
			if backend.Less(l.q, a, b) {
				return -1
			}
			return 1
		})
		return true
	}
	for r, err := range l.query(ctx, st) {
		if err != nil {
			yield(backend.Item{}, err)
			return true
		}
		if r.exception {
			if merging {
				yield(backend.Item{}, errors.New("exception after the ordered rows"))
				return true
			}
			exceptions = append(exceptions, r.Item)
			continue
		}
		if !merging && !start() {
			return false
		}
		for len(exceptions) > 0 && backend.Less(l.q, exceptions[0], r.Item) {
			if !yield(exceptions[0], nil) {
				return true
			}
			exceptions = exceptions[1:]
		}
		if !yield(r.Item, nil) {
			return true
		}
	}
	if !merging && !start() {
		return false
	}
	for _, it := range exceptions {
		if !yield(it, nil) {
			break
		}
	}
	return true
}

// A statement is one query of a plan: its shape, which names it in the
// cache of prepared statements, its text, built when the cache misses,
// and its arguments.
type statement struct {
	shape string
	text  func() string
	args  []any
}

// sql returns the query of the plan:
//
//   - by id: one SELECT ordered by id;
//   - by a path SQL cannot name: one SELECT, sorted in Go;
//   - by the sort key, indexed: three index range scans in one statement,
//     the exceptions (flagged), the values SQL orders and the values
//     ranked last;
//   - by the sort key without an index: one SELECT that sorts the
//     exceptions (flagged) first, then the rest.
func (l *listing) sql() statement { return l.sqlLimit(l.limit) }

func (l *listing) sqlLimit(limit int) statement {
	var mode byte
	arms := 1
	switch {
	case l.q.OrderBy == nil:
		mode = 'i'
	case l.path == "":
		mode, limit = 'g', 0
	case l.index:
		mode, arms = 'x', 3
	default:
		mode = 's'
	}
	args := make([]any, 0, arms*(len(l.args)+1))
	for arm := range arms {
		args = append(args, l.args...)
		if limit > 0 && (mode != 'x' || arm > 0) {
			args = append(args, limit)
		}
	}
	shape := fmt.Sprintf("%c%t%t\x00%s\x00%s\x00%s", mode, l.q.Desc, limit > 0, l.path, l.cols, l.where)
	return statement{shape, func() string { return l.text(mode, limit) }, args}
}

// text returns the SQL of sqlLimit.
func (l *listing) text(mode byte, limit int) string {
	dir := ""
	if l.q.Desc {
		dir = " DESC"
	}
	key, _ := sortKey(l.q.OrderBy)
	switch mode {
	case 'i':
		return l.sel("", "", "id"+dir, limit)
	case 'g':
		return l.sel("", "", "", 0)
	case 'x':
		return l.sel("1", " AND "+key+" >= "+keyExceptions, "", 0) +
			" UNION ALL SELECT * FROM (" + l.sel("0", " AND "+key+" < "+keyExceptions, key+dir+", id"+dir, limit) + ")" +
			" UNION ALL SELECT * FROM (" + l.sel("0", " AND "+key+" IS NULL", "id"+dir, limit) + ")"
	}
	return l.sel(key+" >= "+keyExceptions, "", key+" IS NULL, "+key+" >= "+keyExceptions+" DESC, "+key+dir+", id"+dir, limit)
}

// keyColumn, in listing.cols, stands for the columns of the field at
// q.OrderBy when the query reads the index on its sort key: the key,
// which SQLite reads from the index, and, only when the key does not
// determine the value (NULL for the values ranked last, 0 for 0 and -0,
// the exceptions), the value from the document. Reading the value from
// the document costs parsing the whole document; an index scan that needs
// no other field then reads no document at all.
const keyColumn = "{key}"

// sel returns one SELECT of the plan's columns and flag (the exception
// flag column, or none), with more conditions, in order, up to limit
// rows when positive.
func (l *listing) sel(flag, more, order string, limit int) string {
	s := "SELECT " + l.cols
	if l.keyed >= 0 {
		key, _ := sortKey(l.q.OrderBy)
		s = strings.Replace(s, keyColumn, key+", CASE WHEN "+key+" IS NULL OR "+key+" = 0 OR "+key+" >= "+keyExceptions+" THEN doc -> ? END", 1)
	}
	if flag != "" {
		s += ", " + flag
	}
	s += ` FROM "` + l.b.table + `" WHERE ` + l.where + more
	if order != "" {
		s += " ORDER BY " + order
	}
	if limit > 0 {
		s += " LIMIT ?"
	}
	return s
}

// row is one listed record and whether its sort key is an exception.
type row struct {
	backend.Item
	exception bool
}

// query streams the rows of a query whose columns are the plan's and,
// when the query has one more, the exception flag. The cursor is closed
// when the consumer stops.
func (l *listing) query(ctx context.Context, s statement) iter.Seq2[row, error] {
	return func(yield func(row, error) bool) {
		var rows *sql.Rows
		err := l.b.retry(ctx, func() error {
			st, err := l.b.read(ctx, s.shape, s.text)
			if err != nil {
				return err
			}
			rows, err = st.QueryContext(ctx, s.args...)
			return err
		})
		if err != nil {
			yield(row{}, err)
			return
		}
		defer rows.Close()
		var id string
		var stored, keyRaw sql.RawBytes
		var key any
		var exception sql.NullBool
		dest := []any{&id, &stored}
		if l.keyed >= 0 {
			dest = append(dest, &key, &keyRaw)
		}
		if cols, err := rows.Columns(); err == nil && len(cols) > len(dest) {
			dest = append(dest, &exception)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				yield(row{}, err)
				return
			}
			doc, err := l.decode(stored, key, keyRaw)
			if err != nil {
				yield(row{}, err)
				return
			}
			if !yield(row{backend.Item{ID: id, Doc: doc}, exception.Bool}, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(row{}, err)
		}
	}
}

// decode returns the document of one row: the whole stored document, or
// the values of the fields that it has. key is the sort key of the keyed
// field from its index, keyRaw its JSON where the key is an exception.
func (l *listing) decode(stored []byte, key any, keyRaw []byte) (map[string]any, error) {
	if l.fields == nil {
		return docjson.UnmarshalStored(stored)
	}
	var whole map[string]any // a document stored as JSON text
	if !docjson.IsJSONBObject(stored) {
		var err error
		if whole, err = docjson.Unmarshal(stored); err != nil {
			return nil, err
		}
	}
	doc := map[string]any{}
	for i, f := range l.fields {
		var v any
		switch {
		case i == l.keyed && keyRaw != nil:
			var err error
			if v, err = docjson.UnmarshalValue(keyRaw); err != nil {
				return nil, err
			}
		case i == l.keyed && key != nil:
			var err error
			if v, err = keyValue(key); err != nil {
				return nil, err
			}
		case i == l.keyed:
			continue // missing
		case whole != nil:
			var ok bool
			if v, ok = backend.Lookup(whole, f); !ok {
				continue
			}
		default:
			elem, ok, err := docjson.LookupJSONB(stored, f)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if v, err = docjson.UnmarshalJSONBValue(elem); err != nil {
				return nil, err
			}
		}
		backend.SetAt(doc, f, v)
	}
	return doc, nil
}

// keyValue returns the value a sort key stands for, when it is neither
// NULL, 0 nor an exception (see sortKey).
func keyValue(key any) (any, error) {
	switch k := key.(type) {
	case int64, float64, string:
		return k, nil
	case []byte:
		t, err := time.Parse(docjson.TimeLayout, string(k))
		return t.UTC(), err
	}
	return nil, fmt.Errorf("sort key of type %T", key)
}

// items drops the exception flags of rows.
func items(rows iter.Seq2[row, error]) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		for r, err := range rows {
			if !yield(r.Item, err) || err != nil {
				return
			}
		}
	}
}
