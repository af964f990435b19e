package sqlite

import (
	"context"

	"github.com/recordlab/go-record/backend"
)

// SchemaVersion is the version of the layout the package creates.
const SchemaVersion = schemaVersion

// ListPlan returns SQLite's query plan of the query that yields most of
// what List(ctx, coll, q) yields, one line per step.
func ListPlan(ctx context.Context, b *Backend, coll string, q backend.Query) ([]string, error) {
	st := b.plan(ctx, coll, q).sql()
	text, args := st.text(), st.args
	// EXPLAIN does not notice a schema changed by another connection (the
	// index): a query that reads the schema first does.
	conn, err := b.r.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

// PushedLimit reports whether List(ctx, coll, q) applies q.Limit in SQL.
func PushedLimit(ctx context.Context, b *Backend, coll string, q backend.Query) bool {
	return b.plan(ctx, coll, q).limit > 0
}

// ListSQL returns the text of the query that yields most of what
// List(ctx, coll, q) yields.
func ListSQL(ctx context.Context, b *Backend, coll string, q backend.Query) string {
	return b.plan(ctx, coll, q).sql().text()
}
