package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/docops"
	sqlite3 "modernc.org/sqlite/lib"
)

// Insert stores a new document; ErrExists if (coll, id) is taken.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	text, err := docjson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("sqlite: insert %s/%s: %w: %w", coll, id, backend.ErrInvalid, err)
	}
	now := time.Now().UnixMilli()
	err = b.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, b.q.insert, coll, id, string(text), now, now)
		return classify(err)
	})
	return b.wrap(ctx, err, "insert %s/%s", coll, id)
}

// classify wraps the sentinel matching a native error beside it.
func classify(err error) error {
	switch code(err) {
	case 0:
		return err
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", backend.ErrExists, err)
	case sqlite3.SQLITE_TOOBIG:
		return fmt.Errorf("%w: %w", backend.ErrTooLarge, err)
	}
	return err
}

// Get returns the document; ErrNotFound if absent.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	if err := b.check(ctx); err != nil {
		return nil, b.wrap(ctx, err, "get %s/%s", coll, id)
	}
	var text []byte
	err := b.retry(ctx, func() error {
		return b.r.QueryRowContext(ctx, b.q.get, coll, id).Scan(&text)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: get %s/%s: %w", coll, id, backend.ErrNotFound)
	}
	if err != nil {
		return nil, b.wrap(ctx, classify(err), "get %s/%s", coll, id)
	}
	doc, err := docjson.Unmarshal(text)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s/%s: %w", coll, id, err)
	}
	return doc, nil
}

// Merge applies ops to the document inside one BEGIN IMMEDIATE
// transaction: it reads the document, applies the ops in Go and writes it
// back while holding the database's write lock, so concurrent Merges from
// goroutines or processes lose nothing. ErrNotFound if absent; an op that
// conflicts with the document is ErrInvalid and changes nothing.
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	err := b.write(ctx, func(tx *sql.Tx) error {
		var text []byte
		err := tx.QueryRowContext(ctx, b.q.get, coll, id).Scan(&text)
		if errors.Is(err, sql.ErrNoRows) {
			return backend.ErrNotFound
		}
		if err != nil {
			return err
		}
		doc, err := docjson.Unmarshal(text)
		if err != nil {
			return err
		}
		if err := docops.Apply(doc, ops); err != nil {
			return err
		}
		if text, err = docjson.Marshal(doc); err != nil {
			return fmt.Errorf("%w: %w", backend.ErrInvalid, err)
		}
		_, err = tx.ExecContext(ctx, b.q.update, string(text), time.Now().UnixMilli(), coll, id)
		return classify(err)
	})
	return b.wrap(ctx, err, "merge %s/%s", coll, id)
}

// Delete removes the document and its series; ErrNotFound if absent.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	var found bool
	err := b.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, b.q.deleteDoc, coll, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		found = n > 0
		// Points appended under an id that has no document go too.
		if _, err := tx.ExecContext(ctx, b.q.deleteDocPoints, coll, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, b.q.deleteDocSeries, coll, id)
		return err
	})
	if err == nil && !found {
		err = backend.ErrNotFound
	}
	return b.wrap(ctx, err, "delete %s/%s", coll, id)
}

// Drop removes the collection's documents and series. Dropping a missing
// collection is not an error.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	err := b.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{b.q.dropDocs, b.q.dropPoints, b.q.dropSeries} {
			if _, err := tx.ExecContext(ctx, q, coll); err != nil {
				return err
			}
		}
		return nil
	})
	return b.wrap(ctx, err, "drop %s", coll)
}

// Collections returns the names of the collections holding at least one
// record, sorted.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	if err := b.check(ctx); err != nil {
		return nil, b.wrap(ctx, err, "collections")
	}
	var names []string
	err := b.retry(ctx, func() error {
		names = []string{}
		rows, err := b.r.QueryContext(ctx, b.q.collections)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			names = append(names, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, b.wrap(ctx, err, "collections")
	}
	return names, nil
}

// List returns the records of coll matching q, by id ascending. Simple
// conditions become json_extract predicates that select a superset of the
// matches; backend.Match then decides, so the answer is Match's.
func (b *Backend) listSlice(ctx context.Context, coll string, q backend.Query) ([]backend.Item, error) {
	if err := b.check(ctx); err != nil {
		return nil, b.wrap(ctx, err, "list %s", coll)
	}
	where, args := pushdown(q.Where)
	args = append([]any{coll}, args...)
	order := ` ORDER BY id`
	if q.After != "" {
		if q.Desc {
			where += ` AND id < ?`
		} else {
			where += ` AND id > ?`
		}
		args = append(args, q.After)
	}
	if q.Desc {
		order += ` DESC`
	}
	query := b.q.list + where + order
	var items []backend.Item
	err := b.retry(ctx, func() error {
		items = []backend.Item{}
		rows, err := b.r.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var text []byte
			if err := rows.Scan(&id, &text); err != nil {
				return err
			}
			doc, err := docjson.Unmarshal(text)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if !backend.Match(doc, q.Where) {
				continue
			}
			items = append(items, backend.Item{ID: id, Doc: doc})
			if q.Limit > 0 && len(items) >= q.Limit {
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, b.wrap(ctx, err, "list %s", coll)
	}
	return items, nil
}
