package record

import (
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/tick"
)

// TestLogClock: Log's clock says what time.Now says, to the millisecond,
// before its counter is calibrated and after (and after a later
// rebase); a base that is hours old still reads right.
func TestLogClock(t *testing.T) {
	check := func(c *logClock, what string) {
		t.Helper()
		for range 1000 {
			before := time.Now().UnixMilli()
			got := c.nowMs()
			after := time.Now().UnixMilli()
			if got < before-1 || got > after+1 {
				t.Fatalf("%s: nowMs() = %d; time.Now says %d..%d", what, got, before, after)
			}
		}
	}
	c := newLogClock(nil)
	check(c, "first clock")
	time.Sleep(tick.MinSpan + 10*time.Millisecond)
	// On a loaded machine a rebase's clock readings may be too wide to
	// measure the rate; rebase as the writer would, until calibrated.
	c2 := newLogClock(c)
	for deadline := time.Now().Add(5 * time.Second); tick.Available() && !c2.cal.Known() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		c2 = newLogClock(c2)
	}
	if tick.Available() && !c2.cal.Known() {
		t.Fatal("rebases for 5 s after MinSpan did not calibrate the counter")
	}
	check(c2, "calibrated clock")
	time.Sleep(tick.MinSpan + 10*time.Millisecond)
	c3 := newLogClock(c2)
	check(c3, "rebased clock")
	// Older bases: ticks up to maxTickAge convert at the measured rate;
	// past it (an hour) the monotonic clock is read instead.
	if c3.cal.Known() {
		for _, age := range []time.Duration{maxTickAge / 2, time.Hour} {
			old := *c3
			old.tick0 -= c3.cal.Ticks(int64(age))
			old.baseNs -= int64(age)
			old.base = old.base.Add(-age)
			check(&old, "a base "+age.String()+" old")
		}
	}
}

// TestLogClockCalibratesSoon: the counter is calibrated once tick.MinSpan
// has passed since the process's first clock, not a whole rebase period
// later, and rebaseClock replaces a record's uncalibrated clock then.
func TestLogClockCalibratesSoon(t *testing.T) {
	if !tick.Available() {
		t.Skip("no invariant counter here")
	}
	tickClock.Lock()
	saved := tickClock.cal
	tickClock.cal, tickClock.anchor = tick.Calibration{}, nil
	tickClock.Unlock()
	t.Cleanup(func() {
		tickClock.Lock()
		if !tickClock.cal.Known() {
			tickClock.cal = saved
		}
		tickClock.Unlock()
	})
	r := &Record{}
	r.clock.Store(newLogClock(nil))
	first := r.clock.Load()
	if first.cal.Known() || first.limit != 0 {
		t.Fatal("the first clock of the process is calibrated")
	}
	if calibrationDue() {
		t.Fatal("calibration due at once")
	}
	r.rebaseClock()
	if r.clock.Load() != first {
		t.Fatal("rebaseClock replaced a fresh clock before it could calibrate")
	}
	time.Sleep(tick.MinSpan + 5*time.Millisecond)
	// The readings of a loaded machine may be too wide at first: rebase
	// as the writer would, until calibrated.
	c := first
	for deadline := time.Now().Add(5 * time.Second); !c.cal.Known() && time.Now().Before(deadline); c = r.clock.Load() {
		r.rebaseClock()
		time.Sleep(time.Millisecond)
	}
	if !c.cal.Known() || c.limit <= 0 {
		t.Fatalf("after %v the clock is not calibrated (limit %d)", time.Since(first.base), c.limit)
	}
	// A known rate is not measured again over a span shorter than a
	// rebase period.
	tickClock.Lock()
	known := tickClock.cal
	tickClock.Unlock()
	time.Sleep(tick.MinSpan + 5*time.Millisecond)
	newLogClock(c)
	tickClock.Lock()
	again := tickClock.cal
	tickClock.Unlock()
	if again != known {
		t.Error("a rebase over less than a second measured the rate again")
	}
	// Another record's new clock shares the calibration at once.
	if c2 := newLogClock(nil); !c2.cal.Known() {
		t.Error("a new clock does not use the process's calibration")
	}
	for range 1000 {
		before := time.Now().UnixMilli()
		got := c.nowMs()
		after := time.Now().UnixMilli()
		if got < before-1 || got > after+1 {
			t.Fatalf("nowMs() = %d; time.Now says %d..%d", got, before, after)
		}
	}
}
