// Package tick reads the processor's time-stamp counter, a clock several
// times cheaper to read than the operating system's monotonic clock (12
// against 32-40 ns on the machines this library is tested on), for the
// one place where that difference matters: the timestamp Record.Log takes
// for every point.
//
// The counter has no unit; a caller converts ticks to time with a rate it
// measures against the monotonic clock (see Calibration). Where the
// processor does not promise a counter that runs at a constant rate on
// every core, whatever the power state (the invariant TSC of amd64), or on
// other architectures, Available is false and the caller reads the
// monotonic clock instead.
package tick

import (
	"math/bits"
	"time"
)

// Available reports whether Read returns an invariant counter.
func Available() bool { return available }

// Read returns the counter, or 0 where it is not available.
func Read() int64 {
	if !available {
		return 0
	}
	return read()
}

// Calibration converts ticks to nanoseconds: a rate measured against the
// monotonic clock between two readings at least MinSpan apart, each
// taken precisely enough that the rate is known to Precision (Sufficient).
type Calibration struct {
	rate uint64 // nanoseconds per tick, in 32.32 fixed point; 0 when unknown
}

// MinSpan is the shortest span over which a rate is measured, whatever
// the precision of its two readings: long enough that a clock whose
// readings were coarser than they seemed is caught by the next
// measurement, a second later, as a drift (see Calibrate).
const MinSpan = 20 * time.Millisecond

// Precision is the relative error a measured rate may have: 10 µs per
// second of ticks converted, a hundredth of the millisecond points are
// stored with.
const Precision = 1e-5

// Sufficient reports whether a span of ticks between two readings of the
// counter, each known to within ±unc ticks of the instant the monotonic
// clock was read, measures the rate to Precision.
func Sufficient(ticks, unc int64) bool {
	return unc >= 0 && ticks > 0 && float64(2*unc) <= Precision*float64(ticks)
}

// maxDrift is how far a new measurement may differ from the previous one
// before Calibrate says the counter cannot be trusted (a virtual machine
// that migrated, a counter that is not invariant after all).
const maxDrift = 0.001

// Calibrate returns the rate of ticks over elapsed, compared with prev:
// ok is false when the counter did not advance, went back, or runs at a
// rate more than 0.1% from prev's (when prev is known); the caller should
// then stop using it.
func Calibrate(prev Calibration, ticks int64, elapsed time.Duration) (c Calibration, ok bool) {
	if ticks <= 0 || elapsed <= 0 {
		return Calibration{}, false
	}
	hi, lo := bits.Mul64(uint64(elapsed), 1<<32)
	if hi >= uint64(ticks) {
		return Calibration{}, false // more than 2^32 ns per tick
	}
	rate, _ := bits.Div64(hi, lo, uint64(ticks))
	if rate == 0 {
		return Calibration{}, false
	}
	if prev.rate != 0 {
		drift := float64(rate)/float64(prev.rate) - 1
		if drift > maxDrift || drift < -maxDrift {
			return Calibration{}, false
		}
	}
	return Calibration{rate: rate}, true
}

// Known reports whether c holds a rate.
func (c Calibration) Known() bool { return c.rate != 0 }

// Ticks converts nanoseconds (not negative) to ticks, the inverse of
// Nanos, saturating at the largest int64; 0 when c is not known.
func (c Calibration) Ticks(ns int64) int64 {
	if c.rate == 0 {
		return 0
	}
	hi, lo := uint64(ns)>>32, uint64(ns)<<32
	if hi >= c.rate {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, c.rate)
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}

// Nanos converts ticks (not negative) to nanoseconds, saturating at the
// largest int64.
func (c Calibration) Nanos(ticks int64) int64 {
	hi, lo := bits.Mul64(uint64(ticks), c.rate)
	if hi>>31 != 0 {
		return 1<<63 - 1
	}
	return int64(hi<<32 | lo>>32)
}
