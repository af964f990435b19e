package main

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// rawSpec says where the raw driver writes: the tables or collections
// that the library's adapter created, so that both write the same layout.
type rawSpec struct {
	URI     string `json:"uri"`     // postgres: pgx DSN without x- options; mongo: the URI
	Records string `json:"records"` // postgres: quoted, schema-qualified records table; sqlite: table name
	Series  string `json:"series"`  // postgres: quoted, schema-qualified series table
	Path    string `json:"path"`    // sqlite: the database file
	DB      string `json:"db"`      // mongo: the database
}

// The raw writers do what a user of the driver alone would do to store
// the same points in the same layout: insert a small record document,
// buffer each metric's points and write them in batches of the same size
// as the library's (one series row per batch on PostgreSQL; one
// transaction of 100-row INSERTs on SQLite; one bucket document on
// Mongo), write the partial batches on flush, and set the status to
// completed at the end. They keep no summary, no batch marks, no
// heartbeat: what the library does on top is what the ratio measures.

// rawPoint is one buffered point.
type rawPoint struct {
	step  int64
	value float64
	time  time.Time
}

// rawStore is one raw driver's writes.
type rawStore interface {
	insertRecord(ctx context.Context, coll, id string, now time.Time) error
	insertPoints(ctx context.Context, coll, id, name string, pts []rawPoint) error
	complete(ctx context.Context, coll, id string, now time.Time) error
	close(ctx context.Context) error
}

func openRaw(ctx context.Context, s spec) (writer, error) {
	var (
		st  rawStore
		err error
	)
	switch s.Backend {
	case "postgres":
		st, err = openRawPostgres(ctx, s.Raw)
	case "sqlite":
		st, err = openRawSQLite(ctx, s.Raw)
	case "mongo":
		st, err = openRawMongo(ctx, s.Raw)
	default:
		err = fmt.Errorf("unknown backend %q", s.Backend)
	}
	if err != nil {
		return nil, err
	}
	return &rawWriter{st: st, batch: s.Batch, metrics: s.Metrics}, nil
}

type rawWriter struct {
	st      rawStore
	batch   int
	metrics []string
	retries int // writes retried because the SQLite file was busy
}

func (w *rawWriter) create(ctx context.Context, coll string) (runHandle, error) {
	id := newID()
	if err := w.st.insertRecord(ctx, coll, id, now()); err != nil {
		return nil, err
	}
	return &rawRun{w: w, coll: coll, rid: id, bufs: make([][]rawPoint, len(w.metrics))}, nil
}

func (w *rawWriter) close(ctx context.Context) error { return w.st.close(ctx) }

type rawRun struct {
	w    *rawWriter
	coll string
	rid  string
	bufs [][]rawPoint
	err  error // the first failed write since the last flush
}

func (r *rawRun) id() string { return r.rid }

func (r *rawRun) log(step int64, vals []float64) {
	t := now()
	for i, v := range vals {
		if r.bufs[i] == nil {
			r.bufs[i] = make([]rawPoint, 0, r.w.batch)
		}
		r.bufs[i] = append(r.bufs[i], rawPoint{step: step, value: v, time: t})
		if len(r.bufs[i]) >= r.w.batch {
			r.write(context.Background(), i)
		}
	}
}

// write stores the buffered points of metric i and keeps the first error
// for flush. A write that fails because the SQLite file is busy is
// retried, as the adapter does (1 ms doubling to 100 ms, until the flush
// deadline): without that, 64 processes on one file see "database is
// locked" even with busy_timeout. Each retry counts as a "busy-retried"
// error in the report.
func (r *rawRun) write(ctx context.Context, i int) {
	pts := r.bufs[i]
	if len(pts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	delay := time.Millisecond
	var err error
	for {
		err = r.w.st.insertPoints(ctx, r.coll, r.rid, r.w.metrics[i], pts)
		if err == nil || errorClass(err) != "locked" || ctx.Err() != nil {
			break
		}
		r.w.retries++
		time.Sleep(delay/2 + rand.N(delay))
		delay = min(2*delay, 100*time.Millisecond)
	}
	if err != nil && r.err == nil {
		r.err = err
	}
	r.bufs[i] = pts[:0]
}

func (r *rawRun) flush(ctx context.Context) error {
	for i := range r.bufs {
		r.write(ctx, i)
	}
	err := r.err
	r.err = nil
	return err
}

func (r *rawRun) close(ctx context.Context) error {
	if err := r.flush(ctx); err != nil {
		return err
	}
	return r.w.st.complete(ctx, r.coll, r.rid, now())
}

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// newID returns 24 hex digits in MongoDB ObjectID layout, as the library
// generates ids.
func newID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()))
	_, _ = crand.Read(b[4:])
	return hex.EncodeToString(b[:])
}

