package hw

import (
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// readBuild describes the running binary from runtime/debug.ReadBuildInfo.
func readBuild() Build {
	bi, _ := debug.ReadBuildInfo()
	return buildFrom(bi)
}

// buildFrom maps build information (nil: none) to Build.
func buildFrom(bi *debug.BuildInfo) Build {
	b := Build{GoVersion: goVersion(), Compiler: runtime.Compiler}
	if bi == nil {
		return b
	}
	b.Path = bi.Path
	if bi.Main.Path != "" {
		m := module(&bi.Main)
		b.Module = &m
	}
	var vcs VCS
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs":
			vcs.System = s.Value
		case "vcs.revision":
			vcs.Revision = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339Nano, s.Value); err == nil {
				t = t.UTC()
				vcs.Time = &t
			}
		case "vcs.modified":
			modified := s.Value == "true"
			vcs.Modified = &modified
		default:
			if strings.HasPrefix(s.Key, "vcs.") {
				break
			}
			// Values as they are (-ldflags may hold -X main.apiKey=...):
			// package record redacts what it stores.
			b.Settings = append(b.Settings, Setting{Key: s.Key, Value: s.Value})
		}
	}
	if vcs != (VCS{}) {
		b.VCS = &vcs
	}
	for _, d := range bi.Deps {
		b.Deps = append(b.Deps, module(d))
	}
	return b
}

func module(m *debug.Module) Module {
	out := Module{Path: m.Path, Version: m.Version, Sum: m.Sum}
	if r := m.Replace; r != nil {
		out.Replace = strings.TrimSpace(r.Path + " " + r.Version)
		if r.Sum != "" {
			out.Sum = r.Sum
		}
	}
	return out
}
