package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
)

// harness opens a Backend on a table of its own for each subtest, and
// carries the raw pgx baseline of the benchmarks.
var harness = backendtest.Harness{
	New: func(t testing.TB) backend.Backend {
		b, err := postgres.Open(context.Background(), newDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	},
	NewDSN: newDSN,
	Raw: &backendtest.Raw{
		Insert:       rawInsert,
		ListFields:   rawListFields,
		Index:        rawIndex,
		TopN:         rawTopN,
		AppendPoints: rawAppendPoints,
		ReadPoints:   rawReadPoints,
	},
}

func TestConformance(t *testing.T) {
	serverDSN(t)
	backendtest.RunConformanceTests(t, harness)
}

// The raw baseline: what a careful pgx user does with the adapter's
// tables, as fast as pgx allows.

func raw(b backend.Backend) *postgres.Backend { return b.(*postgres.Backend) }

// tableIdentifier splits a quoted, schema-qualified name ("s"."t").
func tableIdentifier(quoted string) pgx.Identifier {
	return strings.Split(strings.ReplaceAll(quoted, `"`, ""), ".")
}

// rawInsert copies the documents in with COPY.
func rawInsert(ctx context.Context, b backend.Backend, coll string, docs map[string]map[string]any) error {
	rows := make([][]any, 0, len(docs))
	for id, doc := range docs {
		data, err := docjson.Marshal(doc)
		if err != nil {
			return err
		}
		rows = append(rows, []any{coll, id, string(data)})
	}
	_, err := raw(b).Pool().CopyFrom(ctx, tableIdentifier(raw(b).Table()), []string{"collection", "id", "doc"}, pgx.CopyFromRows(rows))
	return err
}

// rawListFields selects the values at the paths and decodes them.
func rawListFields(ctx context.Context, b backend.Backend, coll string, fields [][]string) (int, error) {
	sql := "select id"
	args := []any{coll}
	for _, f := range fields {
		args = append(args, f)
		sql += ", doc #> $" + strconv.Itoa(len(args))
	}
	rows, err := raw(b).Pool().Query(ctx, sql+" from "+raw(b).Table()+" where collection = $1", args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		vals := rows.RawValues()
		doc := map[string]any{"id": string(vals[0])}
		for i := range fields {
			if vals[i+1] == nil {
				continue
			}
			v, err := docjson.UnmarshalValue(vals[i+1])
			if err != nil {
				return n, err
			}
			doc[fields[i][len(fields[i])-1]] = v
		}
		n++
	}
	return n, rows.Err()
}

// rawIndex creates the expression index a DBA would write for TopN.
func rawIndex(ctx context.Context, b backend.Backend, coll string, path []string) error {
	_, err := raw(b).Pool().Exec(ctx, "create index on "+raw(b).Table()+" (collection, "+rawKey(path)+")")
	return err
}

// rawTopN orders by that expression with a LIMIT.
func rawTopN(ctx context.Context, b backend.Backend, coll string, path []string, n int) ([]string, error) {
	// The limit as a constant lets the server keep a generic plan.
	rows, err := raw(b).Pool().Query(ctx, "select id from "+raw(b).Table()+" where collection = $1 and "+rawKey(path)+
		" is not null order by "+rawKey(path)+", id limit "+strconv.Itoa(n), coll)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// rawKey is the value at path as float8 (the benchmark's values are plain
// JSON numbers), with the path as a literal so that the index serves it.
func rawKey(path []string) string {
	lit := "'{"
	for i, k := range path {
		if i > 0 {
			lit += ","
		}
		lit += `"` + k + `"` // the benchmark's keys are plain words
	}
	return "((doc #> " + lit + "}')::float8)"
}

// rawAppendPoints inserts one row of arrays into the series table.
func rawAppendPoints(ctx context.Context, b backend.Backend, coll, id, name string, pts []backend.Point) error {
	steps := make([]int64, len(pts))
	vals := make([]float64, len(pts))
	times := make([]time.Time, len(pts))
	for i, p := range pts {
		steps[i], vals[i], times[i] = p.Step, p.Value, p.Time
	}
	_, err := raw(b).Pool().Exec(ctx, "insert into "+raw(b).SeriesTable()+" (collection, id, name, steps, vals, times) values ($1, $2, $3, $4, $5, $6)",
		coll, id, name, steps, vals, times)
	return err
}

// rawReadPoints reads the rows of the series table in order, one batch per row.
func rawReadPoints(ctx context.Context, b backend.Backend, coll, id, name string, each func([]backend.Point)) (int, error) {
	rows, err := raw(b).Pool().Query(ctx, "select steps, vals, times from "+raw(b).SeriesTable()+
		" where collection = $1 and id = $2 and name = $3 order by seq", coll, id, name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		steps []int64
		vals  []float64
		times []time.Time
		n     int
	)
	for rows.Next() {
		if err := rows.Scan(&steps, &vals, &times); err != nil {
			return n, err
		}
		pts := make([]backend.Point, len(steps))
		for i := range steps {
			pts[i] = backend.Point{Step: steps[i], Value: vals[i], Time: times[i].UTC()}
		}
		each(pts)
		n += len(pts)
	}
	return n, rows.Err()
}
