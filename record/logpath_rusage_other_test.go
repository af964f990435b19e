//go:build !unix

package record_test

import "time"

// cpuTime is the CPU time of the process so far: unknown here.
func cpuTime() (time.Duration, bool) { return 0, false }

// threadCPU is the CPU time of the calling thread so far: unknown here.
func threadCPU() (time.Duration, bool) { return 0, false }
