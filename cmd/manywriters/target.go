package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backend"
	_ "github.com/recordlab/go-record/backend/mongo"
	"github.com/recordlab/go-record/backend/postgres"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/record"
)

// target is one store that every configuration of a backend writes into:
// one SQLite file, one PostgreSQL schema, one Mongo database.
type target struct {
	name   string
	libDSN string
	raw    rawSpec
	store  *record.Store // the parent's own handle: schema creation, summaries, verify

	// count returns the stored points of each (run, metric) of a
	// collection, keyed by key(id, metric), counted with the raw driver.
	countFn func(ctx context.Context, coll string) (map[string]stored, error)
	drop    func(ctx context.Context) error
}

// stored is what is stored of one metric of one run: points, and distinct
// steps among them (fewer if a point was stored twice).
type stored struct{ n, distinct int64 }

func key(id, metric string) string { return id + "\x00" + metric }

func (t *target) count(ctx context.Context, coll string) (map[string]stored, error) {
	return t.countFn(ctx, coll)
}

// cleanup closes the parent's store and, unless keep, removes what the
// runs wrote.
func (t *target) cleanup(ctx context.Context, keep bool) {
	_ = t.store.Close(ctx)
	if !keep && t.drop != nil {
		_ = t.drop(ctx)
	}
}

// summaries reads each run's status and each metric's summary count
// through package record.
func (t *target) summaries(ctx context.Context, coll string, runs []runResult, metrics []string) (map[string]summary, error) {
	out := map[string]summary{}
	for _, r := range runs {
		snap, err := t.store.Get(ctx, coll, r.ID)
		if err != nil {
			return nil, err
		}
		ms, _ := snap.Map("metrics")
		for _, name := range metrics {
			s := summary{status: snap.Status()}
			if m, ok := ms[name].(map[string]any); ok {
				s.found = true
				switch n := m["count"].(type) {
				case int64:
					s.count = n
				case float64:
					s.count = int64(n)
				}
			}
			out[key(r.ID, name)] = s
		}
	}
	return out, nil
}

func openTarget(ctx context.Context, name string, o settings, tmp, tag string) (*target, error) {
	switch name {
	case "sqlite":
		return openSQLiteTarget(ctx, o, tmp)
	case "postgres":
		return openPostgresTarget(ctx, o, tag)
	case "mongo":
		return openMongoTarget(ctx, o, tag)
	}
	return nil, fmt.Errorf("unknown backend %q", name)
}

func openSQLiteTarget(ctx context.Context, o settings, tmp string) (*target, error) {
	path := o.sqlite
	if path == "" {
		path = filepath.Join(tmp, "manywriters.db")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	t := &target{name: "sqlite", libDSN: "sqlite://" + abs, raw: rawSpec{Path: abs, Records: "records"}}
	if t.store, err = record.Open(ctx, t.libDSN); err != nil {
		return nil, err
	}
	t.countFn = func(ctx context.Context, coll string) (map[string]stored, error) {
		db, err := sql.Open("sqlite", "file:"+abs+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return nil, err
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, `SELECT s.id, s.name, count(*), count(DISTINCT p.step)
	FROM records_series s JOIN records_points p ON p.sid = s.sid
	WHERE s.collection = ? GROUP BY s.sid`, coll)
		if err != nil {
			return nil, err
		}
		return scanCounts(rows)
	}
	return t, nil
}

func scanCounts(rows *sql.Rows) (map[string]stored, error) {
	defer rows.Close()
	out := map[string]stored{}
	for rows.Next() {
		var id, name string
		var s stored
		if err := rows.Scan(&id, &name, &s.n, &s.distinct); err != nil {
			return nil, err
		}
		out[key(id, name)] = s
	}
	return out, rows.Err()
}

func openPostgresTarget(ctx context.Context, o settings, tag string) (*target, error) {
	if o.postgres == "" {
		return nil, errors.New("no DSN: set -postgres or $RECORD_TEST_POSTGRES_DSN")
	}
	schema := "manywriters_" + tag
	libDSN, err := withQuery(o.postgres, postgres.OptionSchema, schema)
	if err != nil {
		return nil, err
	}
	t := &target{name: "postgres", libDSN: libDSN}
	if t.store, err = record.Open(ctx, libDSN); err != nil {
		return nil, err
	}
	var pg *postgres.Backend
	if !t.store.As(&pg) {
		_ = t.store.Close(ctx)
		return nil, errors.New("the store is not a PostgreSQL backend")
	}
	native, _, err := backend.SplitOptions(o.postgres)
	if err != nil {
		_ = t.store.Close(ctx)
		return nil, fmt.Errorf("-postgres: give a DSN without x- options: %w", err)
	}
	t.raw = rawSpec{URI: native, Records: pg.Table(), Series: pg.SeriesTable()}
	series := pg.SeriesTable()
	t.countFn = func(ctx context.Context, coll string) (map[string]stored, error) {
		conn, err := pgx.Connect(ctx, native)
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `select s.id, s.name, count(*), count(distinct p.step)
	from `+series+` s cross join lateral unnest(s.steps) as p(step)
	where s.collection = $1 group by s.id, s.name`, coll)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]stored{}
		for rows.Next() {
			var id, name string
			var s stored
			if err := rows.Scan(&id, &name, &s.n, &s.distinct); err != nil {
				return nil, err
			}
			out[key(id, name)] = s
		}
		return out, rows.Err()
	}
	t.drop = func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, native)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `drop schema `+pgx.Identifier{schema}.Sanitize()+` cascade`)
		return err
	}
	return t, nil
}

