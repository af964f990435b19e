package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// Collections returns the names of the collections that hold a record,
// sorted byte-wise.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	if err := b.checkOpen("collections"); err != nil {
		return nil, err
	}
	var names []string
	err := b.retryRead(ctx, func() error {
		rows, err := b.pool.Query(ctx, b.sqlCollections)
		if err != nil {
			return b.fail("collections", err)
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return b.fail("collections", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}

// List returns the records of coll that match q, sorted by id. The first
// condition that compares a path with a string for equality (Eq with a
// string without NUL) is evaluated by the server; every condition is then
// checked with backend.Match, whose answer is the definition.
func (b *Backend) listSlice(ctx context.Context, coll string, q backend.Query) ([]backend.Item, error) {
	if err := b.checkOpen("list"); err != nil {
		return nil, err
	}
	sql, args := b.sqlList, []any{coll}
	for _, c := range q.Where {
		if s, ok := c.Value.(string); ok && c.Cmp == backend.Eq && !strings.ContainsRune(s, 0) {
			sql, args = b.sqlListEq, []any{coll, c.Path, s}
			break
		}
	}
	if q.After != "" {
		op := " > "
		if q.Desc {
			op = " < "
		}
		args = append(args, q.After)
		sql += " and id" + op + "$" + strconv.Itoa(len(args))
	}
	sql += " order by id"
	if q.Desc {
		sql += " desc"
	}
	if len(q.Where) == 0 && q.Limit > 0 {
		args = append(args, q.Limit)
		sql += " limit $" + strconv.Itoa(len(args))
	}
	var items []backend.Item
	err := b.retryRead(ctx, func() error {
		items = []backend.Item{}
		rows, err := b.pool.Query(ctx, sql, args...)
		if err != nil {
			return b.fail("list "+coll, err)
		}
		defer rows.Close()
		var (
			id   string
			data []byte
		)
		for rows.Next() {
			if err := rows.Scan(&id, &data); err != nil {
				return b.fail("list "+coll, err)
			}
			doc, err := docjson.Unmarshal(data)
			if err != nil {
				return b.fail("list "+coll+": record "+id, err)
			}
			if !backend.Match(doc, q.Where) {
				continue
			}
			items = append(items, backend.Item{ID: id, Doc: doc})
			if q.Limit > 0 && len(items) == q.Limit {
				break
			}
		}
		if err := rows.Err(); err != nil {
			return b.fail("list "+coll, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}
