package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
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

// fullRecord returns the document of a record as Create writes it, with
// the host facts of this machine (about 4.7 KB), and a small array of
// losses for the appends.
func fullRecord(b *testing.B) map[string]any {
	st := record.NewStore(memory.New())
	defer st.Close(context.Background())
	rec, err := st.Create(b.Context(), "c")
	if err != nil {
		b.Fatal(err)
	}
	snap, err := st.Get(b.Context(), "c", rec.ID())
	if err != nil {
		b.Fatal(err)
	}
	doc := snap.Doc()
	doc["models"] = map[string]any{"model_0": map[string]any{"losses": []any{0.5}}}
	return doc
}

// BenchmarkMerge measures one Merge of one op on a full record (about
// 4.7 KB with host facts) beside the raw driver doing the same change as
// well as it can, on the same JSONB layout: one prepared UPDATE with
// jsonb_set (Set) or jsonb_insert
// at [#] (Append), committed by itself. Every 1000 appends, outside the
// timer, the array is emptied again, so that its length does not depend
// on b.N. Each run opens its own files, so -count N works.
func BenchmarkMerge(b *testing.B) {
	doc := fullRecord(b)
	text, err := docjson.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	setOp := func(i int) backend.Op {
		return backend.Op{Kind: backend.Set, Path: []string{"metrics", "loss", "last"}, Value: float64(i) / 7}
	}
	appendOp := func(i int) backend.Op {
		return backend.Op{Kind: backend.Append, Path: []string{"models", "model_0", "losses"}, Value: []any{float64(i) / 7}}
	}
	reset := backend.Op{Kind: backend.Set, Path: []string{"models", "model_0", "losses"}, Value: []any{0.5}}
	for _, bc := range []struct {
		name string
		op   func(int) backend.Op
		raw  string
	}{
		{"set", setOp, `UPDATE records SET doc = jsonb_set(doc, '$.metrics.loss.last', ?) WHERE collection = ? AND id = ?`},
		{"append", appendOp, `UPDATE records SET doc = jsonb_insert(doc, '$.models.model_0.losses[#]', ?) WHERE collection = ? AND id = ?`},
	} {
		b.Run(bc.name+"/adapter", func(b *testing.B) {
			s := open(b, "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
			ctx := b.Context()
			if err := s.Insert(ctx, "c", "r", doc); err != nil {
				b.Fatal(err)
			}
			b.Logf("document: %d bytes", len(text))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if i%1000 == 0 {
					b.StopTimer()
					if err := s.Merge(ctx, "c", "r", []backend.Op{reset}); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if err := s.Merge(ctx, "c", "r", []backend.Op{bc.op(i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/raw", func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "raw.db")
			db, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			ctx := b.Context()
			if _, err := db.ExecContext(ctx, `CREATE TABLE records (collection TEXT, id TEXT, doc BLOB, PRIMARY KEY (collection, id))`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO records VALUES ('c', 'r', jsonb(?))`, string(text)); err != nil {
				b.Fatal(err)
			}
			st, err := db.PrepareContext(ctx, bc.raw)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if i%1000 == 0 {
					b.StopTimer()
					if _, err := db.ExecContext(ctx, `UPDATE records SET doc = jsonb_set(doc, '$.models.model_0.losses', json('[0.5]'))`); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if _, err := st.ExecContext(ctx, float64(i)/7, "c", "r"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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
