package record

import (
	"sync"
	"time"
	"unsafe"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
	"github.com/recordlab/go-record/internal/tick"
)

// point is one logged point while it waits in memory: step, value and
// wall time in milliseconds since the Unix epoch (the precision points
// are stored with), 24 bytes. It holds no pointers (a backend.Point holds
// a time.Time, whose location is one), so the garbage collector never
// scans the backlog, and it has the journal's own form
// (spool.RawPoint), so a chunk spilled over the memory bound is written
// to the spool with a copy, as fast as the loop logs. A point becomes a
// backend.Point only when its batch is shipped.
type point = spool.RawPoint

// pointBytes is what one point waiting in memory costs, for the memory
// bound (WithMemoryBound): a point takes 24 bytes, and counts twice
// because the garbage collector lets the heap grow to about twice what
// is live.
const pointBytes = 2 * int(unsafe.Sizeof(point{}))

// firstChunk is the capacity of a new chunk when the batch size is
// larger: chunks then grow by doubling up to the batch size, so that a
// large WithBatchSize costs memory only for points actually logged.
const firstChunk = 4096

// freeChunks and maxFreeChunks bound how many shipped or spooled chunks
// of the first size a record keeps for Log to reuse (freeCap).
const (
	freeChunks    = 32
	maxFreeChunks = 1024
)

// freeCap is how many chunks a record keeps for Log to reuse: as many as
// hold a quarter of the points the memory bound allows (what one spill
// frees, see spillIfOver), between freeChunks and maxFreeChunks, so that
// while the loop outruns the store Log refills the chunks the spill
// emptied and the heap stays flat, with no garbage for the collector.
// The points waiting take at most a quarter of the bound's bytes (half
// its points, each counted twice) and the chunks kept an eighth.
func freeCap(c createConfig) int {
	return min(maxFreeChunks, max(freeChunks, c.memoryBound/pointBytes/4/min(c.batchSize, firstChunk)))
}

// appendBackend appends pts to dst as the points a batch ships.
func appendBackend(dst []backend.Point, pts []point) []backend.Point {
	for _, p := range pts {
		dst = append(dst, backend.Point{Step: p.Step, Value: p.Value, Time: time.UnixMilli(p.Ms).UTC()})
	}
	return dst
}

// logClock reads the wall clock in milliseconds for Log with one read of
// a cheap clock (time.Now reads two clocks, each 30-40 ns here): the wall
// time at base plus the time since, from the processor's time-stamp
// counter where it is invariant and calibrated (internal/tick; 12 ns),
// else from the monotonic clock. The writer takes a new base every second
// (rebaseClock), so a step of the wall clock shows within a second, as it
// would with time.Now, and each base measures the counter's rate again.
type logClock struct {
	base   time.Time // carries its monotonic reading
	baseNs int64     // base as nanoseconds since the Unix epoch
	tick0  int64     // the counter at base
	unc    int64     // tick0 is within ±unc ticks of the instant of base
	exact  bool      // base and tick0 were read at one instant (clockPair)
	cal    tick.Calibration
	// limit is how many ticks after tick0 nowMs converts with cal
	// (maxTickAge); 0 when the counter is not used. Past it, or before
	// tick0, nowMs reads the monotonic clock.
	limit int64
}

// rebaseEvery is how often the writer takes a new base for Log's clock.
const rebaseEvery = time.Second

// maxTickAge bounds the age of a base whose ticks nowMs converts: a rate
// known to tick.Precision is then within 100 µs, and a base the writer
// could not renew (a store that fails for minutes, during which it backs
// off) costs only the monotonic clock's price.
const maxTickAge = 10 * time.Second

// tickClock is the calibration of the counter that the clocks of every
// record share: measured first against the first clock of the process
// (anchor) once tick.MinSpan has passed, then by each rebase over the
// second since the last, and given up for the process (broken) when the
// counter does not run at one steady rate.
var tickClock struct {
	sync.Mutex
	cal    tick.Calibration
	anchor *logClock
	broken bool
}

// newLogClock returns a clock based now; prev, when not nil, is the
// clock it replaces, whose base calibrates the counter (or the process's
// first clock's, until the counter is calibrated).
func newLogClock(prev *logClock) *logClock {
	if !tick.Available() {
		t := time.Now()
		return &logClock{base: t, baseNs: t.UnixNano()}
	}
	t, k, unc, exact := clockPair()
	c := &logClock{base: t, baseNs: t.UnixNano(), tick0: k, unc: unc, exact: exact}
	tickClock.Lock()
	defer tickClock.Unlock()
	ref := prev
	if !tickClock.cal.Known() {
		ref = tickClock.anchor
	}
	if ref != nil && ref.exact && exact && !tickClock.broken {
		// A known rate is measured again only over a whole rebase period,
		// not over the short span of a clock replaced to calibrate.
		minSpan := tick.MinSpan
		if tickClock.cal.Known() {
			minSpan = rebaseEvery
		}
		if span, ticks := t.Sub(ref.base), k-ref.tick0; span >= minSpan && tick.Sufficient(ticks, ref.unc+unc) {
			cal, ok := tick.Calibrate(tickClock.cal, ticks, span)
			tickClock.cal, tickClock.broken = cal, !ok
		}
	}
	if tickClock.anchor == nil && exact {
		tickClock.anchor = c
	}
	c.cal = tickClock.cal
	if exact && c.cal.Known() {
		c.limit = c.cal.Ticks(int64(maxTickAge))
	}
	return c
}

