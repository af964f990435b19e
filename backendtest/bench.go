package backendtest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/gcpause"
	"github.com/recordlab/go-record/record"
)

// Environment variables that size RunBenchmarks.
const (
	// BenchRecordsEnv is the number of records the List and TopN
	// benchmarks load (default 10000).
	BenchRecordsEnv = "RECORD_BENCH_RECORDS"
	// BenchPointsEnv is the number of points of the series the ReadSeries
	// benchmark reads (default 1000000; 10000000 for the bar).
	BenchPointsEnv = "RECORD_BENCH_POINTS"
)

const (
	benchBatch = 1000 // points per AppendSeries batch, as record flushes them
	benchTopN  = 20
)

// benchFields are the three fields the List benchmark reads.
var benchFields = []string{"status", "params.lr", "metrics.loss.min"}

const benchOrderPath = "metrics.loss.min"

// RunBenchmarks runs the shared benchmark set against the backend h
// describes. Each benchmark has a library sub-benchmark (package record
// over the adapter) and, where h.Raw has the function for it, a raw one
// (the database's own driver doing the same work), so both are measured in
// the same run:
//
//   - Insert: one record of about 2 KB (Backend.Insert vs Raw.Insert).
//   - Merge: one Set on a record of about 2 KB (Record.Set; no raw).
//   - AppendSeries: one batch of 1000 points of one metric per op
//     (Record.Log and Flush vs Raw.AppendPoints), with points/s and the
//     cost per point of the first and the last tenth of the batches.
//   - List: every record of a collection of RECORD_BENCH_RECORDS with
//     three fields (Store.List with Fields vs Raw.ListFields), records/s.
//   - TopN: the 20 records with the smallest metrics.loss.min, indexed
//     (Store.Index, OrderBy, Limit vs Raw.Index and Raw.TopN); the two
//     answers must agree.
//   - ReadSeries: a series of RECORD_BENCH_POINTS points (Snapshot.Series
//     vs Raw.ReadPoints), points/s.
//
// Every sub-benchmark reports ns/op and peak-RSS-MB, the peak resident
// memory of the process while it ran (VmHWM, reset through
// /proc/self/clear_refs; absent where /proc does not allow it). Data is
// loaded once per benchmark; the backend comes from Harness.New (or
// NewDSN) and is closed at the end of each benchmark.
//
//	go test -run '^$' -bench . ./backend/sqlite
//	RECORD_BENCH_POINTS=10000000 go test -run '^$' -bench 'Backend/ReadSeries' -benchtime 1x ./backend/sqlite
func RunBenchmarks(b *testing.B, h Harness) {
	if h.New == nil && h.NewDSN == nil {
		b.Fatal("backendtest: Harness.New (or NewDSN) is required")
	}
	raw := h.Raw
	if raw == nil {
		raw = &Raw{}
	}
	bs := &benchSuite{h: h, raw: raw}
	b.Run("Insert", bs.insert)
	b.Run("Merge", bs.merge)
	b.Run("AppendSeries", bs.appendSeries)
	b.Run("List", bs.list)
	b.Run("TopN", bs.topN)
	b.Run("ReadSeries", bs.readSeries)
}

type benchSuite struct {
	h   Harness
	raw *Raw
}

// open returns a fresh Backend and a Store over it, closed when b ends.
func (bs *benchSuite) open(b *testing.B) (backend.Backend, *record.Store) {
	b.Helper()
	be := fresh(b, bs.h)
	st := record.NewStore(be)
	b.Cleanup(func() { st.Close(context.Background()) })
	return be, st
}

// benchEnv reads a positive size from the environment.
func benchEnv(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// measure prepares a sub-benchmark's measured part: it returns memory to
// the operating system and resets the peak resident set, so that the
// peak-RSS-MB that done reports is that of the loop, as are the longest
// GC pause (gc-max-us) and the longest wait of one for the world to stop
// (gc-stop-max-us, see internal/gcpause).
func measure(b *testing.B) (done func(units float64, unit string)) {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	b.ReportAllocs()
	gc := gcpause.Start()
	return func(units float64, unit string) {
		b.Helper()
		if units > 0 && b.Elapsed() > 0 {
			b.ReportMetric(units*float64(b.N)/b.Elapsed().Seconds(), unit)
		}
		pause, stop := gc.Max()
		b.ReportMetric(float64(pause.Microseconds()), "gc-max-us")
		b.ReportMetric(float64(stop.Microseconds()), "gc-stop-max-us")
		if mb, ok := peakRSSMB(); ok && reset {
			b.ReportMetric(mb, "peak-RSS-MB")
		}
	}
}

// peakRSSMB reads the process's peak resident set (VmHWM) in MB.
func peakRSSMB() (float64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false
		}
		return kb / 1024, true
	}
	return 0, false
}

