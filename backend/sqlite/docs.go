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
)

// Insert stores a new document with one prepared INSERT, committed by
// itself; ErrExists if (coll, id) is taken.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	text, err := docjson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("sqlite: %w: %w", backend.ErrInvalid, err)
	}
	now := time.Now().UnixMilli()
	_, err = b.execWrite(ctx, "write: insert", func() string { return b.q.insert }, false, coll, id, string(text), now, now)
	return fail(err)
}

// Get returns the document; ErrNotFound if absent.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	var text []byte
	err := b.retry(ctx, func() error {
		return b.r.QueryRowContext(ctx, b.q.get, coll, id).Scan(&text)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fail(err)
	}
	doc, err := docjson.UnmarshalStored(text)
	return doc, fail(err)
}

var errNotFound = fmt.Errorf("sqlite: %w", backend.ErrNotFound)

// Merge applies ops to the document in one UPDATE statement that edits
// the stored JSON in SQL (see mergeSQL), which is atomic by itself: SQLite
// holds the database's write lock for the statement, so concurrent Merges
// from goroutines or processes lose nothing. When that statement changes
// nothing (the record is absent, or an op conflicts with the document),
// or the ops do not fit one statement, the Merge runs in Go instead
// (mergeGo), which reports ErrNotFound, or ErrInvalid naming the path and
// changing nothing.
func (b *Backend) Merge(ctx context.Context, coll, id string, ops []backend.Op) error {
	done, err := b.mergeSQL(ctx, coll, id, ops)
	if err != nil || done {
		return fail(err)
	}
	return b.mergeGo(ctx, coll, id, ops)
}

// mergeGo applies ops inside one BEGIN IMMEDIATE transaction: it reads the
// document, applies the ops in Go and writes it back while holding the
// database's write lock. ErrNotFound if absent; an op that conflicts with
// the document is ErrInvalid and changes nothing.
func (b *Backend) mergeGo(ctx context.Context, coll, id string, ops []backend.Op) error {
	err := b.write(ctx, func(tx *sql.Tx) error {
		doc, err := b.getTx(ctx, tx, coll, id)
		if err != nil {
			return err
		}
		return b.putTx(ctx, tx, coll, id, doc, ops)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	return fail(err)
}

// getTx reads and decodes the document inside tx; sql.ErrNoRows if absent.
func (b *Backend) getTx(ctx context.Context, tx *sql.Tx, coll, id string) (map[string]any, error) {
	var text []byte
	if err := tx.QueryRowContext(ctx, b.q.get, coll, id).Scan(&text); err != nil {
		return nil, err
	}
	return docjson.UnmarshalStored(text)
}

// putTx applies ops to doc, which getTx read inside the same tx, and
// writes it back: an op that conflicts with doc is ErrInvalid (the caller
// rolls back).
func (b *Backend) putTx(ctx context.Context, tx *sql.Tx, coll, id string, doc map[string]any, ops []backend.Op) error {
	if err := docops.Apply(doc, ops); err != nil {
		return err
	}
	text, err := docjson.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%w: %w", backend.ErrInvalid, err)
	}
	_, err = tx.ExecContext(ctx, b.q.update, string(text), time.Now().UnixMilli(), coll, id)
	return err
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
		return errNotFound
	}
	return fail(err)
}

// Drop removes the collection's documents and series. Dropping a missing
// collection is not an error.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	return fail(b.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{b.q.dropDocs, b.q.dropPoints, b.q.dropSeries} {
			if _, err := tx.ExecContext(ctx, q, coll); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Collections returns the names of the collections holding at least one
// record, sorted.
func (b *Backend) Collections(ctx context.Context) ([]string, error) {
	names, err := b.queryStrings(ctx, func() (*sql.Rows, error) {
		return b.r.QueryContext(ctx, b.q.collections)
	})
	if names == nil && err == nil {
		names = []string{}
	}
	return names, err
}

// queryStrings runs a read query whose rows are one string each, with the
// adapter's retries, and collects them; nil when there are none.
func (b *Backend) queryStrings(ctx context.Context, query func() (*sql.Rows, error)) ([]string, error) {
	var out []string
	err := b.retry(ctx, func() error {
		out = nil
		rows, err := query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fail(err)
	}
	return out, nil
}
