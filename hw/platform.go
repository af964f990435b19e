package hw

import (
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// linuxPlatform reads the distribution from os-release(5), the way
// gopsutil names it ("debian", family "debian", version "12.11") but
// without running lsb_release, which costs hundreds of milliseconds where
// /etc/lsb-release is missing. ok is false where there is no os-release.
func linuxPlatform(fsys fileSystem) (platform, family, version string, ok bool) {
	if runtime.GOOS != "linux" {
		return "", "", "", false
	}
	data, err := fsys.ReadFile("etc/os-release")
	if err != nil {
		if data, err = fsys.ReadFile("usr/lib/os-release"); err != nil {
			return "", "", "", false
		}
	}
	kv := parseOSRelease(string(data))
	platform = strings.ToLower(kv["ID"])
	if platform == "" {
		return "", "", "", false
	}
	version = kv["VERSION_ID"]
	if platform == "debian" {
		// /etc/debian_version holds the point release ("12.11").
		if b, err := fsys.ReadFile("etc/debian_version"); err == nil {
			if v := strings.TrimSpace(string(b)); debianVersion.MatchString(v) {
				version = v
			}
		}
	}
	return platform, platformFamily(platform, kv["ID_LIKE"]), version, true
}

var debianVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// platformFamily groups a distribution with the one it derives from, with
// gopsutil's family names.
func platformFamily(id, like string) string {
	words := strings.Fields(strings.ToLower(id + " " + like))
	has := func(names ...string) bool {
		for _, w := range words {
			for _, n := range names {
				if w == n {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("debian", "ubuntu"):
		return "debian"
	case id == "fedora":
		return "fedora"
	case has("rhel", "centos", "rocky", "almalinux", "ol", "amzn", "fedora"):
		return "rhel"
	case has("suse", "opensuse", "sles", "opensuse-leap", "opensuse-tumbleweed"):
		return "suse"
	case has("arch"):
		return "arch"
	}
	return strings.ToLower(id)
}

// parseOSRelease parses KEY=value lines with shell-style quoting.
func parseOSRelease(text string) map[string]string {
	kv := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `'"`)
		}
		kv[k] = v
	}
	return kv
}
