package hw

import (
	"io/fs"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
)

// fileSystem is the part of the root filesystem the cgroup and container
// probes read. Names are fs.FS names: slash-separated, without the
// leading slash ("proc/self/cgroup"). fstest.MapFS implements it.
type fileSystem interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
}

// osFS is the machine's root filesystem.
type osFS struct{}

func (osFS) ReadFile(name string) ([]byte, error)  { return os.ReadFile("/" + name) }
func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat("/" + name) }

// mount is one cgroup filesystem from /proc/self/mountinfo.
type mount struct {
	root, point string // fs names, without the leading slash
	fstype      string
	options     []string
}

// readCgroup reads the CPU and memory limits of the process's control
// groups, taking the tightest limit along the path to the hierarchy's
// root. It returns nil, nil where there are no control groups.
func readCgroup(fsys fileSystem) (*Cgroup, error) {
	data, err := fsys.ReadFile("proc/self/cgroup")
	if err != nil {
		return nil, nil
	}
	v1 := map[string]string{} // controller -> cgroup path
	v2, hasV2 := "", false
	for line := range strings.Lines(string(data)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, hasV2 = parts[2], true
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			v1[c] = parts[2]
		}
	}
	mountinfo, _ := fsys.ReadFile("proc/self/mountinfo")
	mounts := parseMountinfo(string(mountinfo))

	cg := &Cgroup{Version: 2}
	if _, ok := v1["cpu"]; ok {
		cg.Version = 1
	} else if _, ok := v1["memory"]; ok {
		cg.Version = 1
	} else if !hasV2 {
		return nil, nil
	}

	// CPU bandwidth.
	if p, ok := v1["cpu"]; ok {
		if m := findMount(mounts, "cgroup", "cpu"); m != nil {
			walkCgroup(fsys, m, p, func(dir string) {
				q, ok1 := readInt(fsys, dir+"/cpu.cfs_quota_us")
				per, ok2 := readInt(fsys, dir+"/cpu.cfs_period_us")
				if ok1 && ok2 {
					cg.tightenCPU(q, per)
				}
			})
		}
	} else if hasV2 {
		if m := findMount(mounts, "cgroup2", ""); m != nil {
			walkCgroup(fsys, m, v2, func(dir string) {
				b, err := fsys.ReadFile(dir + "/cpu.max")
				if err != nil {
					return
				}
				f := strings.Fields(string(b))
				if len(f) != 2 || f[0] == "max" {
					return
				}
				q, err1 := strconv.ParseInt(f[0], 10, 64)
				per, err2 := strconv.ParseInt(f[1], 10, 64)
				if err1 == nil && err2 == nil {
					cg.tightenCPU(q, per)
				}
			})
		}
	}

	// Memory.
	if p, ok := v1["memory"]; ok {
		if m := findMount(mounts, "cgroup", "memory"); m != nil {
			walkCgroup(fsys, m, p, func(dir string) {
				if n, ok := readInt(fsys, dir+"/memory.limit_in_bytes"); ok {
					cg.tightenMemory(n)
				}
			})
		}
	} else if hasV2 {
		if m := findMount(mounts, "cgroup2", ""); m != nil {
			walkCgroup(fsys, m, v2, func(dir string) {
				if n, ok := readInt(fsys, dir+"/memory.max"); ok {
					cg.tightenMemory(n)
				}
			})
		}
	}
	return cg, nil
}

// tightenCPU records quota/period if it is a limit tighter than the one
// already recorded.
func (cg *Cgroup) tightenCPU(quota, period int64) {
	if quota <= 0 || period <= 0 {
		return // -1: no limit
	}
	cpus := float64(quota) / float64(period)
	if cg.CPUQuota != nil && *cg.CPUQuota <= cpus {
		return
	}
	cg.CPUQuota, cg.CPUQuotaUS, cg.CPUPeriodUS = &cpus, &quota, &period
}

// tightenMemory records limit if it is tighter than the one already
// recorded. Values of 2^62 and above mean "no limit" (cgroup v1 writes
// 9223372036854771712).
func (cg *Cgroup) tightenMemory(limit int64) {
	if limit <= 0 || limit >= 1<<62 {
		return
	}
	if cg.MemoryLimit != nil && *cg.MemoryLimit <= limit {
		return
	}
	cg.MemoryLimit = &limit
}

// walkCgroup calls visit for the directory of cgroup path p in mount m
// and for each of its parents up to the mount point.
func walkCgroup(fsys fileSystem, m *mount, p string, visit func(dir string)) {
	rel := p
	if m.root != "" {
		if r, ok := strings.CutPrefix(p, "/"+m.root); ok && (r == "" || r[0] == '/') {
			rel = r
		} else {
			rel = "" // the cgroup namespace's root is the mount point
		}
	}
	dir := path.Join(m.point, strings.TrimPrefix(rel, "/"))
	if _, err := fsys.Stat(dir); err != nil {
		dir = m.point
	}
	for {
		visit(dir)
		if dir == m.point || !strings.HasPrefix(dir, m.point+"/") {
			return
		}
		dir = path.Dir(dir)
	}
}

// findMount returns the first mount of fstype whose options include
// controller (any, if controller is empty).
func findMount(mounts []mount, fstype, controller string) *mount {
	for i, m := range mounts {
		if m.fstype != fstype {
			continue
		}
		if controller == "" {
			return &mounts[i]
		}
		for _, o := range m.options {
			if o == controller {
				return &mounts[i]
			}
		}
	}
	return nil
}

// parseMountinfo returns the cgroup and cgroup2 mounts of a
// /proc/self/mountinfo text.
func parseMountinfo(text string) []mount {
	var mounts []mount
	for line := range strings.Lines(text) {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		mounts = append(mounts, mount{
			root:    strings.Trim(unescapeMount(f[3]), "/"),
			point:   strings.Trim(unescapeMount(f[4]), "/"),
			fstype:  g[0],
			options: strings.Split(g[2], ","),
		})
	}
	return mounts
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readInt reads a file holding one integer; "max" and unreadable or
// malformed files report false.
func readInt(fsys fileSystem, name string) (int64, bool) {
	b, err := fsys.ReadFile(name)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if u, err := strconv.ParseUint(s, 10, 64); err == nil && u > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return 0, false
	}
	return n, true
}
