package postgres

import (
	"strconv"

	"github.com/recordlab/go-record/backend"
)

// ListSQL returns the SQL and the arguments of each query that List may
// run for q, for EXPLAIN in tests.
func (b *Backend) ListSQL(coll string, q backend.Query) (sqls []string, args [][]any) {
	parts, _ := b.listSQL(coll, q)
	for _, p := range parts {
		sql := p.sql
		if p.limited {
			sql += " limit " + strconv.Itoa(q.Limit)
		}
		sqls, args = append(sqls, sql), append(args, p.args)
	}
	return sqls, args
}

// IndexName returns the name Index gives the index on path.
func (b *Backend) IndexName(path []string) string { return indexName(b.table, path) }

// SchemaVersion is the version migrate brings a table to.
var SchemaVersion = len(migrations)
