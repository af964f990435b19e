package record_test

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend/memory"
	_ "github.com/recordlab/go-record/backend/mongo"
	_ "github.com/recordlab/go-record/backend/postgres"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/internal/gcpause"
	"github.com/recordlab/go-record/record"
)

// The benchmarks of Log's path (issue 13): Log's cost in the training
// loop with the writer running, its latency distribution, and the peak
// memory, the GC pauses and the drain of a long run, on every backend.
// PostgreSQL and Mongo run where RECORD_TEST_POSTGRES_DSN and
// RECORD_TEST_MONGO_DSN name servers (skipped otherwise, failed when
// RECORD_TEST_REQUIRE names them). Each sub-benchmark opens its own store
// in its own directories, so -count N works:
//
//	go test -run '^$' -bench 'LogPath$' -count 10 ./record
//	go test -run '^$' -bench 'LogPathLatency' -benchtime 2000000x ./record
//	RECORD_BENCH_POINTS=10000000 go test -run '^$' -bench 'LogPathRun/sqlite/metrics=1$' -benchtime 1x ./record
//
// Run LogPathRun one sub-benchmark per process: the peak RSS (VmHWM) is
// the process's, reset before the run where /proc/self/clear_refs allows.

// BenchPointsEnv is the number of points BenchmarkLogPathRun logs
// (default 1,000,000; the bar is 10,000,000).
const BenchPointsEnv = "RECORD_BENCH_POINTS"

// logpathKinds are the stores of the benchmarks.
var logpathKinds = []string{"mem", "sqlite", "postgres", "mongo"}

// logpathStore opens a fresh store of kind, with a spool in a directory
// of its own, the collection to write in, dropped at the end, and the
// spool's directory.
func logpathStore(b *testing.B, kind string) (st *record.Store, coll, spoolDir string) {
	b.Helper()
	ctx := b.Context()
	coll = "logpath_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	spoolDir = b.TempDir()
	spool := "x-spool=" + url.QueryEscape(spoolDir)
	var dsn string
	switch kind {
	case "mem":
		st := record.NewStore(memory.New())
		record.SetSpool(st, spoolDir, "mem://logpath")
		b.Cleanup(func() { st.Close(context.Background()) })
		return st, coll, spoolDir
	case "sqlite":
		dsn = "sqlite://" + filepath.Join(b.TempDir(), "records.db") + "?" + spool
	case "postgres":
		dsn = logpathServer(b, "RECORD_TEST_POSTGRES_DSN", "postgres")
		dsn = withQuery(dsn, "x-table=logpath_bench&"+spool)
	case "mongo":
		dsn = logpathServer(b, "RECORD_TEST_MONGO_DSN", "mongo")
		u, err := url.Parse(dsn)
		if err != nil {
			b.Fatalf("RECORD_TEST_MONGO_DSN: %v", err)
		}
		u.Path = "/logpath_bench"
		dsn = withQuery(u.String(), spool)
	default:
		b.Fatalf("unknown store kind %q", kind)
	}
	st, err := record.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = st.Drop(ctx, coll)
		st.Close(ctx)
	})
	return st, coll, spoolDir
}

// logpathServer returns the DSN in env, skipping (or failing, when
// RECORD_TEST_REQUIRE names it) without one.
func logpathServer(b *testing.B, env, name string) string {
	b.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		if slices.Contains(strings.Split(os.Getenv("RECORD_TEST_REQUIRE"), ","), name) {
			b.Fatalf("%s is not set and RECORD_TEST_REQUIRE names %s", env, name)
		}
		b.Skipf("%s is not set", env)
	}
	return dsn
}

func withQuery(dsn, q string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + q
	}
	return dsn + "?" + q
}

// logpathMetrics returns a map of n metrics made once, as a training loop
// keeps one and updates it in place, and its names.
func logpathMetrics(n int) (record.Metrics, []string) {
	m := make(record.Metrics, n)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("m%02d", i)
		if i == 0 {
			names[i] = "loss"
		}
		m[names[i]] = 0
	}
	return m, names
}

// logpathValue is the value logged at step, hostile ones among them.
func logpathValue(step int64) float64 {
	switch step % 11 {
	case 0:
		return math.NaN()
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	case 3:
		return math.MaxFloat64
	case 4:
		return -math.MaxFloat64
	case 5:
		return math.Copysign(0, -1)
	case 6:
		return math.SmallestNonzeroFloat64
	}
	return 1 / float64(step+1)
}

