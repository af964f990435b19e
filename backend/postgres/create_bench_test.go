package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

// BenchmarkCreate measures record.Store.Create with the host facts beside
// raw pgx inserting the same document (the one the library wrote, with a
// fresh id and times) as well as it can: encoded with docjson into a
// reused buffer, one INSERT through the pool (pgx prepares and caches it).
// Records are closed in groups of 100 with the timer stopped, so that no
// background heartbeat runs during the measurement. Each run has its own
// table, so -count N works.
//
//	go test -run '^$' -bench 'BenchmarkCreate$' ./backend/postgres/
func BenchmarkCreate(b *testing.B) {
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		st := record.NewStore(benchOpen(b))
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
		be := benchOpen(b)
		st := record.NewStore(be)
		rec, err := st.Create(ctx, "c")
		if err != nil {
			b.Fatal(err)
		}
		snap, err := st.Get(ctx, "c", rec.ID())
		if err != nil {
			b.Fatal(err)
		}
		if err := rec.Close(ctx, nil); err != nil {
			b.Fatal(err)
		}
		doc := snap.Doc()
		insert := `insert into ` + be.Table() + ` (collection, id, doc) values ($1, $2, $3)`
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			id := record.NewID()
			doc["id"], doc["created"] = id, time.Now().UTC().Truncate(time.Millisecond)
			if buf, err = docjson.Append(buf[:0], doc); err != nil {
				b.Fatal(err)
			}
			if _, err := be.Pool().Exec(ctx, insert, "c", id, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "doc-bytes")
	})
}