// calibrationDue reports whether a clock whose counter is not calibrated
// should be replaced: the counter now is (by another record's clock), or
// the process's first clock is old enough to calibrate it against.
func calibrationDue() bool {
	tickClock.Lock()
	defer tickClock.Unlock()
	switch a := tickClock.anchor; {
	case tickClock.broken || a == nil:
		return false
	case tickClock.cal.Known():
		return true
	default:
		return time.Since(a.base) >= tick.MinSpan && tick.Sufficient(tick.Read()-a.tick0, 2*a.unc)
	}
}

// pairTicks is how many ticks (1-10 µs at the rates of real processors)
// may pass while clockPair reads time.Now.
const pairTicks = 20_000

// clockPair reads the clocks and the counter at one instant: the counter
// before and after time.Now, four times, and more while the two readings
// are far apart (the goroutine was descheduled in between), at most 8;
// it keeps the closest pair (the first is often slower: a cold cache).
// ticks is the middle of the two readings, within ±unc of the instant of
// t. exact is false when they never came within pairTicks.
func clockPair() (t time.Time, ticks, unc int64, exact bool) {
	unc = -1
	for i := range 8 {
		k1 := tick.Read()
		now := time.Now()
		k2 := tick.Read()
		if w := k2 - k1; w >= 0 && (unc < 0 || (w+1)/2 < unc) {
			t, ticks, unc = now, k1+w/2, (w+1)/2
		}
		if i >= 3 && unc >= 0 && unc <= pairTicks/2 {
			return t, ticks, unc, true
		}
	}
	if unc < 0 {
		return time.Now(), tick.Read(), 0, false
	}
	return t, ticks, unc, false
}

// nowMs is the wall time in milliseconds since the Unix epoch, as
// time.Now().UTC().Truncate(time.Millisecond) would say.
func (c *logClock) nowMs() int64 {
	if d := tick.Read() - c.tick0; uint64(d) < uint64(c.limit) {
		return (c.baseNs + c.cal.Nanos(d)) / 1e6
	}
	return (c.baseNs + int64(time.Since(c.base))) / 1e6
}

// rebaseClock takes a new base for Log's clock when the last is a second
// old, or sooner when that calibrates the counter (calibrationDue).
// Writer goroutine only.
func (r *Record) rebaseClock() {
	old := r.clock.Load()
	if time.Since(old.base) >= rebaseEvery || tick.Available() && !old.cal.Known() && calibrationDue() {
		r.clock.Store(newLogClock(old))
	}
}

// buffer holds one metric's logged points, not yet cut into batches, in
// chunks of at most the batch size, so that Log never copies what it
// holds (except while a chunk grows to the batch size) and each chunk is
// one batch.
type buffer struct {
	name string
	idx  int       // index in Record.metrics
	cur  []point   // the chunk being filled
	full [][]point // chunks filled to the batch size
}

// add appends p.
func (b *buffer) add(p point, r *Record) {
	if len(b.cur) == cap(b.cur) {
		b.next(r.cfg.batchSize, r.free)
	}
	b.cur = append(b.cur, p)
}

// next makes room in cur for one more point: a full chunk is set aside
// and replaced by a free one, a smaller chunk grows. It is kept out of
// line so that add, on Log's path, is inlined.
//
//go:noinline
func (b *buffer) next(size int, free chan []point) {
	n := len(b.cur)
	if n >= size {
		b.full = append(b.full, b.cur)
		b.cur, n = nil, 0
	}
	if n == 0 {
		select {
		case c := <-free:
			b.cur = c
		default:
			b.cur = make([]point, 0, min(size, firstChunk))
		}
		return
	}
	c := make([]point, n, min(size, 2*n))
	copy(c, b.cur)
	b.cur = c
}

// recycle offers a chunk that was shipped or spooled for Log to reuse,
// if it has the size of a new one.
func (r *Record) recycle(pts []point) {
	if cap(pts) != min(r.cfg.batchSize, firstChunk) {
		return
	}
	select {
	case r.free <- pts[:0]:
	default:
	}
}