// PostgreSQL: one connection; one INSERT of three arrays per batch into
// the adapter's series table.
type rawPostgres struct {
	conn           *pgx.Conn
	insRec, insPts string
	completeSQL    string
}

func openRawPostgres(ctx context.Context, rs rawSpec) (*rawPostgres, error) {
	conn, err := pgx.Connect(ctx, rs.URI)
	if err != nil {
		return nil, err
	}
	return &rawPostgres{
		conn:        conn,
		insRec:      `insert into ` + rs.Records + ` (collection, id, doc) values ($1, $2, $3::jsonb)`,
		insPts:      `insert into ` + rs.Series + ` (collection, id, name, steps, vals, times) values ($1, $2, $3, $4, $5, $6)`,
		completeSQL: `update ` + rs.Records + ` set doc = jsonb_set(doc, '{status}', '"completed"'), updated_at = now() where collection = $1 and id = $2`,
	}, nil
}

func (p *rawPostgres) insertRecord(ctx context.Context, coll, id string, t time.Time) error {
	doc := fmt.Sprintf(`{"id": %q, "collection": %q, "status": "running", "created": {"$time": %q}}`, id, coll, t.Format("2006-01-02T15:04:05.000Z"))
	_, err := p.conn.Exec(ctx, p.insRec, coll, id, doc)
	return err
}

func (p *rawPostgres) insertPoints(ctx context.Context, coll, id, name string, pts []rawPoint) error {
	steps := make([]int64, len(pts))
	vals := make([]float64, len(pts))
	times := make([]time.Time, len(pts))
	for i, pt := range pts {
		steps[i], vals[i], times[i] = pt.step, pt.value, pt.time
	}
	_, err := p.conn.Exec(ctx, p.insPts, coll, id, name, steps, vals, times)
	return err
}

func (p *rawPostgres) complete(ctx context.Context, coll, id string, _ time.Time) error {
	_, err := p.conn.Exec(ctx, p.completeSQL, coll, id)
	return err
}

func (p *rawPostgres) close(ctx context.Context) error { return p.conn.Close(ctx) }

// SQLite: one connection with the adapter's pragmas; per batch one
// BEGIN IMMEDIATE transaction that reserves the sequence numbers in the
// series catalogue and inserts the points 100 rows per statement.
type rawSQLite struct {
	db                          *sql.DB
	insRec, upsert, completeSQL string
	points                      string
}

// rawSQLiteRows is the number of points per INSERT statement (the
// adapter's seriesBatch).
const rawSQLiteRows = 100

