package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

// BenchmarkCreate measures record.Store.Create with the host facts on
// SQLite beside the raw driver inserting the same document (the one the
// library wrote, with a fresh id and times) as well as it can: encoded
// with docjson into a reused buffer, one prepared INSERT committed by
// itself. Records are closed in groups of 100 with the timer stopped, so
// that no background heartbeat runs during the measurement. Each run opens
// its own files, so -count N works.
func BenchmarkCreate(b *testing.B) {
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		st, err := record.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "records.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close(context.Background())
		if _, err := st.Create(ctx, "c"); err != nil { // the first Create detects the host
			b.Fatal(err)
		}
		var open []*record.Record
		closeAll := func() {
			for _, r := range open {
				if err := r.Close(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
			open = open[:0]
		}
		b.ReportAllocs()
		for b.Loop() {
			r, err := st.Create(ctx, "c")
			if err != nil {
				b.Fatal(err)
			}
			if open = append(open, r); len(open) == 100 {
				b.StopTimer()
				closeAll()
				b.StartTimer()
			}
		}
		b.StopTimer()
		closeAll()
	})
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		doc := createdDoc(b)
		p := filepath.Join(b.TempDir(), "raw.db")
		db, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, `CREATE TABLE records (collection TEXT NOT NULL, id TEXT NOT NULL, doc BLOB NOT NULL,
			created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (collection, id))`); err != nil {
			b.Fatal(err)
		}
		st, err := db.PrepareContext(ctx, `INSERT INTO records (collection, id, doc, created_at, updated_at) VALUES (?, ?, jsonb(?), ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			id := record.NewID()
			now := time.Now().UTC().Truncate(time.Millisecond)
			doc["id"], doc["created"] = id, now
			if buf, err = docjson.Append(buf[:0], doc); err != nil {
				b.Fatal(err)
			}
			if _, err := st.ExecContext(ctx, "c", id, string(buf), now.UnixMilli(), now.UnixMilli()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "doc-bytes")
	})
}

// createdDoc returns the document that Create writes on this machine,
// read back from a memory-less SQLite store.
func createdDoc(b *testing.B) map[string]any {
	ctx := b.Context()
	st, err := record.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "doc.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "c")
	if err != nil {
		b.Fatal(err)
	}
	snap, err := st.Get(ctx, "c", rec.ID())
	if err != nil {
		b.Fatal(err)
	}
	return snap.Doc()
}
