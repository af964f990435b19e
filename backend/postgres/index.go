package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Index creates, unless it exists, an expression index on the value at
// path for every collection of the table (PostgreSQL keeps them in one
// table), so that List with OrderBy on path and a Limit reads only the
// records it returns, and conditions on path with a number use it too. It
// holds the advisory lock of the migrations while it creates the index, so
// that several processes may call it at once; CREATE INDEX blocks writes
// to the table while it runs. The index is named after a hash of the table
// and the path (record_ix_...).
func (b *Backend) Index(ctx context.Context, coll string, path []string) error {
	name := indexName(b.table, path)
	qualified := pgx.Identifier{b.schema, name}.Sanitize()
	var valid bool
	err := b.retryRead(ctx, func() error {
		return b.pool.QueryRow(ctx, `select coalesce((select indisvalid from pg_index where indexrelid = to_regclass($1)), false)`,
			qualified).Scan(&valid)
	})
	if err != nil || valid {
		return err
	}
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return classify(err)
	}
	// An invalid index of that name (left by a CREATE INDEX CONCURRENTLY
	// that failed) would never be used: it is made anew.
	var invalid bool
	if err := tx.QueryRow(ctx, `select exists (select from pg_index where indexrelid = to_regclass($1) and not indisvalid)`,
		qualified).Scan(&invalid); err != nil {
		return classify(err)
	}
	if invalid {
		if _, err := tx.Exec(ctx, `drop index `+qualified); err != nil {
			return classify(err)
		}
	}
	sql := `create index if not exists ` + pgx.Identifier{name}.Sanitize() + ` on ` + b.records +
		` (` + newValueAt(path).indexColumns() + `)`
	if _, err := tx.Exec(ctx, sql); err != nil {
		return classify(err)
	}
	return classify(tx.Commit(ctx))
}

// indexName returns the name of the index on path of table: a hash, since
// keys may be long or hold any character.
func indexName(table string, path []string) string {
	sum := sha256.Sum256([]byte(table + "\x00" + strings.Join(path, "\x00")))
	return "record_ix_" + hex.EncodeToString(sum[:12])
}
