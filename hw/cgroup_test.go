package hw_test

import (
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/hw"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

const mountinfoV2 = "30 22 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"

const mountinfoV1 = `25 22 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

func TestReadCgroup(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want *hw.Cgroup
	}{
		{"no cgroups", fstest.MapFS{}, nil},
		{"v2 unlimited", fstest.MapFS{
			"proc/self/cgroup":    file("0::/user.slice/session-1.scope\n"),
			"proc/self/mountinfo": file(mountinfoV2),
			"sys/fs/cgroup/user.slice/session-1.scope/cpu.max":    file("max 100000\n"),
			"sys/fs/cgroup/user.slice/session-1.scope/memory.max": file("max\n"),
		}, &hw.Cgroup{Version: 2}},
		{"v2 limits, tightest along the path", fstest.MapFS{
			"proc/self/cgroup":                           file("0::/kubepods/pod1/ctr\n"),
			"proc/self/mountinfo":                        file(mountinfoV2),
			"sys/fs/cgroup/kubepods/pod1/ctr/cpu.max":    file("max 100000\n"),
			"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": file("max\n"),
			"sys/fs/cgroup/kubepods/pod1/cpu.max":        file("150000 100000\n"),
			"sys/fs/cgroup/kubepods/pod1/memory.max":     file("8589934592\n"),
			"sys/fs/cgroup/kubepods/cpu.max":             file("400000 100000\n"),
			"sys/fs/cgroup/kubepods/memory.max":          file("17179869184\n"),
		}, &hw.Cgroup{Version: 2, CPUQuota: f64(1.5), CPUQuotaUS: i64(150000), CPUPeriodUS: i64(100000), MemoryLimit: i64(8 << 30)}},
		{"v2 container namespace: the cgroup is the mount's root", fstest.MapFS{
			"proc/self/cgroup":         file("0::/\n"),
			"proc/self/mountinfo":      file(mountinfoV2),
			"sys/fs/cgroup/cpu.max":    file("200000 100000\n"),
			"sys/fs/cgroup/memory.max": file("1073741824\n"),
		}, &hw.Cgroup{Version: 2, CPUQuota: f64(2), CPUQuotaUS: i64(200000), CPUPeriodUS: i64(100000), MemoryLimit: i64(1 << 30)}},
		{"v1 docker limits", fstest.MapFS{
			"proc/self/cgroup": file("12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n"),
			"proc/self/mountinfo": file(`31 30 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  file("50000\n"),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": file("100000\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":  file("536870912\n"),
		}, &hw.Cgroup{Version: 1, CPUQuota: f64(0.5), CPUQuotaUS: i64(50000), CPUPeriodUS: i64(100000), MemoryLimit: i64(512 << 20)}},
		{"v1 hybrid unlimited", fstest.MapFS{
			"proc/self/cgroup":                                         file("4:memory:/process_api/x\n2:cpuacct:/\n1:cpu:/\n0::/\n"),
			"proc/self/mountinfo":                                      file(mountinfoV1),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":               file("-1\n"),
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us":              file("100000\n"),
			"sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": file("9223372036854771712\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":               file("9223372036854771712\n"),
		}, &hw.Cgroup{Version: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hw.ReadCgroup(tt.fs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectContainer(t *testing.T) {
	none := func(string) string { return "" }
	tests := []struct {
		name   string
		fs     fstest.MapFS
		getenv func(string) string
		want   string
	}{
		{"bare machine", fstest.MapFS{"proc/1/cgroup": file("0::/init.scope\n")}, none, ""},
		{"docker", fstest.MapFS{".dockerenv": file("")}, none, "docker"},
		{"podman", fstest.MapFS{"run/.containerenv": file("")}, none, "podman"},
		{"kubernetes", fstest.MapFS{".dockerenv": file("")}, func(k string) string {
			if k == "KUBERNETES_SERVICE_HOST" {
				return "10.0.0.1"
			}
			return ""
		}, "kubernetes"},
		{"container variable", fstest.MapFS{}, func(k string) string {
			if k == "container" {
				return "systemd-nspawn"
			}
			return ""
		}, "systemd-nspawn"},
		{"kubepods cgroup", fstest.MapFS{"proc/1/cgroup": file("0::/kubepods/burstable/pod1/abc\n")}, none, "kubernetes"},
		{"docker cgroup v1", fstest.MapFS{"proc/1/cgroup": file("12:memory:/docker/abc\n")}, none, "docker"},
		{"lxc", fstest.MapFS{"proc/self/cgroup": file("0::/lxc.payload.c1\n")}, none, "lxc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hw.DetectContainer(tt.fs, tt.getenv); got != tt.want {
				t.Errorf("DetectContainer = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLinuxPlatform(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("os-release is read on Linux only")
	}
	tests := []struct {
		name                      string
		fs                        fstest.MapFS
		platform, family, version string
		ok                        bool
	}{
		{"none", fstest.MapFS{}, "", "", "", false},
		{"debian point release", fstest.MapFS{
			"etc/os-release":     file("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"),
			"etc/debian_version": file("12.11\n"),
		}, "debian", "debian", "12.11", true},
		{"debian testing", fstest.MapFS{
			"etc/os-release":     file("ID=debian\n"),
			"etc/debian_version": file("trixie/sid\n"),
		}, "debian", "debian", "", true},
		{"ubuntu", fstest.MapFS{
			"etc/os-release":     file("NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n"),
			"etc/debian_version": file("bookworm/sid\n"),
		}, "ubuntu", "debian", "22.04", true},
		{"rocky", fstest.MapFS{
			"usr/lib/os-release": file("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n"),
		}, "rocky", "rhel", "9.4", true},
		{"fedora", fstest.MapFS{"etc/os-release": file("ID=fedora\nVERSION_ID=40\n")}, "fedora", "fedora", "40", true},
		{"alpine", fstest.MapFS{"etc/os-release": file("ID=alpine\nVERSION_ID=3.20.1\n")}, "alpine", "alpine", "3.20.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f, v, ok := hw.LinuxPlatform(tt.fs)
			if p != tt.platform || f != tt.family || v != tt.version || ok != tt.ok {
				t.Errorf("LinuxPlatform = %q, %q, %q, %v, want %q, %q, %q, %v", p, f, v, ok, tt.platform, tt.family, tt.version, tt.ok)
			}
		})
	}
}
