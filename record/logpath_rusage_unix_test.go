//go:build unix

package record_test

import (
	"runtime"
	"syscall"
	"time"
)

// cpuTime is the CPU time of the process so far.
func cpuTime() (time.Duration, bool) { return rusage(syscall.RUSAGE_SELF) }

// threadCPU is the CPU time of the calling thread so far (Linux's
// RUSAGE_THREAD); false where the system does not say. The caller locks
// its goroutine to the thread.
func threadCPU() (time.Duration, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	const rusageThread = 1 // RUSAGE_THREAD
	return rusage(rusageThread)
}

func rusage(who int) (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