// benchID returns the id of the i-th benchmark record, in the layout of
// generated ids.
func benchID(i int) string { return fmt.Sprintf("6b077e18%016x", i) }

// benchLoss is the metrics.loss.min of the i-th record: distinct values in
// [0, 1) in no particular order.
func benchLoss(i int) float64 { return math.Mod(float64(i+1)*0.6180339887498949, 1) }

// benchDoc returns the i-th benchmark record of coll: about 2 KB, shaped
// like what record writes (params, a metric summary, host facts).
func benchDoc(coll string, i int) map[string]any {
	loss := benchLoss(i)
	return map[string]any{
		"id":         benchID(i),
		"collection": coll,
		"created":    time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		"status":     [...]string{"completed", "failed", "running"}[i%3],
		"seed":       int64(i),
		"params": map[string]any{
			"lr": 0.001 * float64(1+i%10), "epochs": int64(10 + i%5), "batch_size": int64(32),
			"optimizer": "adam", "layers": []any{int64(256), int64(128), int64(10)}, "dropout": 0.1,
		},
		"metrics": map[string]any{
			"loss": map[string]any{"count": int64(1000), "min": loss, "max": loss + 2, "last": loss + 0.01, "last_step": int64(999), "nans": int64(0)},
			"acc":  map[string]any{"count": int64(1000), "min": 0.1, "max": 1 - loss/10, "last": 1 - loss/10, "last_step": int64(999), "nans": int64(0)},
		},
		"host": map[string]any{
			"hostname": fmt.Sprintf("node-%03d", i%64), "os": "linux", "arch": "amd64", "num_cpu": int64(64),
			"cpu":    map[string]any{"model": "AMD EPYC 9654 96-Core Processor", "mhz": 2400.0, "flags": strings.Repeat("avx2 avx512f sse4_2 ", 24)},
			"memory": map[string]any{"total": int64(540_000_000_000), "available": int64(400_000_000_000)},
			"gpus": []any{
				map[string]any{"name": "NVIDIA H100 80GB HBM3", "memory": int64(85_899_345_920), "driver": "560.35.03", "uuid": "GPU-8d3c1f3e-5b1a-4c2e-9d7f-0a1b2c3d4e5f"},
				map[string]any{"name": "NVIDIA H100 80GB HBM3", "memory": int64(85_899_345_920), "driver": "560.35.03", "uuid": "GPU-1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718"},
			},
		},
		"build": map[string]any{"go_version": "go1.26.8", "module": "example.com/train", "vcs_revision": strings.Repeat("0123456789abcdef", 2) + "01234567", "vcs_modified": false},
	}
}

// load stores the records 0..n-1 in coll, through Raw.Insert when the
// harness has it (as fast as the driver allows), else Backend.Insert.
func (bs *benchSuite) load(b *testing.B, be backend.Backend, coll string, n int) {
	b.Helper()
	ctx := b.Context()
	const chunk = 1000
	for lo := 0; lo < n; lo += chunk {
		docs := map[string]map[string]any{}
		for i := lo; i < min(n, lo+chunk); i++ {
			docs[benchID(i)] = benchDoc(coll, i)
		}
		if bs.raw.Insert != nil {
			if err := bs.raw.Insert(ctx, be, coll, docs); err != nil {
				b.Fatalf("Raw.Insert: %v", err)
			}
			continue
		}
		for id, doc := range docs {
			if err := be.Insert(ctx, coll, id, doc); err != nil {
				b.Fatalf("Insert: %v", err)
			}
		}
	}
}

