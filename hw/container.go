package hw

import "strings"

// detectContainer names the container runtime the process runs in, or
// returns "".
func detectContainer(fsys fileSystem, getenv func(string) string) string {
	if getenv("KUBERNETES_SERVICE_HOST") != "" {
		return "kubernetes"
	}
	if _, err := fsys.Stat(".dockerenv"); err == nil {
		return "docker"
	}
	if _, err := fsys.Stat("run/.containerenv"); err == nil {
		return "podman"
	}
	if v := getenv("container"); v != "" {
		return v // set by podman, lxc, systemd-nspawn
	}
	for _, name := range []string{"proc/1/cgroup", "proc/self/cgroup"} {
		b, err := fsys.ReadFile(name)
		if err != nil {
			continue
		}
		s := string(b)
		switch {
		case strings.Contains(s, "kubepods"):
			return "kubernetes"
		case strings.Contains(s, "libpod"):
			return "podman"
		case strings.Contains(s, "docker"):
			return "docker"
		case strings.Contains(s, "containerd"):
			return "containerd"
		case strings.Contains(s, "lxc"):
			return "lxc"
		}
	}
	return ""
}