// withQuery returns dsn with the query parameter k=v added.
func withQuery(dsn, k, v string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("DSN is not a URL: %w", backend.ErrInvalid) // the text may hold a password
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func openMongoTarget(ctx context.Context, o settings, tag string) (*target, error) {
	if o.mongo == "" {
		return nil, errors.New("no DSN: set -mongo or $RECORD_TEST_MONGO_DSN")
	}
	db := "manywriters_" + tag
	u, err := url.Parse(o.mongo)
	if err != nil {
		return nil, fmt.Errorf("DSN is not a URL: %w", backend.ErrInvalid)
	}
	u.Path = "/" + db
	t := &target{name: "mongo", libDSN: u.String(), raw: rawSpec{URI: o.mongo, DB: db}}
	if t.store, err = record.Open(ctx, t.libDSN); err != nil {
		return nil, err
	}
	client, err := mongo.Connect(options.Client().ApplyURI(o.mongo))
	if err != nil {
		_ = t.store.Close(ctx)
		return nil, err
	}
	mdb := client.Database(db)
	t.countFn = func(ctx context.Context, coll string) (map[string]stored, error) {
		series := mdb.Collection("_series." + coll)
		// The raw writers' series have the index the adapter creates.
		cur, err := series.Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "record", Value: 1}, {Key: "name", Value: 1}, {Key: "steps", Value: 1}}))
		if err != nil {
			return nil, err
		}
		defer cur.Close(ctx)
		steps := map[string]map[int64]bool{}
		out := map[string]stored{}
		for cur.Next(ctx) {
			var b struct {
				Record any     `bson:"record"`
				Name   string  `bson:"name"`
				Steps  []int64 `bson:"steps"`
			}
			if err := cur.Decode(&b); err != nil {
				return nil, err
			}
			id := fmt.Sprint(b.Record)
			if oid, ok := b.Record.(bson.ObjectID); ok {
				id = oid.Hex()
			}
			k := key(id, b.Name)
			if steps[k] == nil {
				steps[k] = map[int64]bool{}
			}
			s := out[k]
			for _, st := range b.Steps {
				s.n++
				if !steps[k][st] {
					steps[k][st] = true
					s.distinct++
				}
			}
			out[k] = s
		}
		return out, cur.Err()
	}
	t.drop = func(ctx context.Context) error {
		defer client.Disconnect(ctx) //nolint:errcheck // best effort
		return mdb.Drop(ctx)
	}
	return t, nil
}

// prepare makes a raw collection's series the same layout as the
// adapter's: on Mongo, the index (record, name, seq) that the adapter
// creates on first use.
func (t *target) prepare(ctx context.Context, coll string) error {
	if t.name != "mongo" {
		return nil
	}
	client, err := mongo.Connect(options.Client().ApplyURI(t.raw.URI))
	if err != nil {
		return err
	}
	defer client.Disconnect(ctx) //nolint:errcheck // best effort
	_, err = client.Database(t.raw.DB).Collection("_series."+coll).Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "record", Value: 1}, {Key: "name", Value: 1}, {Key: "seq", Value: 1}},
	})
	return err
}