func (bs *benchSuite) insert(b *testing.B) {
	be, _ := bs.open(b)
	var seq atomic.Int64
	doc := benchDoc("bench-insert", 0)
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		done := measure(b)
		for b.Loop() {
			id := benchID(int(seq.Add(1)))
			doc["id"] = id
			if err := be.Insert(ctx, "bench-insert", id, doc); err != nil {
				b.Fatal(err)
			}
		}
		done(1, "records/s")
	})
	if bs.raw.Insert == nil {
		return
	}
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		done := measure(b)
		for b.Loop() {
			id := benchID(int(seq.Add(1)))
			doc["id"] = id
			if err := bs.raw.Insert(ctx, be, "bench-insert", map[string]map[string]any{id: doc}); err != nil {
				b.Fatal(err)
			}
		}
		done(1, "records/s")
	})
}

func (bs *benchSuite) merge(b *testing.B) {
	_, st := bs.open(b)
	ctx := b.Context()
	rec, err := st.Create(ctx, "bench-merge", record.WithoutHost())
	if err != nil {
		b.Fatal(err)
	}
	d := benchDoc("bench-merge", 0)
	// About 2 KB of user fields (host and build are record's own).
	if err := rec.Update(ctx, map[string]any{"params": d["params"], "machine": d["host"], "code": d["build"]}); err != nil {
		b.Fatal(err)
	}
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		done := measure(b)
		i := 0
		for b.Loop() {
			if err := rec.Set(ctx, "progress.epoch", i); err != nil {
				b.Fatal(err)
			}
			i++
		}
		done(1, "merges/s")
	})
}

// batchTimes records how long each batch of an ingest took and reports
// the cost per point of the first and the last tenth, which must stay
// about equal however long the series grows.
type batchTimes []time.Duration

func (bt batchTimes) report(b *testing.B) {
	if len(bt) == 0 {
		return
	}
	tenth := max(1, len(bt)/10)
	var first, last time.Duration
	for _, d := range bt[:tenth] {
		first += d
	}
	for _, d := range bt[len(bt)-tenth:] {
		last += d
	}
	per := float64(tenth * benchBatch)
	b.ReportMetric(float64(first.Nanoseconds())/per, "ns/pt-first10%")
	b.ReportMetric(float64(last.Nanoseconds())/per, "ns/pt-last10%")
}

func (bs *benchSuite) appendSeries(b *testing.B) {
	be, st := bs.open(b)
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		rec, err := st.Create(ctx, "bench-series", record.WithoutHost(),
			record.WithBatchSize(benchBatch), record.WithFlushInterval(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		m := record.Metrics{"loss": 0}
		var times batchTimes
		step := int64(0)
		done := measure(b)
		for b.Loop() {
			t0 := time.Now()
			for range benchBatch {
				m["loss"] = 1 / float64(step+1)
				rec.Log(step, m)
				step++
			}
			if err := rec.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		done(benchBatch, "points/s")
		times.report(b)
	})
	if bs.raw.AppendPoints == nil {
		return
	}
	runs := 0
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		runs++ // a fresh record per run, so that -count N works
		id := benchID(1_000_000 + runs)
		if err := be.Insert(ctx, "bench-series", id, benchDoc("bench-series", 1)); err != nil {
			b.Fatal(err)
		}
		pts := benchPoints(0, benchBatch)
		var times batchTimes
		done := measure(b)
		for b.Loop() {
			t0 := time.Now()
			if err := bs.raw.AppendPoints(ctx, be, "bench-series", id, "loss", pts); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
			for i := range pts {
				pts[i].Step += benchBatch
			}
		}
		done(benchBatch, "points/s")
		times.report(b)
	})
}

// benchPoints returns n points from step start on.
func benchPoints(start int64, n int) []backend.Point {
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	pts := make([]backend.Point, n)
	for i := range pts {
		s := start + int64(i)
		pts[i] = backend.Point{Step: s, Value: 1 / float64(s+1), Time: t0.Add(time.Duration(s) * time.Millisecond)}
	}
	return pts
}

func (bs *benchSuite) list(b *testing.B) {
	be, st := bs.open(b)
	n := benchEnv(b, BenchRecordsEnv, 10_000)
	const coll = "bench-list"
	bs.load(b, be, coll, n)
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		done := measure(b)
		for b.Loop() {
			got := 0
			for snap, err := range st.List(ctx, coll, record.Fields(benchFields...)) {
				if err != nil {
					b.Fatal(err)
				}
				if _, err := snap.Float64("metrics.loss.min"); err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != n {
				b.Fatalf("List yielded %d records, want %d", got, n)
			}
		}
		done(float64(n), "records/s")
	})
	if bs.raw.ListFields == nil {
		return
	}
	fields := make([][]string, len(benchFields))
	for i, f := range benchFields {
		fields[i] = strings.Split(f, ".")
	}
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		done := measure(b)
		for b.Loop() {
			got, err := bs.raw.ListFields(ctx, be, coll, fields)
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("Raw.ListFields read %d records, want %d", got, n)
			}
		}
		done(float64(n), "records/s")
	})
}

