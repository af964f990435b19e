package record

import (
	"time"
	"unsafe"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
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
// the monotonic clock (time.Now reads two clocks): the wall time at base
// plus the monotonic time since. The writer takes a new base every
// second (rebaseClock), so a step of the wall clock shows within a
// second, as it would with time.Now.
type logClock struct {
	base   time.Time // carries its monotonic reading
	baseNs int64     // base as nanoseconds since the Unix epoch
}

func newLogClock() *logClock {
	t := time.Now()
	return &logClock{base: t, baseNs: t.UnixNano()}
}

// nowMs is the wall time in milliseconds since the Unix epoch, as
// time.Now().UTC().Truncate(time.Millisecond) would say.
func (c *logClock) nowMs() int64 { return (c.baseNs + int64(time.Since(c.base))) / 1e6 }

// rebaseClock takes a new base for Log's clock when the last is a second
// old. Writer goroutine only.
func (r *Record) rebaseClock() {
	if time.Since(r.clock.Load().base) >= time.Second {
		r.clock.Store(newLogClock())
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
