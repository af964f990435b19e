package hw_test

import (
	"testing"

	"github.com/recordlab/go-record/hw"
)

// BenchmarkDetectFirst measures the first Detect of a process: every
// source is read (gopsutil, NVML, git).
func BenchmarkDetectFirst(b *testing.B) {
	for b.Loop() {
		hw.ResetCache()
		if _, err := hw.Detect(b.Context(), hw.Options{}); err != nil {
			b.Logf("partial: %v", err)
		}
	}
}

// BenchmarkDetectCached measures every later Detect: a copy of the cached
// facts plus the per-call run facts.
func BenchmarkDetectCached(b *testing.B) {
	hw.ResetCache()
	hw.Detect(b.Context(), hw.Options{})
	b.ReportAllocs()
	for b.Loop() {
		hw.Detect(b.Context(), hw.Options{})
	}
}

// BenchmarkDetectCachedEnv is BenchmarkDetectCached with an environment
// allowlist.
func BenchmarkDetectCachedEnv(b *testing.B) {
	opts := hw.Options{Env: []string{"CUDA_*", "OMP_NUM_THREADS", "HOME"}}
	hw.Detect(b.Context(), opts)
	b.ReportAllocs()
	for b.Loop() {
		hw.Detect(b.Context(), opts)
	}
}

// BenchmarkSample measures one Sampler.Sample.
func BenchmarkSample(b *testing.B) {
	s := hw.NewSampler(b.Context())
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s.Sample(b.Context())
	}
}
