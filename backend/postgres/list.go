package postgres

import (
	"context"
	"iter"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
)

// Collections returns the names of the collections that hold a record,
// sorted byte-wise.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	var names []string
	err := b.retryRead(ctx, func() error {
		rows, err := b.pool.Query(ctx, b.sqlCollections)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, err
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}

// List yields the records of coll in q's order, streaming them from one
// query (for OrderBy, one per group of ranks, each run only while the
// caller wants more; see valueAt.orderParts). Every condition of q.Where
// whose value is a number, string, bool, null or time is evaluated by the
// server exactly as backend.Match would (see condSQL); when all are,
// q.Limit becomes the query's LIMIT. With q.Fields, only those paths leave
// the server. The connection goes back to the pool when the caller stops.
func (b *Backend) List(ctx context.Context, coll string, q backend.Query) iter.Seq2[backend.Item, error] {
	return func(yield func(backend.Item, error) bool) {
		parts, fields := b.listSQL(coll, q)
		r := newReader(fields)
		n := 0 // items yielded, for the LIMIT of a second part
		for _, p := range parts {
			sql := p.sql
			if p.limited {
				if n >= q.Limit {
					return
				}
				// A constant, not a parameter: the server then keeps one
				// generic plan of the statement instead of planning it anew
				// for each call.
				sql += " limit " + strconv.Itoa(q.Limit-n)
			}
			stopped := false
			err := b.scan(ctx, sql, p.args, func(rows pgx.Rows) (bool, error) {
				it, err := r.item(rows)
				if err != nil {
					return false, err
				}
				n++
				stopped = !yield(it, nil)
				return !stopped, nil
			})
			if err != nil {
				yield(backend.Item{}, err)
				return
			}
			if stopped {
				return
			}
		}
	}
}

// listPart is one query of a List.
type listPart struct {
	sql     string
	args    []any
	limited bool // a LIMIT is to be added
}

// listSQL translates q into the queries List runs in turn, and returns the
// paths each row holds after its id (nil: the whole document).
func (b *Backend) listSQL(coll string, q backend.Query) ([]listPart, [][]string) {
	args := []any{coll}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	fields := projection(q.Fields)
	var sql strings.Builder
	sql.WriteString("select id")
	if fields == nil {
		// Top-level omissions only: #- on a deeper path would index into
		// an array on the way (or fail on a key there), which Lookup
		// never does; package record removes the deeper ones.
		doc := "doc"
		for _, o := range q.Omit {
			if len(o) == 1 {
				doc = "(" + doc + " - " + arg(o[0]) + "::text)"
			}
		}
		sql.WriteString(", " + doc)
	}
	for _, f := range fields {
		sql.WriteString(", ")
		sql.WriteString(member(f, func(k string) string { return arg(k) }))
	}
	sql.WriteString(" from " + b.records + " where collection = $1")
	exact := true
	for _, c := range q.Where {
		cond, ok := condSQL(c, arg)
		if !ok {
			exact = false // package record applies it
			continue
		}
		sql.WriteString(" and " + cond)
	}
	if q.After != "" {
		op := " > "
		if q.Desc {
			op = " < "
		}
		sql.WriteString(" and id" + op + arg(q.After))
	}
	base := sql.String()
	limited := exact && q.Limit > 0
	part := func(where, order string) listPart {
		return listPart{sql: base + where + " order by " + order, args: args, limited: limited}
	}
	switch {
	case q.OrderBy == nil && q.Desc:
		return []listPart{part("", "id desc")}, fields
	case q.OrderBy == nil:
		return []listPart{part("", "id")}, fields
	}
	where, orderBy := newValueAt(q.OrderBy).orderParts(q.Desc)
	parts := make([]listPart, len(where))
	for i := range parts {
		parts[i] = part(" and "+where[i], orderBy[i])
	}
	return parts, fields
}
