package tick_test

import (
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/tick"
)

// TestAvailable: on linux/amd64 the counter is available exactly when
// the kernel reports it constant and non-stop.
func TestAvailable(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		if runtime.GOARCH != "amd64" && tick.Available() {
			t.Fatal("Available on " + runtime.GOARCH)
		}
		t.Skip("the kernel's view of the counter is read on linux/amd64 only")
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip(err)
	}
	flags := string(info)
	want := strings.Contains(flags, " constant_tsc") && strings.Contains(flags, " nonstop_tsc")
	if tick.Available() != want {
		t.Errorf("Available() = %v; the kernel says constant and non-stop: %v", tick.Available(), want)
	}
}

// TestReadAdvances: the counter never goes back on one goroutine, even as
// it moves between threads.
func TestReadAdvances(t *testing.T) {
	if !tick.Available() {
		if tick.Read() != 0 {
			t.Fatal("Read without a counter is not 0")
		}
		t.Skip("no invariant counter here")
	}
	last := tick.Read()
	for i := range 200_000 {
		if i%1000 == 0 {
			runtime.Gosched()
		}
		now := tick.Read()
		if now < last {
			t.Fatalf("the counter went back from %d to %d", last, now)
		}
		last = now
	}
}

// pair reads the monotonic clock and the counter at one instant: the
// counter before and after, the closest of 8 tries; unc is half the gap.
func pair() (t time.Time, ticks, unc int64) {
	unc = -1
	for range 8 {
		k1 := tick.Read()
		now := time.Now()
		k2 := tick.Read()
		if w := k2 - k1; w >= 0 && (unc < 0 || (w+1)/2 < unc) {
			t, ticks, unc = now, k1+w/2, (w+1)/2
		}
	}
	return t, ticks, unc
}

// TestCalibrationAgainstMonotonic: a rate measured over MinSpan converts
// the ticks of a later span to its length as the monotonic clock measures
// it, to within Precision (both spans are measured by the same two
// clocks, so the load of the machine does not matter).
func TestCalibrationAgainstMonotonic(t *testing.T) {
	if !tick.Available() {
		t.Skip("no invariant counter here")
	}
	t0, k0, u0 := pair()
	time.Sleep(tick.MinSpan)
	t1, k1, u1 := pair()
	for !tick.Sufficient(k1-k0, u0+u1) {
		time.Sleep(tick.MinSpan)
		t1, k1, u1 = pair()
	}
	cal, ok := tick.Calibrate(tick.Calibration{}, k1-k0, t1.Sub(t0))
	if !ok || !cal.Known() {
		t.Fatal("Calibrate refused a real measurement")
	}
	time.Sleep(100 * time.Millisecond)
	t2, k2, _ := pair()
	got, want := cal.Nanos(k2-k1), int64(t2.Sub(t1))
	if diff := math.Abs(float64(got - want)); diff > tick.Precision*float64(want)+20_000 {
		t.Errorf("Nanos = %d ns; the monotonic clock says %d ns", got, want)
	}
	// Nanos truncates to a whole nanosecond and Ticks to a whole tick, so
	// the round trip may lose up to a nanosecond's worth of ticks plus one.
	if back, slack := cal.Ticks(got), cal.Ticks(1)+2; math.Abs(float64(back-(k2-k1))) > float64(slack) {
		t.Errorf("Ticks(Nanos(%d)) = %d; more than %d ticks off", k2-k1, back, slack)
	}
	// A second measurement at the same rate is accepted; one that drifts is not.
	if _, ok := tick.Calibrate(cal, k2-k0, t2.Sub(t0)); !ok {
		t.Error("a second measurement of the same counter was refused")
	}
	if _, ok := tick.Calibrate(cal, (k2-k0)*1002/1000, t2.Sub(t0)); ok {
		t.Error("a rate 0.2% off the last was accepted")
	}
}