func openRawSQLite(ctx context.Context, rs rawSpec) (*rawSQLite, error) {
	dsn := "file:" + rs.Path + "?_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=journal_mode(WAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	t := `"` + rs.Records + `"`
	return &rawSQLite{
		db:     db,
		insRec: `INSERT INTO ` + t + ` (collection, id, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		upsert: `INSERT INTO "` + rs.Records + `_series" (collection, id, name, n) VALUES (?, ?, ?, ?)
	ON CONFLICT (collection, id, name) DO UPDATE SET n = n + excluded.n RETURNING sid, n`,
		points:      `"` + rs.Records + `_points"`,
		completeSQL: `UPDATE ` + t + ` SET doc = json_set(doc, '$.status', 'completed'), updated_at = ? WHERE collection = ? AND id = ?`,
	}, nil
}

func (s *rawSQLite) insertRecord(ctx context.Context, coll, id string, t time.Time) error {
	doc := fmt.Sprintf(`{"id": %q, "collection": %q, "status": "running"}`, id, coll)
	_, err := s.db.ExecContext(ctx, s.insRec, coll, id, doc, t.UnixMilli(), t.UnixMilli())
	return err
}

func (s *rawSQLite) insertPoints(ctx context.Context, coll, id, name string, pts []rawPoint) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var sid, n int64
	if err := tx.QueryRowContext(ctx, s.upsert, coll, id, name, len(pts)).Scan(&sid, &n); err != nil {
		return err
	}
	seq := n - int64(len(pts))
	for start := 0; start < len(pts); start += rawSQLiteRows {
		part := pts[start:min(start+rawSQLiteRows, len(pts))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO ` + s.points + ` (sid, seq, step, value, time) VALUES `)
		args := make([]any, 0, 5*len(part))
		for i, pt := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(?,?,?,?,?)")
			args = append(args, sid, seq, pt.step, int64(math.Float64bits(pt.value)), pt.time.UnixMilli())
			seq++
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *rawSQLite) complete(ctx context.Context, coll, id string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, s.completeSQL, t.UnixMilli(), coll, id)
	return err
}

func (s *rawSQLite) close(context.Context) error { return s.db.Close() }

// Mongo: one bucket document per batch in "_series.<collection>", as the
// adapter stores them; values the server cannot hold natively (NaN, ±Inf,
// -0 on FerretDB) in the adapter's tagged binary form.
type rawMongo struct {
	client *mongo.Client
	db     *mongo.Database
	seq    atomic.Int64
}

// subtypeFloat is the binary subtype of the adapter's tagged float.
const subtypeFloat byte = 0x80

func openRawMongo(ctx context.Context, rs rawSpec) (*rawMongo, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(rs.URI))
	if err != nil {
		return nil, err
	}
	if err := client.Ping(ctx, nil); err != nil {
		_ = client.Disconnect(ctx)
		return nil, err
	}
	return &rawMongo{client: client, db: client.Database(rs.DB)}, nil
}

func mongoID(id string) any {
	if oid, err := bson.ObjectIDFromHex(id); err == nil {
		return oid
	}
	return id
}

func (m *rawMongo) insertRecord(ctx context.Context, coll, id string, t time.Time) error {
	_, err := m.db.Collection(coll).InsertOne(ctx, bson.D{
		{Key: "_id", Value: mongoID(id)},
		{Key: "status", Value: "running"},
		{Key: "created", Value: bson.NewDateTimeFromTime(t)},
	})
	return err
}

func (m *rawMongo) insertPoints(ctx context.Context, coll, id, name string, pts []rawPoint) error {
	steps := make(bson.A, len(pts))
	values := make(bson.A, len(pts))
	times := make(bson.A, len(pts))
	for i, pt := range pts {
		steps[i] = pt.step
		values[i] = mongoFloat(pt.value)
		times[i] = bson.NewDateTimeFromTime(pt.time)
	}
	seq := time.Now().UnixNano()
	if last := m.seq.Load(); seq <= last {
		seq = last + 1
	}
	m.seq.Store(seq)
	_, err := m.db.Collection("_series."+coll).InsertOne(ctx, bson.D{
		{Key: "record", Value: mongoID(id)},
		{Key: "name", Value: name},
		{Key: "seq", Value: seq},
		{Key: "steps", Value: steps},
		{Key: "values", Value: values},
		{Key: "times", Value: times},
	})
	return err
}

func mongoFloat(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) || (v == 0 && math.Signbit(v)) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(v))
		return bson.Binary{Subtype: subtypeFloat, Data: b[:]}
	}
	return v
}

func (m *rawMongo) complete(ctx context.Context, coll, id string, _ time.Time) error {
	_, err := m.db.Collection(coll).UpdateOne(ctx, bson.D{{Key: "_id", Value: mongoID(id)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: "completed"}}}})
	return err
}

func (m *rawMongo) close(ctx context.Context) error { return m.client.Disconnect(ctx) }
