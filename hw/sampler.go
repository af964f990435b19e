package hw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"
)

// Metric names a Sampler reports. Rates are averages since the previous
// Sample (or since NewSampler, for the first one); GPU metrics are named
// gpu.<index>.<metric> with NVML's device index.
const (
	MetricCPUPercent     = "cpu.percent"                // busy time of all CPUs, 0-100
	MetricMemoryUsed     = "memory.used"                // bytes
	MetricMemoryPercent  = "memory.percent"             // 0-100
	MetricDiskRead       = "disk.read_bytes_per_sec"    // physical disks, bytes/s
	MetricDiskWrite      = "disk.write_bytes_per_sec"   // physical disks, bytes/s
	MetricNetworkSent    = "network.sent_bytes_per_sec" // all interfaces but loopback, bytes/s
	MetricNetworkRecv    = "network.recv_bytes_per_sec" // all interfaces but loopback, bytes/s
	MetricGPUUtilization = "utilization"                // gpu.<i>.utilization: percent of time a kernel ran
	MetricGPUMemoryUsed  = "memory_used"                // gpu.<i>.memory_used: bytes
	MetricGPUTemperature = "temperature"                // gpu.<i>.temperature: °C
	MetricGPUPower       = "power"                      // gpu.<i>.power: watts
)

// Sampler reads live system metrics, one sample per call: CPU and memory
// use, disk and network throughput, and per GPU utilization, memory,
// temperature and power. It is safe for concurrent use; Close releases
// NVML.
type Sampler struct {
	mu     sync.Mutex
	prev   counters
	disks  map[string]bool // whole physical disks; nil: every device
	gpus   *gpuSampler
	closed bool
}

// counters are the cumulative counters rates are computed from.
type counters struct {
	at                  time.Time
	cpu                 *cpu.TimesStat
	diskRead, diskWrite uint64
	haveDisk            bool
	netSent, netRecv    uint64
	haveNet             bool
}

// NewSampler returns a Sampler whose first Sample reports rates since
// now. It opens NVML when NVIDIA GPUs are present; without them it
// samples the rest.
func NewSampler(ctx context.Context) *Sampler {
	s := &Sampler{disks: physicalDisks(), gpus: openGPUs()}
	s.prev, _ = s.read(ctx)
	return s
}

// Sample returns one sample of every metric it could read, keyed by the
// Metric* names ("cpu.percent", "gpu.0.power"). A metric that fails is
// left out and its error joined into err, so a non-nil err with a
// non-empty map is a partial sample, still worth logging; a metric the
// machine lacks (a GPU without a temperature sensor) is left out without
// error. Sample returns ctx's error if ctx ended, and an error after
// Close.
func (s *Sampler) Sample(ctx context.Context) (map[string]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("hw: sampler closed")
	}
	m := map[string]float64{}
	cur, errs := s.read(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dt := cur.at.Sub(s.prev.at).Seconds()
	if c0, c1 := s.prev.cpu, cur.cpu; c0 != nil && c1 != nil {
		if p, ok := cpuBusy(*c0, *c1); ok {
			m[MetricCPUPercent] = p
		}
	}
	if dt > 0 {
		if s.prev.haveDisk && cur.haveDisk {
			rate(m, MetricDiskRead, s.prev.diskRead, cur.diskRead, dt)
			rate(m, MetricDiskWrite, s.prev.diskWrite, cur.diskWrite, dt)
		}
		if s.prev.haveNet && cur.haveNet {
			rate(m, MetricNetworkSent, s.prev.netSent, cur.netSent, dt)
			rate(m, MetricNetworkRecv, s.prev.netRecv, cur.netRecv, dt)
		}
	}
	s.prev = cur

	if v, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("hw: sample memory: %w", err))
	} else {
		m[MetricMemoryUsed] = float64(v.Used)
		m[MetricMemoryPercent] = v.UsedPercent
	}
	errs = append(errs, s.gpus.sample(m))
	return m, errors.Join(errs...)
}

// Close releases NVML. Sample fails after Close; Close is idempotent.
func (s *Sampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.gpus.close()
	}
	return nil
}

// read takes the cumulative counters.
func (s *Sampler) read(ctx context.Context) (counters, []error) {
	var (
		c    = counters{at: time.Now()}
		errs []error
	)
	if t, err := cpu.TimesWithContext(ctx, false); err != nil {
		errs = append(errs, fmt.Errorf("hw: sample cpu: %w", err))
	} else if len(t) > 0 {
		c.cpu = &t[0]
	}
	if io, err := disk.IOCountersWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("hw: sample disk: %w", err))
	} else {
		for name, d := range io {
			if s.disks == nil || s.disks[name] {
				c.diskRead += d.ReadBytes
				c.diskWrite += d.WriteBytes
			}
		}
		c.haveDisk = true
	}
	if io, err := net.IOCountersWithContext(ctx, true); err != nil {
		errs = append(errs, fmt.Errorf("hw: sample network: %w", err))
	} else {
		for _, n := range io {
			if n.Name == "lo" || n.Name == "lo0" {
				continue
			}
			c.netSent += n.BytesSent
			c.netRecv += n.BytesRecv
		}
		c.haveNet = true
	}
	return c, errs
}

// rate stores (b-a)/dt under name unless the counter went backwards (a
// device vanished or a counter wrapped).
func rate(m map[string]float64, name string, a, b uint64, dt float64) {
	if b >= a {
		m[name] = float64(b-a) / dt
	}
}

// cpuBusy returns the percentage of non-idle CPU time between two
// readings, like gopsutil's cpu.Percent but without its global state.
func cpuBusy(t0, t1 cpu.TimesStat) (float64, bool) {
	all := func(t cpu.TimesStat) (total, busy float64) {
		total = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
		return total, total - t.Idle - t.Iowait
	}
	a0, b0 := all(t0)
	a1, b1 := all(t1)
	if a1 <= a0 {
		return 0, false
	}
	p := (b1 - b0) / (a1 - a0) * 100
	return min(100, max(0, p)), true
}

// physicalDisks returns the names of whole physical disks on Linux
// (/sys/block entries backed by a device: sda, nvme0n1, vda; not loop,
// ram, zram or dm-*), so partitions and stacked devices are not counted
// twice. It returns nil, meaning every device, elsewhere.
func physicalDisks() map[string]bool {
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, err := os.ReadDir("/sys/block")
	if err != nil {
		return nil
	}
	disks := map[string]bool{}
	for _, e := range entries {
		if _, err := os.Stat("/sys/block/" + e.Name() + "/device"); err == nil {
			disks[e.Name()] = true
		}
	}
	return disks
}
