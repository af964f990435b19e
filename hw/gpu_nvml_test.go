//go:build cgo && linux

package hw

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"github.com/google/go-cmp/cmp"
)

// h100Box is go-nvml's 8-GPU DGX H100 mock with the queries it leaves
// out filled in as an H100 SXM answers them (see
// ../shared/data/h100-nvml.json).
func h100Box() *server.Server {
	s := dgxh100.New()
	for i, d := range s.Devices {
		dev := d.(*server.Device)
		busID := dev.PciBusID
		dev.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
			p := nvml.PciInfo{PciDeviceId: dev.Config.PciDeviceId}
			for k, c := range []byte(busID) {
				p.BusId[k] = int8(c)
			}
			return p, nvml.SUCCESS
		}
		dev.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700000, nvml.SUCCESS }
		dev.GetMaxClockInfoFunc = func(c nvml.ClockType) (uint32, nvml.Return) {
			if c == nvml.CLOCK_SM {
				return 1980, nvml.SUCCESS
			}
			return 2619, nvml.SUCCESS
		}
		dev.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: uint32(10 * i), Memory: 3}, nvml.SUCCESS
		}
		dev.GetMemoryInfoFunc = func() (nvml.Memory, nvml.Return) {
			m := dev.MemoryInfo
			m.Used = 503316480
			m.Free = m.Total - m.Used
			return m, nvml.SUCCESS
		}
		dev.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 33, nvml.SUCCESS }
		dev.GetPowerUsageFunc = func() (uint32, nvml.Return) { return 106154, nvml.SUCCESS }
	}
	return s
}

func TestGPUsH100Box(t *testing.T) {
	box := h100Box()
	box.Devices[3].(*server.Device).SetMigMode(nvml.DEVICE_MIG_ENABLE)
	gpus, err := gpusFrom(box)
	if err != nil {
		t.Fatalf("gpusFrom: %v", err)
	}
	var want []GPU
	for i, d := range box.Devices {
		mig := "disabled"
		if i == 3 {
			mig = "enabled"
		}
		watts := 700.0
		want = append(want, GPU{
			Index:             i,
			Name:              "NVIDIA H100 80GB HBM3",
			UUID:              d.(*server.Device).UUID,
			PCIBusID:          d.(*server.Device).PciBusID,
			MemoryTotal:       80 << 30,
			DriverVersion:     "550.54.15",
			CUDADriverVersion: "12.4",
			ComputeCapability: "9.0",
			PowerLimit:        &watts,
			MaxSMClockMHz:     1980,
			MIGMode:           mig,
		})
	}
	if diff := cmp.Diff(want, gpus); diff != "" {
		t.Errorf("gpus (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, g := range gpus {
		if !strings.HasPrefix(g.UUID, "GPU-") || len(g.UUID) != 40 || seen[g.UUID] {
			t.Errorf("uuid %q: want a distinct GPU-<36 characters>", g.UUID)
		}
		seen[g.UUID] = true
	}
	if n, m := len(box.InitCalls()), len(box.ShutdownCalls()); n != 1 || m != 1 {
		t.Errorf("Init called %d times, Shutdown %d, want 1 and 1", n, m)
	}

	// The stored form: numbers are numbers, versions are strings.
	b, _ := json.Marshal(gpus[0])
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	wantDoc := map[string]any{
		"index": 0.0, "name": "NVIDIA H100 80GB HBM3", "uuid": gpus[0].UUID, "pci_bus_id": "0000:00:00.0",
		"memory_total": float64(80 << 30), "driver_version": "550.54.15", "cuda_driver_version": "12.4",
		"compute_capability": "9.0", "power_limit": 700.0, "max_sm_clock_mhz": 1980.0, "mig_mode": "disabled",
	}
	if diff := cmp.Diff(wantDoc, doc); diff != "" {
		t.Errorf("gpu JSON (-want +got):\n%s", diff)
	}
}

// TestGPUsBareMock runs the mapping on go-nvml's mock as shipped, whose
// unimplemented queries panic: the facts it has come back, the others
// are errors, and nothing panics.
func TestGPUsBareMock(t *testing.T) {
	gpus, err := gpusFrom(dgxh100.New())
	if len(gpus) != 8 {
		t.Fatalf("got %d GPUs, want 8", len(gpus))
	}
	if err == nil || !strings.Contains(err.Error(), "power limit") {
		t.Errorf("error = %v, want the unimplemented power limit reported", err)
	}
	g := gpus[7]
	if g.Index != 7 || g.Name != "NVIDIA H100 80GB HBM3" || g.ComputeCapability != "9.0" || g.MemoryTotal != 80<<30 || g.PowerLimit != nil {
		t.Errorf("gpu 7 = %+v", g)
	}
}

func TestGPUsNoDriver(t *testing.T) {
	for _, ret := range []nvml.Return{nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED} {
		lib := &mock.Interface{InitFunc: func() nvml.Return { return ret }}
		gpus, err := gpusFrom(lib)
		if gpus != nil || err != nil {
			t.Errorf("Init %v: gpusFrom = %v, %v, want no GPUs and no error", ret, gpus, err)
		}
		if s := openGPUsFrom(lib); s != nil {
			t.Errorf("Init %v: openGPUsFrom = %v, want nil", ret, s)
		}
		m := map[string]float64{}
		if err := (*gpuSampler)(nil).sample(m); err != nil || len(m) != 0 {
			t.Errorf("nil sampler: %v, %v", m, err)
		}
	}
}

func TestGPUsInitFails(t *testing.T) {
	lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_NO_PERMISSION }}
	gpus, err := gpusFrom(lib)
	if gpus != nil || !errors.Is(err, nvml.ERROR_NO_PERMISSION) {
		t.Errorf("gpusFrom = %v, %v, want ERROR_NO_PERMISSION", gpus, err)
	}
}

