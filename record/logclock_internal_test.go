package record

import (
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/tick"
)

// TestLogClock: Log's clock says what time.Now says, to the millisecond,
// before its counter is calibrated and after (and after a rebase that
// calibrates it again); a base that is hours old still reads right.
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
	c2 := newLogClock(c)
	if tick.Available() && !c2.cal.Known() {
		t.Fatal("a rebase after MinSpan did not calibrate the counter")
	}
	check(c2, "calibrated clock")
	time.Sleep(tick.MinSpan + 10*time.Millisecond)
	c3 := newLogClock(c2)
	check(c3, "recalibrated clock")
	// An old base: the counter's ticks since then convert without
	// overflow (an hour of ticks at the measured rate).
	if c3.cal.Known() {
		old := *c3
		hour := int64(float64(time.Hour) / float64(c3.cal.Nanos(1<<30)) * (1 << 30))
		old.tick0 -= hour
		old.baseNs -= int64(time.Hour)
		check(&old, "a base an hour old")
	}
}
