package hw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// baseHost returns the facts the Go runtime knows without any I/O but the
// hostname.
func baseHost() Host {
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU()}
	if name, err := os.Hostname(); err == nil {
		h.Hostname = name
	}
	return h
}

func goVersion() string { return runtime.Version() }

// currentUser returns the login name of the current user.
func currentUser() (string, error) {
	u, err := user.Current()
	if err == nil && u.Username != "" {
		return u.Username, nil
	}
	for _, k := range []string{"USER", "LOGNAME", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return v, nil
		}
	}
	if err == nil {
		err = errors.New("no user name")
	}
	return "", fmt.Errorf("hw: user: %w", err)
}

// readOS fills the operating system, kernel, virtualization and container
// facts of h.
func readOS(ctx context.Context, h *Host) error {
	var errs []error
	platform, family, version, ok := linuxPlatform(osFS{})
	if !ok {
		var err error
		platform, family, version, err = host.PlatformInformationWithContext(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("hw: platform: %w", err))
		}
	}
	h.Platform, h.PlatformFamily, h.PlatformVersion = platform, family, version
	if k, err := host.KernelVersionWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("hw: kernel version: %w", err))
	} else {
		h.KernelVersion = k
	}
	if a, err := host.KernelArch(); err != nil {
		errs = append(errs, fmt.Errorf("hw: kernel arch: %w", err))
	} else {
		h.KernelArch = a
	}
	// An unrecognised virtualization is no error: most machines have none.
	if system, role, err := host.VirtualizationWithContext(ctx); err == nil {
		h.VirtualizationSystem, h.VirtualizationRole = system, role
	}
	h.Container = detectContainer(osFS{}, os.Getenv)
	return errors.Join(errs...)
}

// readCPU describes the processors; it returns nil when nothing was found.
func readCPU(ctx context.Context) (*CPU, error) {
	var (
		c     CPU
		found bool
		errs  []error
	)
	add := func(err error) { errs = append(errs, err) }
	if infos, err := cpu.InfoWithContext(ctx); err != nil {
		add(fmt.Errorf("hw: cpu info: %w", err))
	} else if len(infos) > 0 {
		found = true
		c.Model = strings.TrimSpace(infos[0].ModelName)
		c.Vendor = infos[0].VendorID
		c.MHz = infos[0].Mhz
		c.CacheKB = int(infos[0].CacheSize)
		sockets := map[string]bool{}
		for _, in := range infos {
			if in.PhysicalID != "" {
				sockets[in.PhysicalID] = true
			}
			c.MHz = max(c.MHz, in.Mhz)
		}
		c.Sockets = len(sockets)
	}
	if n, err := cpu.CountsWithContext(ctx, false); err != nil {
		add(fmt.Errorf("hw: physical cpu count: %w", err))
	} else if n > 0 {
		found = true
		c.PhysicalCores = n
	}
	if n, err := cpu.CountsWithContext(ctx, true); err != nil {
		add(fmt.Errorf("hw: logical cpu count: %w", err))
	} else if n > 0 {
		found = true
		c.LogicalCores = n
	}
	if !found {
		return nil, errors.Join(errs...)
	}
	return &c, errors.Join(errs...)
}

// readMemory reads the memory size and availability.
func readMemory(ctx context.Context) (*Memory, error) {
	v, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("hw: memory: %w", err)
	}
	m := &Memory{Total: v.Total}
	if v.Total > 0 {
		m.Available = &v.Available
	}
	return m, nil
}

// readDisk reads the size and free space of the filesystem holding dir.
func readDisk(ctx context.Context, dir string) (*Disk, error) {
	u, err := disk.UsageWithContext(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("hw: disk usage of %s: %w", dir, err)
	}
	d := &Disk{Path: dir, Fstype: u.Fstype, Total: u.Total}
	if u.Total > 0 {
		d.Free = &u.Free
	}
	return d, nil
}

// initTime stands in for the process start where the OS does not tell.
var initTime = time.Now().UTC()

// processStart returns when this process started, or initTime with an
// error.
func processStart(ctx context.Context) (time.Time, error) {
	p, err := process.NewProcessWithContext(ctx, int32(os.Getpid()))
	if err != nil {
		return initTime, fmt.Errorf("hw: process start: %w", err)
	}
	ms, err := p.CreateTimeWithContext(ctx)
	if err != nil {
		return initTime, fmt.Errorf("hw: process start: %w", err)
	}
	if ms <= 0 {
		return initTime, errors.New("hw: process start: unknown")
	}
	return time.UnixMilli(ms).UTC(), nil
}
