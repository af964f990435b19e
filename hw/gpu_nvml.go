//go:build cgo && linux

package hw

import (
	"context"
	"errors"
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// newNVML returns the NVML library; tests replace it with go-nvml's mocks.
var newNVML = func() nvml.Interface { return nvml.New() }

// detectGPUs lists the NVIDIA GPUs through NVML.
func detectGPUs(context.Context) ([]GPU, error) {
	return gpusFrom(newNVML())
}

// noNVIDIA reports an Init result that means "no NVIDIA GPU here" rather
// than a failure: no libnvidia-ml, no kernel driver, or no GPU.
func noNVIDIA(ret nvml.Return) bool {
	return ret == nvml.ERROR_LIBRARY_NOT_FOUND || ret == nvml.ERROR_DRIVER_NOT_LOADED ||
		ret == nvml.ERROR_GPU_NOT_FOUND
}

// gpusFrom maps what lib reports to GPUs. A fact a GPU does not support
// is absent; a fact that fails is absent and its error joined.
func gpusFrom(lib nvml.Interface) (gpus []GPU, err error) {
	ret, _, err := call("nvml init", -1, func() (nvml.Return, nvml.Return) { r := lib.Init(); return r, nvml.SUCCESS })
	if err != nil {
		return nil, err
	}
	if noNVIDIA(ret) {
		return nil, nil
	}
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("hw: nvml init: %w", ret)
	}
	defer lib.Shutdown()

	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	driver, _, err := call("driver version", -1, lib.SystemGetDriverVersion)
	add(err)
	cudaVersion, _, err := call("cuda driver version", -1, lib.SystemGetCudaDriverVersion)
	add(err)
	cuda := ""
	if cudaVersion > 0 {
		cuda = fmt.Sprintf("%d.%d", cudaVersion/1000, cudaVersion%1000/10)
	}
	n, _, err := call("device count", -1, lib.DeviceGetCount)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	for i := range n {
		dev, _, err := call("handle", i, func() (nvml.Device, nvml.Return) { return lib.DeviceGetHandleByIndex(i) })
		if err != nil || dev == nil {
			add(err)
			continue
		}
		gpu := GPU{Index: i, DriverVersion: driver, CUDADriverVersion: cuda}
		gpu.Name, _, err = call("name", i, dev.GetName)
		add(err)
		gpu.UUID, _, err = call("uuid", i, dev.GetUUID)
		add(err)
		pci, _, err := call("pci info", i, dev.GetPciInfo)
		add(err)
		gpu.PCIBusID = cString(pci.BusId[:])
		mem, _, err := call("memory info", i, dev.GetMemoryInfo)
		add(err)
		gpu.MemoryTotal = mem.Total
		cc, _, err := call("compute capability", i, func() ([2]int, nvml.Return) {
			major, minor, ret := dev.GetCudaComputeCapability()
			return [2]int{major, minor}, ret
		})
		add(err)
		if cc[0] > 0 {
			gpu.ComputeCapability = fmt.Sprintf("%d.%d", cc[0], cc[1])
		}
		mw, ok, err := call("power limit", i, dev.GetEnforcedPowerLimit)
		add(err)
		if ok {
			w := float64(mw) / 1000
			gpu.PowerLimit = &w
		}
		clock, _, err := call("max sm clock", i, func() (uint32, nvml.Return) { return dev.GetMaxClockInfo(nvml.CLOCK_SM) })
		add(err)
		gpu.MaxSMClockMHz = int(clock)
		mig, ok, err := call("mig mode", i, func() (int, nvml.Return) {
			current, _, ret := dev.GetMigMode()
			return current, ret
		})
		add(err)
		if ok {
			gpu.MIGMode = "disabled"
			if mig == nvml.DEVICE_MIG_ENABLE {
				gpu.MIGMode = "enabled"
			}
		}
		gpus = append(gpus, gpu)
	}
	return gpus, errors.Join(errs...)
}

// call runs one NVML query for GPU index (-1: the system). ok is false
// when the query failed (err says why) or the device does not support it
// (ERROR_NOT_SUPPORTED, err nil). A panic is an error too: go-nvml's mocks
// panic on the methods they do not implement.
func call[T any](what string, index int, f func() (T, nvml.Return)) (v T, ok bool, err error) {
	var zero T
	where := "hw: nvml"
	if index >= 0 {
		where = fmt.Sprintf("hw: gpu %d", index)
	}
	defer func() {
		if r := recover(); r != nil {
			v, ok, err = zero, false, fmt.Errorf("%s: %s: %v", where, what, r)
		}
	}()
	v, ret := f()
	switch ret {
	case nvml.SUCCESS:
		return v, true, nil
	case nvml.ERROR_NOT_SUPPORTED:
		return zero, false, nil
	}
	return zero, false, fmt.Errorf("%s: %s: %w", where, what, ret)
}

// cString converts a NUL-terminated C char array.
func cString(b []int8) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// gpuSampler reads live GPU metrics; nil means no GPUs.
type gpuSampler struct {
	lib  nvml.Interface
	devs []nvml.Device
}

// openGPUs initialises NVML for sampling; it returns nil where there are
// no NVIDIA GPUs or NVML fails.
func openGPUs() *gpuSampler { return openGPUsFrom(newNVML()) }

func openGPUsFrom(lib nvml.Interface) *gpuSampler {
	ret, _, err := call("nvml init", -1, func() (nvml.Return, nvml.Return) { r := lib.Init(); return r, nvml.SUCCESS })
	if err != nil || ret != nvml.SUCCESS {
		return nil
	}
	n, _, err := call("device count", -1, lib.DeviceGetCount)
	if err != nil || n == 0 {
		lib.Shutdown()
		return nil
	}
	g := &gpuSampler{lib: lib}
	for i := range n {
		dev, _, err := call("handle", i, func() (nvml.Device, nvml.Return) { return lib.DeviceGetHandleByIndex(i) })
		if err != nil {
			dev = nil // keep the index; its metrics are skipped
		}
		g.devs = append(g.devs, dev)
	}
	return g
}

// sample adds gpu.<i>.utilization (percent), gpu.<i>.memory_used (bytes),
// gpu.<i>.temperature (°C) and gpu.<i>.power (watts) to m.
func (g *gpuSampler) sample(m map[string]float64) error {
	if g == nil {
		return nil
	}
	var errs []error
	for i, dev := range g.devs {
		if dev == nil {
			continue
		}
		p := fmt.Sprintf("gpu.%d.", i)
		keep := func(name string, v float64, ok bool, err error) {
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				m[p+name] = v
			}
		}
		u, ok, err := call("utilization", i, dev.GetUtilizationRates)
		keep("utilization", float64(u.Gpu), ok, err)
		mem, ok, err := call("memory info", i, dev.GetMemoryInfo)
		keep("memory_used", float64(mem.Used), ok, err)
		t, ok, err := call("temperature", i, func() (uint32, nvml.Return) { return dev.GetTemperature(nvml.TEMPERATURE_GPU) })
		keep("temperature", float64(t), ok, err)
		mw, ok, err := call("power usage", i, dev.GetPowerUsage)
		keep("power", float64(mw)/1000, ok, err)
	}
	return errors.Join(errs...)
}

// close releases NVML.
func (g *gpuSampler) close() {
	if g != nil {
		g.lib.Shutdown()
	}
}