func TestGPUsNotSupported(t *testing.T) {
	box := h100Box()
	for _, d := range box.Devices {
		dev := d.(*server.Device)
		dev.GetMigModeFunc = func() (int, int, nvml.Return) { return 0, 0, nvml.ERROR_NOT_SUPPORTED }
		dev.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
	}
	gpus, err := gpusFrom(box)
	if err != nil {
		t.Fatal(err)
	}
	if g := gpus[0]; g.MIGMode != "" || g.PowerLimit != nil {
		t.Errorf("unsupported facts present: %+v", g)
	}
}

// TestDetectMockedNVML runs Detect on the mocked H100 box.
func TestDetectMockedNVML(t *testing.T) {
	saved := newNVML
	t.Cleanup(func() { newNVML = saved; resetCache() })
	newNVML = func() nvml.Interface { return h100Box() }
	resetCache()
	info, err := Detect(t.Context(), Options{})
	if err != nil {
		t.Logf("Detect: %v", err)
	}
	if len(info.Host.GPUs) != 8 || info.Host.GPUs[7].ComputeCapability != "9.0" {
		t.Errorf("host.gpus = %+v, want 8 H100s", info.Host.GPUs)
	}
}

func TestSamplerMockedNVML(t *testing.T) {
	box := h100Box()
	box.Devices[1].(*server.Device).GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) {
		return 0, nvml.ERROR_NOT_SUPPORTED
	}
	box.Devices[2].(*server.Device).GetPowerUsageFunc = func() (uint32, nvml.Return) {
		return 0, nvml.ERROR_GPU_IS_LOST
	}
	g := openGPUsFrom(box)
	if g == nil {
		t.Fatal("openGPUsFrom = nil")
	}
	m := map[string]float64{}
	err := g.sample(m)
	if !errors.Is(err, nvml.ERROR_GPU_IS_LOST) {
		t.Errorf("sample error = %v, want gpu 2's ERROR_GPU_IS_LOST", err)
	}
	for name, want := range map[string]float64{
		"gpu.0.utilization": 0, "gpu.5.utilization": 50, "gpu.0.memory_used": 503316480,
		"gpu.0.temperature": 33, "gpu.0.power": 106.154, "gpu.7.power": 106.154,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"gpu.1.temperature", "gpu.2.power"} {
		if v, ok := m[name]; ok {
			t.Errorf("%s = %v, want absent", name, v)
		}
	}
	if len(m) != 8*4-2 {
		t.Errorf("got %d metrics, want %d: %v", len(m), 8*4-2, m)
	}
	g.close()
	if n := len(box.ShutdownCalls()); n != 1 {
		t.Errorf("Shutdown called %d times, want 1", n)
	}
}

// TestNoDriverHere runs the real go-nvml library on a machine without an
// NVIDIA driver: no GPUs, no error.
func TestNoDriverHere(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this machine has an NVIDIA driver")
	}
	gpus, err := detectGPUs(t.Context())
	if gpus != nil || err != nil {
		t.Errorf("detectGPUs = %v, %v, want none", gpus, err)
	}
	if s := openGPUs(); s != nil {
		t.Errorf("openGPUs = %v, want nil", s)
	}
}

// TestGPUsMatchRealH100 feeds the mapping what NVML reported on a real
// H100 machine (../shared/data/h100-nvml.json: raw milliwatts, CUDA
// 13000, compute capability [9, 0], MIG [0, 0]) and expects what
// examples/hwinfo printed on that machine (testdata/h100-hwinfo.json).
func TestGPUsMatchRealH100(t *testing.T) {
	b, err := os.ReadFile("testdata/h100-hwinfo.json")
	if err != nil {
		t.Fatal(err)
	}
	var real struct {
		Detect Info `json:"detect"`
	}
	if err := json.Unmarshal(b, &real); err != nil {
		t.Fatal(err)
	}
	want := real.Detect.Host.GPUs

	box := server.NewServerWithGPUs("580.159.04", "13.580.159.04", 13000, gpus.H100_SXM5_80GB)
	dev := box.Devices[0].(*server.Device)
	dev.UUID = want[0].UUID
	dev.MemoryInfo = nvml.Memory{Total: 85520809984, Used: 503316480, Free: 85520809984 - 503316480}
	dev.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
		var p nvml.PciInfo
		for k, c := range []byte("00000000:00:06.0") {
			p.BusId[k] = int8(c)
		}
		return p, nvml.SUCCESS
	}
	dev.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700000, nvml.SUCCESS }
	dev.GetMaxClockInfoFunc = func(nvml.ClockType) (uint32, nvml.Return) { return 1980, nvml.SUCCESS }

	got, err := gpusFrom(box)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mapping of the H100's raw NVML values (-real machine +mock):\n%s", diff)
	}
}
