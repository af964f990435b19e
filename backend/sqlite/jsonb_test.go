package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/internal/docops"
)

// jsonbDocs are documents holding every hostile value of the merge tests
// under every awkward key, and one of non-ASCII text (package record
// refuses invalid UTF-8 before a backend sees it).
func jsonbDocs() map[string]map[string]any {
	docs := map[string]map[string]any{"base": mergeBase()}
	values := mergeValues()
	for i, k := range mergeKeys {
		docs[fmt.Sprintf("r%02d", i)] = map[string]any{k: values[i%len(values)], "i": int64(i), "lr": float64(i) / 10,
			"all": values}
	}
	docs["utf8"] = map[string]any{"ключ 🔥": "значение \u2028 \x00 \\\"", "i": int64(-1), "lr": -0.5}
	return docs
}

// TestMigrateJSONB: a version 2 store, whose documents are JSON text,
// opened by several backends at once (as processes would), is migrated
// once to version 3: every document becomes a JSONB blob and reads back
// exactly as it was written; an index made before still orders and
// filters; merges, inserts and deletes go on; a store migrated twice (or
// opened again) is unchanged.
func TestMigrateJSONB(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "records.db")
	docs := jsonbDocs()
	b, err := sqlite.Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	for id, doc := range docs {
		if err := b.Insert(ctx, "c", id, docops.CopyDoc(doc)); err != nil {
			t.Fatalf("Insert %s: %v", id, err)
		}
	}
	if err := b.Index(ctx, "c", []string{"lr"}); err != nil {
		t.Fatal(err)
	}
	b.Close()

	// Back to version 2: the documents as the JSON text SQLite renders.
	db := rawDB(t, path)
	for _, stmt := range []string{
		`UPDATE records SET doc = json(doc)`,
		`UPDATE records_meta SET value = 2 WHERE key = 'schema_version'`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	checkDocForm(t, db, "text", len(docs))

	backends := make([]*sqlite.Backend, 3)
	errs := make([]error, len(backends))
	var wg sync.WaitGroup
	for i := range backends {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			backends[i], errs[i] = sqlite.Open(ctx, "sqlite://"+path)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { backends[i].Close() })
	}
	checkDocForm(t, db, "blob", len(docs))
	var v int
	if err := db.QueryRowContext(ctx, `SELECT value FROM records_meta WHERE key = 'schema_version'`).Scan(&v); err != nil || v != sqlite.SchemaVersion {
		t.Fatalf("schema_version = %d, %v; want %d", v, err, sqlite.SchemaVersion)
	}
	b = backends[0]
	for id, want := range docs {
		got, err := b.Get(ctx, "c", id)
		if err != nil {
			t.Fatalf("Get %s: %v", id, err)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(sameFloat)); diff != "" {
			t.Errorf("Get %s after the migration (-want +got):\n%s", id, diff)
		}
	}

	// The index made on the text documents still serves the blobs.
	items, err := list(ctx, b, "c", backend.Query{
		Where:   []backend.Cond{{Path: []string{"lr"}, Cmp: backend.Ge, Value: 1.0}},
		OrderBy: []string{"lr"}, Fields: [][]string{{"lr"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, it := range items {
		if lr, ok := it.Doc["lr"].(float64); ok && lr >= 1 {
			got = append(got, lr)
		}
	}
	var want []float64
	for i := range mergeKeys {
		if lr := float64(i) / 10; lr >= 1 {
			want = append(want, lr)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List lr >= 1 by lr (-want +got):\n%s", diff)
	}

	// Writes go on, in every form: merges in SQL, in Go, inserts.
	values := mergeValues()
	ops := []backend.Op{
		{Kind: backend.Set, Path: []string{"new", mergeKeys[0]}, Value: values[0]},
		{Kind: backend.Append, Path: []string{"arr"}, Value: values},
		{Kind: backend.Unset, Path: []string{"str"}},
	}
	wantBase := docops.CopyDoc(docs["base"])
	if err := docops.Apply(wantBase, ops); err != nil {
		t.Fatal(err)
	}
	if err := backends[1].Merge(ctx, "c", "base", ops); err != nil {
		t.Fatal(err)
	}
	if err := backends[2].Merge(ctx, "c", "base", []backend.Op{{Kind: backend.Set, Path: []string{"nan", "x"}, Value: 1.0}}); err == nil {
		t.Error("Merge through a NaN after the migration: no error")
	}
	if err := backends[2].Insert(ctx, "c", "new", docops.CopyDoc(docs["utf8"])); err != nil {
		t.Fatal(err)
	}
	checkDocForm(t, db, "blob", len(docs)+1)
	for id, want := range map[string]map[string]any{"base": wantBase, "new": docs["utf8"]} {
		got, err := b.Get(ctx, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(sameFloat)); diff != "" {
			t.Errorf("Get %s after writes (-want +got):\n%s", id, diff)
		}
	}

	// Opening again migrates nothing.
	again := open(t, "sqlite://"+path)
	if got, err := again.Get(ctx, "c", "base"); err != nil || !cmp.Equal(wantBase, got, cmp.Comparer(sameFloat)) {
		t.Errorf("Get after reopening: %v, %v", got, err)
	}
}

// checkDocForm fails t unless the documents table holds n documents, all
// stored as typ ("text" or "blob").
func checkDocForm(t *testing.T, db *sql.DB, typ string, n int) {
	t.Helper()
	var all, of int
	err := db.QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE typeof(doc) = ?) FROM records`, typ).Scan(&all, &of)
	if err != nil || all != n || of != n {
		t.Fatalf("records: %d documents, %d of them %s, %v; want %d, all %s", all, of, typ, err, n, typ)
	}
}
