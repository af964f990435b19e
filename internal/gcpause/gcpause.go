// Package gcpause measures the garbage collector's stop-the-world pauses
// over a span of a program, for the benchmarks that report the longest
// pause of a run (gc-max-us) beside its time and memory, for the library
// and the raw driver alike.
package gcpause

import (
	"math"
	"runtime/metrics"
	"time"
)

// Names of the runtime's cumulative histograms read here: every
// GC-related pause, from the moment the runtime starts to stop the world
// to the moment it resumes; and the part of each spent stopping it,
// waiting for every running goroutine to reach a safe point, which on a
// machine with more runnable threads than cores (a loop, a writer, a
// database server) includes waiting for the operating system to run a
// descheduled thread. Their difference is the collector's own work with
// the world stopped.
const (
	pausesMetric = "/sched/pauses/total/gc:seconds"
	stopsMetric  = "/sched/pauses/stopping/gc:seconds"
)

// Mark is the state of the histograms at the start of a span.
type Mark struct {
	pauses, stops *metrics.Float64Histogram
}

// Start marks the start of a span.
func Start() Mark {
	return Mark{pauses: histogram(pausesMetric), stops: histogram(stopsMetric)}
}

// Max returns the longest pause since m and the longest time one of them
// waited for the world to stop, each as the upper bound of the
// histogram's bucket that holds it (0 when there was none, or where the
// runtime does not export the histograms).
func (m Mark) Max() (pause, stop time.Duration) {
	return longest(m.pauses, histogram(pausesMetric)), longest(m.stops, histogram(stopsMetric))
}

// histogram reads the runtime metric name, or nil.
func histogram(name string) *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// longest returns the upper bound of the bucket of the longest pause
// counted in now and not in before, 0 when none.
func longest(before, now *metrics.Float64Histogram) time.Duration {
	if now == nil {
		return 0
	}
	for i := len(now.Counts) - 1; i >= 0; i-- {
		if before != nil && i < len(before.Counts) && now.Counts[i] <= before.Counts[i] || now.Counts[i] == 0 {
			continue
		}
		hi := now.Buckets[i+1]
		if math.IsInf(hi, 1) {
			hi = now.Buckets[i]
		}
		return time.Duration(hi * float64(time.Second))
	}
	return 0
}