// BenchmarkLogPath measures Log (ns/op and allocs/op: one call with 1 or
// 10 metrics, and the caller's update of its Metrics map; "/handle": the
// same points through Record.Metric handles, one call per metric) while
// the writer ships batches meanwhile. Beside it:
// log-cpu-ns/op, the CPU time of the loop's own thread per call (what Log
// costs the training loop, GC assists included, whatever else the machine
// runs; Linux only); drain-ns/pt, the time Close then takes to store what
// is left, per point logged; cpu-ns/pt, the CPU time of the whole process
// (loop, writer, GC) per point, log to drain, so the writer's share is
// cpu-ns/pt less log-cpu-ns/op per point; and pts/s, points logged per
// second of the loop and the drain together.
func BenchmarkLogPath(b *testing.B) {
	for _, kind := range logpathKinds {
		for _, nm := range []int{1, 10} {
			for _, handle := range []bool{false, true} {
				name := fmt.Sprintf("%s/metrics=%d", kind, nm)
				if handle {
					name += "/handle" // Record.Metric handles instead of a Metrics map
				}
				b.Run(name, func(b *testing.B) { logPath(b, kind, nm, handle) })
			}
		}
	}
}

func logPath(b *testing.B, kind string, nm int, handle bool) {
	st, coll, _ := logpathStore(b, kind)
	ctx := b.Context()
	rec, err := st.Create(ctx, coll, record.WithoutHost())
	if err != nil {
		b.Fatal(err)
	}
	m, names := logpathMetrics(nm)
	handles := make([]*record.Metric, nm)
	for i, name := range names {
		handles[i] = rec.Metric(name)
	}
	b.ReportAllocs()
	var step int64
	cpu0, cpuOK := cpuTime()
	runtime.LockOSThread()
	th0, thOK := threadCPU()
	start := time.Now()
	for b.Loop() {
		v := logpathValue(step)
		if handle {
			handles[0].Log(step, v)
			for _, h := range handles[1:] {
				h.Log(step, 0) // what the Metrics map holds for the others
			}
		} else {
			m[names[0]] = v
			rec.Log(step, m)
		}
		step++
	}
	loop := time.Since(start)
	th1, _ := threadCPU()
	runtime.UnlockOSThread()
	if err := rec.Close(ctx, nil); err != nil {
		b.Fatal(err)
	}
	all := time.Since(start)
	pts := float64(step) * float64(nm)
	b.ReportMetric(float64((all-loop).Nanoseconds())/pts, "drain-ns/pt")
	if cpu1, _ := cpuTime(); cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/pts, "cpu-ns/pt")
	}
	if thOK {
		b.ReportMetric(float64((th1-th0).Nanoseconds())/float64(step), "log-cpu-ns/op")
	}
	b.ReportMetric(pts/all.Seconds(), "pts/s")
}

// latencyHist counts durations in log-linear buckets: 16 per power of
// two, so a percentile is read to within 6%.
type latencyHist struct {
	counts [64 * 16]int64
	n      int64
	max    time.Duration
}

func (h *latencyHist) add(d time.Duration) {
	ns := uint64(max(d, 1))
	e := bits.Len64(ns) - 1
	sub := uint64(0)
	if e >= 4 {
		sub = (ns >> (e - 4)) & 15
	} else {
		sub = (ns << (4 - e)) & 15
	}
	h.counts[e*16+int(sub)]++
	h.n++
	h.max = max(h.max, d)
}

// quantile returns the upper bound of the bucket that holds quantile q.
func (h *latencyHist) quantile(q float64) time.Duration {
	want := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= want && c > 0 {
			e, sub := i/16, uint64(i%16)
			hi := (uint64(16+sub+1) << e) >> 4
			return min(time.Duration(hi), h.max)
		}
	}
	return h.max
}

