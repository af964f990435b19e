package postgres_test

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/redact"
)

// TestInjectionKeys stores keys and values that would break SQL spliced
// into text; they are data, and the table survives.
func TestInjectionKeys(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	evil := []string{`'); drop table records; --`, `a"b`, `"; drop table ` + strings.Trim(b.Table(), `"`), `\`, `{a,b}`, `'`, `$1`, "naïve 🚀", `a'b"c\d`, `%s%d`, `{}`, `NULL`}
	doc := map[string]any{}
	for _, k := range evil {
		doc[k] = k
	}
	mustInsert(t, b, "c", "1", doc)
	var ops []backend.Op
	for _, k := range evil {
		ops = append(ops, backend.Op{Kind: backend.Set, Path: []string{"nested", k, k}, Value: k})
	}
	ops = append(ops, backend.Op{Kind: backend.Append, Path: []string{`a"b`, "x"}, Value: []any{`'); drop table records; --`}})
	err := b.Merge(ctx, "c", "1", ops)
	if !errors.Is(err, backend.ErrInvalid) {
		t.Fatalf("append under a string: got %v, want ErrInvalid", err)
	}
	if err := b.Merge(ctx, "c", "1", ops[:len(ops)-1]); err != nil {
		t.Fatal(err)
	}
	if err := b.Merge(ctx, "c", "1", []backend.Op{{Kind: backend.Unset, Path: []string{`'`}}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"nested": map[string]any{}}
	for _, k := range evil {
		doc[k] = k
		want[k] = k
		want["nested"].(map[string]any)[k] = map[string]any{k: k}
	}
	delete(want, `'`)
	if diff := cmp.Diff(want, mustGet(t, b, "c", "1")); diff != "" {
		t.Errorf("document with hostile keys (-want +got):\n%s", diff)
	}
	// The keys are stored as themselves: plain SQL finds them.
	for _, k := range evil {
		var got string
		if err := b.Pool().QueryRow(ctx, `select doc->'nested'->$1->>$1 from `+b.Table()+` where collection = 'c' and id = '1'`, k).Scan(&got); err != nil || got != k {
			t.Errorf("doc->'nested'->%q->>%[1]q = %q, %v", k, got, err)
		}
	}
	if err := b.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Pool().QueryRow(ctx, `select count(*) from `+b.Table()).Scan(&n); err != nil || n != 1 {
		t.Errorf("table after hostile keys: %d rows, %v", n, err)
	}
}

// TestNaturalJSONB: numbers are JSON numbers that PostgreSQL compares and
// casts, objects are objects, and ints and floats survive jsonb's numeric.
func TestNaturalJSONB(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	when := time.Date(2026, 11, 25, 10, 0, 0, 5e6, time.UTC)
	values := map[string]any{
		"learning_rate": 0.001,
		"epochs":        int64(10),
		"ten_float":     10.0,
		"big_float":     1e21,
		"tiny":          5e-324,
		"max":           math.MaxFloat64,
		"neg_max":       -math.MaxFloat64,
		"sum":           0.1 + 0.2,
		"max_int":       int64(math.MaxInt64),
		"min_int":       int64(math.MinInt64),
		"two53":         float64(1 << 53),
		"nan":           math.NaN(),
		"inf":           math.Inf(1),
		"ninf":          math.Inf(-1),
		"negzero":       math.Copysign(0, -1),
		"zero":          0.0,
		"izero":         int64(0),
		"when":          when,
		"nul":           "a\x00b",
		"metrics":       map[string]any{"loss": []any{0.7, 0.5}},
		"params":        map[string]any{"optimizer": "adam", "layers": int64(3)},
	}
	mustInsert(t, b, "runs", "r1", values)
	mustInsert(t, b, "runs", "r2", map[string]any{"learning_rate": 0.01, "params": map[string]any{"optimizer": "sgd"}})
	bits := cmp.Comparer(func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	if diff := cmp.Diff(values, mustGet(t, b, "runs", "r1"), bits); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// The example query of the documentation, as written.
	q := `select doc->>'learning_rate' from ` + b.Table() + ` where collection = $1 and (doc->'metrics'->'loss') is not null`
	rows, err := b.Pool().Query(ctx, q, "runs")
	if err != nil {
		t.Fatal(err)
	}
	lrs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(lrs) != 1 || lrs[0] != "0.001" {
		t.Errorf("%s = %q, %v; want [0.001]", q, lrs, err)
	}
	types := map[string]string{
		"learning_rate": "number", "epochs": "number", "max_int": "number", "params": "object",
		"metrics": "object", "nan": "object", "when": "object", "nul": "object",
	}
	for k, want := range types {
		var got string
		if err := b.Pool().QueryRow(ctx, `select jsonb_typeof(doc->$2) from `+b.Table()+` where collection = 'runs' and id = $1`, "r1", k).Scan(&got); err != nil || got != want {
			t.Errorf("jsonb_typeof(doc->%q) = %q, %v; want %s", k, got, err, want)
		}
	}
	// Numbers compare as numbers and cast to SQL types.
	var ids []string
	rows, err = b.Pool().Query(ctx, `select id from `+b.Table()+` where collection = $1 and (doc->>'learning_rate')::float8 < 0.005 and (doc->'params'->>'layers')::int = 3 and doc @> '{"params": {"optimizer": "adam"}}'`, "runs")
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(ids) != 1 || ids[0] != "r1" {
		t.Errorf("numeric filter = %v, %v; want [r1]", ids, err)
	}
	// The stored text of numbers: jsonb keeps 10.0 apart from 10 (its
	// numeric keeps the scale) but prints an exponent as plain digits, so
	// a float written as 1e21 would come back as an int; docjson never
	// writes exponents.
	var ten, exp, stored string
	if err := b.Pool().QueryRow(ctx, `select '10.0'::jsonb::text, '1e21'::jsonb::text`).Scan(&ten, &exp); err != nil {
		t.Fatal(err)
	}
	if ten != "10.0" || exp != "1000000000000000000000" {
		t.Errorf("'10.0'::jsonb = %s, '1e21'::jsonb = %s; the notes in the package doc assume 10.0 and 1000000000000000000000", ten, exp)
	}
	if err := b.Pool().QueryRow(ctx, `select doc->>'big_float' from `+b.Table()+` where id = 'r1'`).Scan(&stored); err != nil || stored != "1000000000000000000000.0" {
		t.Errorf("stored 1e21 = %s, %v; want 1000000000000000000000.0", stored, err)
	}
	// The suggested GIN index is accepted and used for containment.
	if _, err := b.Pool().Exec(ctx, `create index on `+b.Table()+` using gin (doc jsonb_path_ops)`); err != nil {
		t.Error(err)
	}
}

// TestSeriesSQL: the series table can be read with plain SQL.
func TestSeriesSQL(t *testing.T) {
	b := open(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := b.AppendSeries(ctx, "runs", "r1", "loss", []backend.Point{{Step: int64(2 * i), Value: float64(i) / 2, Time: t0}, {Step: int64(2*i + 1), Value: 1, Time: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	q := `select p.step, p.value from ` + b.SeriesTable() + ` s, unnest(s.steps, s.vals) as p(step, value)
		where s.collection = $1 and s.id = $2 and s.name = $3 order by s.seq, p.step`
	rows, err := b.Pool().Query(ctx, q, "runs", "r1", "loss")
	if err != nil {
		t.Fatal(err)
	}
	type point struct {
		Step  int64
		Value float64
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[point])
	if err != nil {
		t.Fatal(err)
	}
	want := []point{{0, 0}, {1, 1}, {2, 0.5}, {3, 1}, {4, 1}, {5, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", q, diff)
	}
}

// TestPasswordNeverInErrors opens with wrong passwords and bad DSNs and
// checks that no error text shows the password.
func TestPasswordNeverInErrors(t *testing.T) {
	dsn := serverDSN(t)
	ctx := t.Context()
	const secret = "Sup3rS3cretPw"
	const role = "record_pw_test"
	// A role that must log in with a password (scripts/services/postgres.sh
	// requires one for this role; a server that trusts it accepts any
	// password, and then only the other cases check).
	if _, err := server.admin.Exec(ctx, `do $$ begin
		if not exists (select from pg_roles where rolname = '`+role+`') then
			create role `+role+` login password 'right-password';
		end if; end $$`); err != nil {
		t.Fatal(err)
	}
	u, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host + ":" + strconv.Itoa(int(u.Port))
	cases := []string{
		"postgres://" + role + ":" + secret + "@" + host + "/" + u.Database + "?sslmode=disable",
		"postgres://" + role + ":" + secret + "@" + host + "/no_such_database_x?sslmode=disable",
		"postgres://" + role + ":" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://" + role + ":" + secret + "@" + host + "/db?sslmode=bogus",
		"postgres://" + role + ":" + secret + "@" + host + "/db?x-table=bad-name",
		"postgres://" + role + ":" + secret + "@" + host + "/db?x-unknown=1",
		"postgres://" + role + ":" + secret + "@[::1/db",
		"postgresql://" + role + ":" + secret + "@" + host + "/db?pool_max_conns=abc",
	}
	for _, c := range cases {
		b, err := backend.Open(ctx, c)
		if err == nil {
			t.Logf("%s: opened (the server trusts this connection)", redact.DSN(c))
			b.Close()
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
		t.Logf("%v", err)
	}
}
