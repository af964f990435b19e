package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
)

// BenchmarkBackend is the shared benchmark set (backendtest.RunBenchmarks)
// with the raw modernc.org/sqlite baseline beside each library benchmark.
func BenchmarkBackend(b *testing.B) { backendtest.RunBenchmarks(b, harness) }

// points returns n points with distinct steps, values and times.
func points(n int) []backend.Point {
	pts := make([]backend.Point, n)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	for i := range pts {
		pts[i] = backend.Point{Step: int64(i), Value: 1 / float64(i+1), Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	return pts
}

// mergeDoc is a document of about 2 KB, like a run's parameters and host facts.
func mergeDoc() map[string]any {
	doc := map[string]any{"status": "running", "seed": int64(42)}
	params := map[string]any{}
	for i := range 40 {
		params[fmt.Sprintf("param_%02d", i)] = float64(i) / 7
	}
	doc["params"] = params
	host := map[string]any{}
	for i := range 20 {
		host[fmt.Sprintf("fact_%02d", i)] = strings.Repeat("h", 30)
	}
	doc["host"] = host
	return doc
}

// BenchmarkMerge measures one Merge with one Set op on a ~2 KB document,
// beside the raw driver doing the same update under BEGIN IMMEDIATE with
// json_set (RunBenchmarks measures Merge through record, without a raw
// baseline).
func BenchmarkMerge(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		s := open(b, "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
		if err := s.Insert(b.Context(), "c", "r", mergeDoc()); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			op := backend.Op{Kind: backend.Set, Path: []string{"metrics", "loss", "last"}, Value: float64(i)}
			if err := s.Merge(b.Context(), "c", "r", []backend.Op{op}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-json_set", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "raw.db")
		db, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		ctx := b.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE records (collection TEXT, id TEXT, doc TEXT, PRIMARY KEY (collection, id))`); err != nil {
			b.Fatal(err)
		}
		text, err := docjson.Marshal(mergeDoc())
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("document: %d bytes", len(text))
		if _, err := db.ExecContext(ctx, `INSERT INTO records VALUES ('c', 'r', ?)`, string(text)); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE records SET doc = json_set(doc, '$.metrics.loss.last', ?) WHERE collection = ? AND id = ?`,
				float64(i), "c", "r"); err != nil {
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList lists 5000 ~2 KB records of one collection with a filter
// that matches one: "pushed" is pushed down to a json_extract predicate,
// "go" (!=, not pushed down) decodes every document, which the caller
// filters with backend.Match (RunBenchmarks lists without conditions).
func BenchmarkList(b *testing.B) {
	s := open(b, "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
	ctx := b.Context()
	for i := range 5000 {
		doc := mergeDoc()
		doc["seed"] = int64(i)
		if err := s.Insert(ctx, "c", fmt.Sprintf("%05d", i), doc); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		cond backend.Cond
		want int
	}{
		{"pushed", backend.Cond{Path: []string{"seed"}, Cmp: backend.Eq, Value: int64(4242)}, 1},
		{"go", backend.Cond{Path: []string{"status"}, Cmp: backend.Ne, Value: "running"}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				where := []backend.Cond{bc.cond}
				items, err := list(ctx, s, "c", backend.Query{Where: where})
				if err != nil {
					b.Fatal(err)
				}
				// List may yield a superset; the caller (package record)
				// applies Match, as here.
				n := 0
				for _, it := range items {
					if backend.Match(it.Doc, where) {
						n++
					}
				}
				if n != bc.want {
					b.Fatalf("List returned %d matching items, want %d", n, bc.want)
				}
			}
		})
	}
}