// BenchmarkLogPathLatency times every Log call (one metric) with the
// writer running and reports the median, p99, p99.9 and the worst call
// (the two reads of the clock around each call are included).
func BenchmarkLogPathLatency(b *testing.B) {
	for _, kind := range logpathKinds {
		b.Run(kind, func(b *testing.B) {
			st, coll, _ := logpathStore(b, kind)
			ctx := b.Context()
			rec, err := st.Create(ctx, coll, record.WithoutHost())
			if err != nil {
				b.Fatal(err)
			}
			m, names := logpathMetrics(1)
			h := new(latencyHist)
			var step int64
			for b.Loop() {
				m[names[0]] = logpathValue(step)
				t0 := time.Now()
				rec.Log(step, m)
				h.add(time.Since(t0))
				step++
			}
			if err := rec.Close(ctx, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(h.quantile(0.5).Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(h.quantile(0.99).Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(h.quantile(0.999).Nanoseconds()), "p99.9-ns")
			b.ReportMetric(float64(h.max.Nanoseconds()), "max-ns")
		})
	}
}

// BenchmarkLogPathRun logs RECORD_BENCH_POINTS points (default 1M), with 1
// or 10 metrics, as fast as the loop goes, then closes the record, and
// reports the peak RSS of the process during the run (peak-RSS-MB), the
// longest GC pause of the run (gc-max-us; the histogram's bucket bound)
// and the longest time a pause waited for the world to stop
// (gc-stop-max-us, see gcStops), the loop's ns per Log call, the time Close took to drain (close-s),
// the spool's size when the loop ended (spool-MB) and pts/s from the
// first Log to the end of Close. Every point is then read back and
// checked: each step once, with its value, bit for bit. With mem://, the
// store itself holds every point in the heap.
func BenchmarkLogPathRun(b *testing.B) {
	total := 1_000_000
	if s := os.Getenv(BenchPointsEnv); s != "" {
		var err error
		if total, err = strconv.Atoi(s); err != nil || total <= 0 {
			b.Fatalf("%s=%q: want a positive number of points", BenchPointsEnv, s)
		}
	}
	for _, kind := range logpathKinds {
		for _, nm := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/metrics=%d", kind, nm), func(b *testing.B) {
				for range b.N {
					logpathRun(b, kind, nm, total/nm)
				}
			})
		}
	}
}

func logpathRun(b *testing.B, kind string, nm, steps int) {
	b.StopTimer()
	st, coll, spoolDir := logpathStore(b, kind)
	ctx := b.Context()
	rec, err := st.Create(ctx, coll, record.WithoutHost())
	if err != nil {
		b.Fatal(err)
	}
	m, names := logpathMetrics(nm)
	runtime.GC()
	debug.FreeOSMemory()
	rssOK := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	// The pauses of this run only: the histogram is cumulative, so
	// compare with what it held before.
	gc := gcpause.Start()
	b.StartTimer()
	start := time.Now()
	for i := range steps {
		m[names[0]] = logpathValue(int64(i))
		rec.Log(int64(i), m)
	}
	loop := time.Since(start)
	spooled := treeBytes(spoolDir)
	closeStart := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err = rec.Close(cctx, nil)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	peak, peakOK := peakRSS()
	pause, stop := gc.Max()
	pts := float64(steps * nm)
	if rssOK && peakOK {
		b.ReportMetric(peak, "peak-RSS-MB")
	}
	b.ReportMetric(float64(pause.Microseconds()), "gc-max-us")
	b.ReportMetric(float64(stop.Microseconds()), "gc-stop-max-us")
	b.ReportMetric(float64(loop.Nanoseconds())/float64(steps), "loop-ns/log")
	b.ReportMetric(time.Since(closeStart).Seconds(), "close-s")
	b.ReportMetric(float64(spooled)/(1<<20), "spool-MB")
	b.ReportMetric(pts/el.Seconds(), "pts/s")
	checkLogged(b, st, coll, rec.ID(), "loss", int64(steps))
	b.StartTimer()
}

// checkLogged fails b unless metric of the record holds steps 0..n-1,
// each once with logpathValue's value, bit for bit.
func checkLogged(b *testing.B, st *record.Store, coll, id, metric string, n int64) {
	b.Helper()
	snap, err := st.Get(b.Context(), coll, id)
	if err != nil {
		b.Fatal(err)
	}
	seen := make([]bool, n)
	var got int64
	for pts, err := range snap.Series(b.Context(), metric) {
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range pts {
			if p.Step < 0 || p.Step >= n || seen[p.Step] {
				b.Fatalf("step %d stored twice or never logged (0..%d logged)", p.Step, n-1)
			}
			seen[p.Step] = true
			got++
			if w := logpathValue(p.Step); math.Float64bits(p.Value) != math.Float64bits(w) {
				b.Fatalf("step %d stored %v (%#x), logged %v (%#x)", p.Step, p.Value, math.Float64bits(p.Value), w, math.Float64bits(w))
			}
		}
	}
	if got != n {
		b.Fatalf("%d distinct steps stored, %d logged", got, n)
	}
}

// treeBytes is the size of the files under dir (0 where it cannot be read).
func treeBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}