func (bs *benchSuite) topN(b *testing.B) {
	be, st := bs.open(b)
	n := benchEnv(b, BenchRecordsEnv, 10_000)
	const coll = "bench-top"
	bs.load(b, be, coll, n)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(benchLoss(x), benchLoss(y)) })
	want := []string{}
	for _, i := range idx[:min(n, benchTopN)] {
		want = append(want, benchID(i))
	}
	check := func(b *testing.B, who string, got []string) {
		if !slices.Equal(want, got) {
			b.Fatalf("%s top %d = %v, want %v", who, benchTopN, got, want)
		}
	}
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		if err := st.Index(ctx, coll, benchOrderPath); err != nil {
			b.Fatal(err)
		}
		opts := []record.ListOption{record.OrderBy(benchOrderPath, false), record.Limit(benchTopN), record.Fields(benchOrderPath)}
		var got []string
		done := measure(b)
		for b.Loop() {
			got = got[:0]
			for snap, err := range st.List(ctx, coll, opts...) {
				if err != nil {
					b.Fatal(err)
				}
				got = append(got, snap.ID())
			}
		}
		done(benchTopN, "records/s")
		check(b, "Store.List", got)
	})
	if bs.raw.TopN == nil {
		return
	}
	path := strings.Split(benchOrderPath, ".")
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		if bs.raw.Index != nil {
			if err := bs.raw.Index(ctx, be, coll, path); err != nil {
				b.Fatal(err)
			}
		}
		var got []string
		done := measure(b)
		for b.Loop() {
			var err error
			if got, err = bs.raw.TopN(ctx, be, coll, path, benchTopN); err != nil {
				b.Fatal(err)
			}
		}
		done(benchTopN, "records/s")
		check(b, "Raw.TopN", got)
	})
}

func (bs *benchSuite) readSeries(b *testing.B) {
	be, st := bs.open(b)
	ss, ok := be.(backend.SeriesStore)
	if !ok {
		b.Skip("backend does not implement SeriesStore")
	}
	n := benchEnv(b, BenchPointsEnv, 1_000_000)
	const coll = "bench-read"
	ctx := b.Context()
	id := benchID(0)
	if err := be.Insert(ctx, coll, id, benchDoc(coll, 0)); err != nil {
		b.Fatal(err)
	}
	pts := benchPoints(0, benchBatch)
	for lo := 0; lo < n; lo += benchBatch {
		batch := pts[:min(benchBatch, n-lo)]
		if err := ss.AppendSeries(ctx, coll, id, "loss", batch); err != nil {
			b.Fatalf("AppendSeries: %v", err)
		}
		for i := range pts {
			pts[i].Step += benchBatch
		}
	}
	b.Run("library", func(b *testing.B) {
		ctx := b.Context()
		snap, err := st.Get(ctx, coll, id)
		if err != nil {
			b.Fatal(err)
		}
		done := measure(b)
		for b.Loop() {
			got, next := 0, int64(0)
			for batch, err := range snap.Series(ctx, "loss") {
				if err != nil {
					b.Fatal(err)
				}
				if len(batch) > 0 && batch[0].Step != next {
					b.Fatalf("batch starts at step %d, want %d", batch[0].Step, next)
				}
				got += len(batch)
				next += int64(len(batch))
			}
			if got != n {
				b.Fatalf("Series yielded %d points, want %d", got, n)
			}
		}
		done(float64(n), "points/s")
	})
	if bs.raw.ReadPoints == nil {
		return
	}
	b.Run("raw", func(b *testing.B) {
		ctx := b.Context()
		done := measure(b)
		for b.Loop() {
			got, err := bs.raw.ReadPoints(ctx, be, coll, id, "loss", func([]backend.Point) {})
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("Raw.ReadPoints read %d points, want %d", got, n)
			}
		}
		done(float64(n), "points/s")
	})
}
