package serve_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/serve"
)

// bigRuns is the size of the collection the benchmarks page through.
const bigRuns = 100_000

var (
	bigOnce  sync.Once
	bigStore *record.Store
	bigErr   error
)

// bigFixture is a SQLite store with bigRuns records of a sweep (lr,
// batch, seed, and summaries of loss), written straight through the
// backend, with the indexes the README suggests for sorting and
// filtering.
func bigFixture(b *testing.B) *record.Store {
	b.Helper()
	bigOnce.Do(func() {
		ctx := context.Background()
		dir := b.TempDir()
		s, err := record.Open(ctx, "sqlite://"+filepath.Join(dir, "big.db"))
		if err != nil {
			bigErr = err
			return
		}
		var be backend.Backend
		if !s.As(&be) {
			bigErr = fmt.Errorf("no backend")
			return
		}
		rng := rand.New(rand.NewPCG(1, 2))
		start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		lrs := []float64{0.001, 0.01, 0.1, 1}
		for i := range bigRuns {
			loss := rng.Float64()
			doc := map[string]any{
				"id": fmt.Sprintf("run%07d", i), "collection": "big", "status": "completed",
				"created": start.Add(time.Duration(i) * time.Second),
				"lr":      lrs[i%len(lrs)], "batch": int64(32 << (i % 3)), "seed": int64(i),
				"metrics": map[string]any{"loss": map[string]any{"count": int64(100), "min": loss, "last": loss * 1.1, "last_step": int64(99)}},
			}
			if err := be.Insert(ctx, "big", doc["id"].(string), doc); err != nil {
				bigErr = err
				return
			}
		}
		for _, p := range []string{"metrics.loss.min", "lr"} {
			if err := s.Index(ctx, "big", p); err != nil {
				bigErr = err
				return
			}
		}
		bigStore = s
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigStore
}

// BenchmarkServeRuns measures pages of a 100k-run collection: the server
// time of one request, through the handler.
func BenchmarkServeRuns(b *testing.B) {
	s := bigFixture(b)
	srv := httptest.NewServer(serve.Handler(s, serve.Options{}))
	defer srv.Close()
	for _, path := range []string{
		"/c/big",
		"/c/big?after=run0050000",
		"/c/big?sort=metrics.loss.min&where=lr%3D0.01",
		"/c/big?sort=metrics.loss.min&desc=1&where=lr%3D0.01&offset=500",
		"/c/big?sort=metrics.loss.min&desc=1&where=lr%3D0.01&after=run0050000&at=f:0.5", // half way down, by position
		"/c/big?sort=metrics.loss.min&after=run0050000&at=f:0.5",
		"/c/big?group=lr,batch&metric=metrics.loss.min",
		"/",
	} {
		b.Run(strings.TrimPrefix(path, "/c/big"), func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
		})
	}
}
