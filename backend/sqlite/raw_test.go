package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
)

// raw does each benchmark's work with modernc.org/sqlite directly, on the
// adapter's tables in the same file, as a careful user of the driver
// would: one transaction for many inserts, prepared multi-row inserts of
// points, json_extract for fields, an expression index with ORDER BY ...
// LIMIT for a top N.
var raw = &backendtest.Raw{
	Insert: func(ctx context.Context, b backend.Backend, coll string, docs map[string]map[string]any) error {
		db, err := rawOpen(b)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, `INSERT INTO records (collection, id, doc, created_at, updated_at) VALUES (?, ?, jsonb(?), ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		now := time.Now().UnixMilli()
		var buf []byte
		for id, doc := range docs {
			if buf, err = docjson.Append(buf[:0], doc); err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, coll, id, string(buf), now, now); err != nil {
				return err
			}
		}
		return tx.Commit()
	},
	ListFields: func(ctx context.Context, b backend.Backend, coll string, fields [][]string) (int, error) {
		db, err := rawOpen(b)
		if err != nil {
			return 0, err
		}
		cols := make([]string, len(fields))
		for i, f := range fields {
			cols[i] = "json_extract(doc, '" + rawPath(f) + "')"
		}
		rows, err := db.QueryContext(ctx, `SELECT id, `+strings.Join(cols, ", ")+` FROM records WHERE collection = ?`, coll)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		var id string
		vals := make([]any, len(fields))
		dest := []any{&id}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return n, err
			}
			n++
		}
		return n, rows.Err()
	},
	Index: func(ctx context.Context, b backend.Backend, coll string, path []string) error {
		db, err := rawOpen(b)
		if err != nil {
			return err
		}
		_, err = db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS raw_ix ON records (collection, json_extract(doc, '`+rawPath(path)+`'))`)
		return err
	},
	TopN: func(ctx context.Context, b backend.Backend, coll string, path []string, n int) ([]string, error) {
		db, err := rawOpen(b)
		if err != nil {
			return nil, err
		}
		x := "json_extract(doc, '" + rawPath(path) + "')"
		rows, err := db.QueryContext(ctx, `SELECT id FROM records WHERE collection = ? AND `+x+` IS NOT NULL ORDER BY `+x+` LIMIT ?`, coll, n)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, rows.Err()
	},
	AppendPoints: func(ctx context.Context, b backend.Backend, coll, id, name string, pts []backend.Point) error {
		db, err := rawOpen(b)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var sid, n int64
		err = tx.QueryRowContext(ctx, `INSERT INTO records_series (collection, id, name, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (collection, id, name) DO UPDATE SET n = n + excluded.n RETURNING sid, n`, coll, id, name, len(pts)).Scan(&sid, &n)
		if err != nil {
			return err
		}
		seq := n - int64(len(pts))
		const rowsPer = 100
		args := make([]any, 0, 5*rowsPer)
		for len(pts) > 0 {
			k := min(rowsPer, len(pts))
			args = args[:0]
			for i, p := range pts[:k] {
				args = append(args, sid, seq+int64(i), p.Step, int64(math.Float64bits(p.Value)), p.Time.UnixMilli())
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO records_points (sid, seq, step, value, time) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?,?,?,?,?),", k), ","), args...); err != nil {
				return err
			}
			seq += int64(k)
			pts = pts[k:]
		}
		return tx.Commit()
	},
	ReadPoints: func(ctx context.Context, b backend.Backend, coll, id, name string, each func([]backend.Point)) (int, error) {
		db, err := rawOpen(b)
		if err != nil {
			return 0, err
		}
		rows, err := db.QueryContext(ctx, `SELECT p.step, p.value, p.time FROM records_series s JOIN records_points p ON p.sid = s.sid
			WHERE s.collection = ? AND s.id = ? AND s.name = ? ORDER BY p.seq`, coll, id, name)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		const batch = 4096
		n := 0
		pts := make([]backend.Point, 0, batch)
		for rows.Next() {
			var step, bits, ms int64
			if err := rows.Scan(&step, &bits, &ms); err != nil {
				return n, err
			}
			pts = append(pts, backend.Point{Step: step, Value: math.Float64frombits(uint64(bits)), Time: time.UnixMilli(ms).UTC()})
			if len(pts) == batch {
				each(pts)
				n += len(pts)
				pts = make([]backend.Point, 0, batch)
			}
		}
		if len(pts) > 0 {
			each(pts)
			n += len(pts)
		}
		return n, rows.Err()
	},
}

// rawPath is the JSON path of p, for keys the benchmarks use.
func rawPath(p []string) string { return "$." + strings.Join(p, ".") }

var rawDBs sync.Map // file -> *sql.DB

// rawOpen returns a raw connection pool on the file of a Backend that
// harness.New opened, with the adapter's pragmas.
func rawOpen(b backend.Backend) (*sql.DB, error) {
	v, ok := files.Load(b)
	if !ok {
		return nil, fmt.Errorf("raw: backend %p was not opened by harness.New", b)
	}
	path := v.(string)
	if db, ok := rawDBs.Load(path); ok {
		return db.(*sql.DB), nil
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	if prev, loaded := rawDBs.LoadOrStore(path, db); loaded {
		db.Close()
		return prev.(*sql.DB), nil
	}
	return db, nil
}

func closeRaw(path string) {
	if db, ok := rawDBs.LoadAndDelete(path); ok {
		db.(*sql.DB).Close()
	}
}

// TestRaw: the raw baseline stores what the adapter reads and reads what
// the adapter stores, so that the benchmarks compare the same work.
func TestRaw(t *testing.T) {
	ctx := t.Context()
	b := harness.New(t).(*sqlite.Backend)
	defer b.Close()
	docs := map[string]map[string]any{}
	for i := range 50 {
		docs[fmt.Sprintf("r%02d", i)] = map[string]any{"metrics": map[string]any{"loss": map[string]any{"min": float64(50-i) / 10}}, "status": "completed"}
	}
	if err := raw.Insert(ctx, b, "c", docs); err != nil {
		t.Fatal(err)
	}
	fields := [][]string{{"metrics", "loss", "min"}, {"status"}}
	n, err := raw.ListFields(ctx, b, "c", fields)
	if err != nil || n != 50 {
		t.Fatalf("ListFields = %d, %v; want 50", n, err)
	}
	path := []string{"metrics", "loss", "min"}
	if err := raw.Index(ctx, b, "c", path); err != nil {
		t.Fatal(err)
	}
	ids, err := raw.TopN(ctx, b, "c", path, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, b, "c", backend.Query{OrderBy: path, Limit: 3, Fields: fields})
	if diff := cmp.Diff(got, ids); diff != "" || len(ids) != 3 {
		t.Errorf("TopN and List differ (-List +TopN):\n%s", diff)
	}
	pts := points(10_000)
	if err := raw.AppendPoints(ctx, b, "c", "r01", "loss", pts[:4321]); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendSeries(ctx, "c", "r01", "loss", pts[4321:]); err != nil {
		t.Fatal(err)
	}
	var read []backend.Point
	n, err = raw.ReadPoints(ctx, b, "c", "r01", "loss", func(batch []backend.Point) { read = append(read, batch...) })
	if err != nil || n != len(pts) {
		t.Fatalf("ReadPoints = %d, %v; want %d", n, err, len(pts))
	}
	lib, err := readSeries(t, ctx, b, "c", "r01", "loss")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pts, read); diff != "" {
		t.Errorf("ReadPoints (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(pts, lib); diff != "" {
		t.Errorf("ReadSeries (-want +got):\n%s", diff)
	}
}