// TestSufficient: a span is long enough when the uncertainty of its two
// ends is within Precision of it.
func TestSufficient(t *testing.T) {
	for _, c := range []struct {
		ticks, unc int64
		want       bool
	}{
		{1e7, 50, true}, {1e7, 51, false}, {1e9, 5000, true}, {0, 0, false},
		{-1e9, 1, false}, {1e9, -1, false}, {math.MaxInt64, 1 << 40, true},
	} {
		if got := tick.Sufficient(c.ticks, c.unc); got != c.want {
			t.Errorf("Sufficient(%d, %d) = %v", c.ticks, c.unc, got)
		}
	}
}

func TestCalibrateEdges(t *testing.T) {
	for _, c := range []struct {
		ticks   int64
		elapsed time.Duration
	}{{0, time.Second}, {-5, time.Second}, {1000, 0}, {1000, -time.Second}, {1, time.Duration(math.MaxInt64)}} {
		if cal, ok := tick.Calibrate(tick.Calibration{}, c.ticks, c.elapsed); ok || cal.Known() {
			t.Errorf("Calibrate(%d ticks, %v) accepted", c.ticks, c.elapsed)
		}
	}
	// One tick per nanosecond converts every count to itself, up to where
	// it saturates.
	one, ok := tick.Calibrate(tick.Calibration{}, 1e9, time.Second)
	if !ok {
		t.Fatal("1 ns per tick refused")
	}
	for _, n := range []int64{0, 1, 999, 1e9, 1 << 40, 1<<62 + 12345} {
		if got := one.Nanos(n); got != n {
			t.Errorf("Nanos(%d) at 1 ns/tick = %d", n, got)
		}
	}
	if got := one.Nanos(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("Nanos(MaxInt64) = %d", got)
	}
	if _, ok := tick.Calibrate(tick.Calibration{}, 1, time.Hour); ok {
		t.Error("an hour per tick (more than 2^32 ns) accepted")
	}
	slow, ok := tick.Calibrate(tick.Calibration{}, 3, 3*time.Second)
	if !ok {
		t.Fatal("a second per tick refused")
	}
	if got := slow.Nanos(1 << 40); got != math.MaxInt64 {
		t.Errorf("Nanos overflowing = %d; want it saturated", got)
	}
	if got := slow.Nanos(2); got != 2*int64(time.Second) {
		t.Errorf("Nanos(2) at a second per tick = %d", got)
	}
	// Ticks inverts Nanos, saturating; an unknown rate converts to 0.
	for _, n := range []int64{0, 1, 999, 1e9, 1 << 40, 1<<62 + 12345, math.MaxInt64} {
		if got := one.Ticks(n); got != n {
			t.Errorf("Ticks(%d) at 1 ns/tick = %d", n, got)
		}
	}
	if got := slow.Ticks(int64(3 * time.Second)); got != 3 {
		t.Errorf("Ticks(3 s) at a second per tick = %d", got)
	}
	fast, ok := tick.Calibrate(tick.Calibration{}, 1<<40, time.Second)
	if !ok {
		t.Fatal("2^40 ticks per second refused")
	}
	if got := fast.Ticks(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("Ticks overflowing = %d; want it saturated", got)
	}
	// At a counter faster than the nanosecond (2.45 GHz here), the round
	// trip through Nanos loses at most one nanosecond's ticks plus one.
	ghz, ok := tick.Calibrate(tick.Calibration{}, 2_450_000_123, time.Second)
	if !ok {
		t.Fatal("2.45 GHz refused")
	}
	slack := ghz.Ticks(1) + 2
	for k := int64(1); k < 1<<50; k = k*3 + 7 {
		for _, n := range []int64{k, k + 1, k + 2} {
			if back := ghz.Ticks(ghz.Nanos(n)); back > n || n-back > slack {
				t.Errorf("Ticks(Nanos(%d)) = %d at 2.45 GHz; want within %d below", n, back, slack)
			}
		}
	}
	if got := (tick.Calibration{}).Ticks(1e9); got != 0 {
		t.Errorf("Ticks at an unknown rate = %d", got)
	}
}
