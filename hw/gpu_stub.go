//go:build !(cgo && linux)

package hw

import "context"

// detectGPUs reports no GPUs: NVML needs cgo on Linux.
func detectGPUs(context.Context) ([]GPU, error) { return nil, nil }

// gpuSampler reads no GPU metrics without cgo on Linux.
type gpuSampler struct{}

func openGPUs() *gpuSampler                         { return nil }
func (*gpuSampler) sample(map[string]float64) error { return nil }
func (*gpuSampler) close()                          {}
