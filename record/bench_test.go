package record_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend/memory"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/record"
)

// BenchmarkLog measures Log in a training loop: an in-memory append, with
// the background flusher writing batches to SQLite meanwhile.
func BenchmarkLog(b *testing.B) {
	for _, dsn := range []string{"mem://", "sqlite"} {
		b.Run(dsn, func(b *testing.B) {
			dsn := dsn // each run its own store: -count N reruns this function
			if dsn == "sqlite" {
				dsn = "sqlite://" + filepath.Join(b.TempDir(), "records.db")
			}
			st, err := record.Open(b.Context(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close(context.Background())
			rec, err := st.Create(b.Context(), "bench", record.WithoutHost())
			if err != nil {
				b.Fatal(err)
			}
			m := record.Metrics{"loss": 0.5, "acc": 0.9}
			b.ReportAllocs()
			step := int64(0)
			for b.Loop() {
				m["loss"] = 1 / float64(step+1)
				rec.Log(step, m)
				step++
			}
			b.StopTimer()
			if err := rec.Close(b.Context(), nil); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkIngest logs n points of one metric into one record and waits
// until they are stored (Close), reporting points/s and the cost per point,
// which must stay flat from 10k to 1M. Compare with the raw driver in the
// same run: go test -run ^$ -bench Ingest ./record ./backend/sqlite
func BenchmarkIngest(b *testing.B) {
	for _, backendName := range []string{"memory", "sqlite"} {
		for _, n := range []int{10_000, 100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%d", backendName, n), func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					var st *record.Store
					if backendName == "memory" {
						st = record.NewStore(memory.New())
					} else {
						var err error
						if st, err = record.Open(b.Context(), "sqlite://"+filepath.Join(b.TempDir(), "records.db")); err != nil {
							b.Fatal(err)
						}
					}
					rec, err := st.Create(b.Context(), "bench", record.WithoutHost())
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					for i := range n {
						rec.Log(int64(i), record.Metrics{"loss": 1 / float64(i+1)})
					}
					if err := rec.Close(b.Context(), nil); err != nil {
						b.Fatal(err)
					}
					el := time.Since(start)
					b.StopTimer()
					b.ReportMetric(float64(n)/el.Seconds(), "points/s")
					b.ReportMetric(float64(el.Nanoseconds())/float64(n), "ns/point")
					st.Close(context.Background())
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkMerge measures one Set on a record of about 2 KB.
func BenchmarkMerge(b *testing.B) {
	for _, dsn := range []string{"mem://", "sqlite"} {
		b.Run(dsn, func(b *testing.B) {
			dsn := dsn // each run its own store: -count N reruns this function
			if dsn == "sqlite" {
				dsn = "sqlite://" + filepath.Join(b.TempDir(), "records.db")
			}
			st, err := record.Open(b.Context(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close(context.Background())
			rec, err := st.Create(b.Context(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if err := rec.Set(b.Context(), "progress.epoch", i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
