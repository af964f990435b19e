package hw_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/hw"
)

// detect runs hw.Detect with a fresh cache and fails the test on errors
// other than the ones this machine may legitimately have.
func detect(t *testing.T, opts hw.Options) *hw.Info {
	t.Helper()
	info, err := hw.Detect(t.Context(), opts)
	if err != nil {
		t.Logf("Detect partial errors: %v", err)
	}
	if info == nil {
		t.Fatal("Detect returned nil Info")
	}
	return info
}

func TestDetectThisMachine(t *testing.T) {
	hw.ResetCache()
	before := time.Now()
	info, err := hw.Detect(t.Context(), hw.Options{})
	if err != nil {
		t.Errorf("Detect: %v", err)
	}
	h := info.Host
	hostname, _ := os.Hostname()
	if h.Hostname != hostname {
		t.Errorf("host.hostname = %q, want %q", h.Hostname, hostname)
	}
	if h.User == "" {
		t.Error("host.user is empty")
	}
	if h.OS != runtime.GOOS || h.Arch != runtime.GOARCH || h.NumCPU != runtime.NumCPU() {
		t.Errorf("host os/arch/num_cpu = %s/%s/%d, want %s/%s/%d", h.OS, h.Arch, h.NumCPU, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	if runtime.GOOS == "linux" {
		if h.Platform == "" || h.KernelVersion == "" || h.KernelArch == "" {
			t.Errorf("platform %q, kernel %q, kernel arch %q: want all set", h.Platform, h.KernelVersion, h.KernelArch)
		}
		if h.Cgroup == nil {
			t.Error("host.cgroup is absent on Linux")
		}
	}
	if c := h.CPU; c == nil || c.Model == "" || c.PhysicalCores < 1 || c.LogicalCores < c.PhysicalCores || c.LogicalCores < 1 {
		t.Errorf("host.cpu = %+v, want a model and core counts", c)
	}
	if m := h.Memory; m == nil || m.Total == 0 || m.Available == nil || *m.Available > m.Total {
		t.Errorf("host.memory = %+v, want total and available", m)
	}
	wd, _ := os.Getwd()
	if d := h.Disk; d == nil || d.Path != wd || d.Total == 0 || d.Free == nil || *d.Free > d.Total {
		t.Errorf("host.disk = %+v, want total and free of %s", d, wd)
	}

	b := info.Build
	if b.GoVersion != runtime.Version() || b.Compiler != runtime.Compiler {
		t.Errorf("build go_version, compiler = %q, %q", b.GoVersion, b.Compiler)
	}
	if b.Module == nil || b.Module.Path != "github.com/recordlab/go-record" {
		t.Errorf("build.module = %+v, want this module", b.Module)
	}
	if !strings.HasSuffix(b.Path, "/hw.test") {
		t.Errorf("build.path = %q, want the test binary's package", b.Path)
	}
	// go test binaries carry no dependency list; TestHwinfoBinary checks
	// build.deps and build.vcs in a real binary.

	// Inside this repository (when git can see it) the git state is present.
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		g := b.Git
		if g == nil {
			t.Fatal("build.git is absent inside a git repository")
		}
		if want := strings.TrimSpace(string(out)); g.Commit != want {
			t.Errorf("build.git.commit = %q, want %q", g.Commit, want)
		}
		if g.Dirty == nil || g.Untracked == nil || g.Root == "" {
			t.Errorf("build.git = %+v, want dirty, untracked and root", g)
		}
	} else {
		t.Logf("no git repository here (%v): build.git = %+v", err, b.Git)
	}

	r := info.Run
	if r.PID != os.Getpid() {
		t.Errorf("run.pid = %d, want %d", r.PID, os.Getpid())
	}
	if diff := cmp.Diff(os.Args, r.Args); diff != "" {
		t.Errorf("run.args (-want +got):\n%s", diff)
	}
	if r.Start.IsZero() || r.Start.After(before) || r.Start.Location() != time.UTC {
		t.Errorf("run.start = %v, want the process start (before %v) in UTC", r.Start, before)
	}
	if r.Executable == "" || r.Dir != wd {
		t.Errorf("run.executable, run.dir = %q, %q", r.Executable, r.Dir)
	}
	if r.Env != nil || r.Seed != nil {
		t.Errorf("run.env, run.seed = %v, %v, want absent", r.Env, r.Seed)
	}
}

// TestLayout checks the stored layout: the foundation's keys are where
// package record put them, and every key is a valid record key.
func TestLayout(t *testing.T) {
	info := detect(t, hw.Options{Env: []string{"HOME"}})
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"host.hostname", "host.user", "host.os", "host.arch", "host.num_cpu",
		"build.go_version", "run.pid", "run.args", "run.start",
		"host.platform", "host.kernel_version", "host.cpu.model", "host.cpu.physical_cores",
		"host.cpu.logical_cores", "host.memory.total", "host.memory.available",
		"host.disk.total", "host.disk.free", "build.module.path",
	} {
		if _, ok := lookup(doc, path); !ok {
			t.Errorf("stored layout lacks %s", path)
		}
	}
	if v, _ := lookup(doc, "host.num_cpu"); v != float64(runtime.NumCPU()) {
		t.Errorf("host.num_cpu = %v (%T), want a number", v, v)
	}
	if v, _ := lookup(doc, "host.memory.total"); reflect.TypeOf(v) != reflect.TypeFor[float64]() {
		t.Errorf("host.memory.total = %v (%T), want a number", v, v)
	}
	checkKeys(t, "", doc)
}

func lookup(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for k := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkKeys fails on keys package record refuses: empty, with '.', a
// leading '$' or NUL.
func checkKeys(t *testing.T, at string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "" || strings.ContainsAny(k, ".\x00") || strings.HasPrefix(k, "$") {
				t.Errorf("%s: key %q is not a valid record key", at, k)
			}
			checkKeys(t, at+"."+k, e)
		}
	case []any:
		for _, e := range v {
			checkKeys(t, at+"[]", e)
		}
	}
}

func TestDetectCache(t *testing.T) {
	hw.ResetCache()
	first := detect(t, hw.Options{})

	start := time.Now()
	second := detect(t, hw.Options{})
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("cached Detect took %v", d)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("cached Detect differs (-first +second):\n%s", diff)
	}

	// Changing everything the first call returned leaves the cache alone.
	scribble(reflect.ValueOf(first))
	third := detect(t, hw.Options{})
	if diff := cmp.Diff(second, third); diff != "" {
		t.Errorf("changing a result changed the cache (-want +got):\n%s", diff)
	}
}

// scribble overwrites every string, number, bool, time and slice element
// reachable from v.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(1, 0)))
			return
		}
		for i := range v.NumField() {
			scribble(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			v.SetMapIndex(k, reflect.ValueOf("scribbled"))
		}
	case reflect.String:
		v.SetString("scribbled")
	case reflect.Int, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint64:
		v.SetUint(7)
	case reflect.Float64:
		v.SetFloat(-7)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	}
}

func TestDetectCancelledFirstCallDoesNotPoison(t *testing.T) {
	hw.ResetCache()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	info, err := hw.Detect(ctx, hw.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Detect(cancelled) error = %v, want context.Canceled", err)
	}
	if info == nil || info.Host.OS != runtime.GOOS {
		t.Errorf("Detect(cancelled) = %+v, want the facts it has", info)
	}
	info, err = hw.Detect(t.Context(), hw.Options{})
	if errors.Is(err, context.Canceled) {
		t.Fatalf("Detect after a cancelled first call: %v", err)
	}
	if info.Host.CPU == nil || info.Host.Memory == nil {
		t.Errorf("Detect after a cancelled first call lacks facts: %+v", info.Host)
	}
}

func TestDetectConcurrent(t *testing.T) {
	hw.ResetCache()
	var wg sync.WaitGroup
	infos := make([]*hw.Info, 8)
	for i := range infos {
		wg.Go(func() { infos[i], _ = hw.Detect(t.Context(), hw.Options{}) })
	}
	wg.Wait()
	for i, info := range infos[1:] {
		if diff := cmp.Diff(infos[0].Host, info.Host); diff != "" {
			t.Errorf("Detect %d differs (-0 +%d):\n%s", i+1, i+1, diff)
		}
	}
}

func TestDetectOutsideRepository(t *testing.T) {
	dir := t.TempDir()
	if err := exec.Command("git", "-C", dir, "rev-parse").Run(); err == nil {
		t.Skip("the temporary directory is inside a git repository")
	}
	info := detect(t, hw.Options{Dir: dir})
	if info.Build.Git != nil {
		t.Errorf("build.git = %+v outside a repository, want absent", info.Build.Git)
	}
	if info.Host.Disk == nil || info.Host.Disk.Path != dir {
		t.Errorf("host.disk = %+v, want the filesystem of %s", info.Host.Disk, dir)
	}
	if info.Run.Dir != dir {
		t.Errorf("run.dir = %q, want %q", info.Run.Dir, dir)
	}
}

func TestDetectEnv(t *testing.T) {
	t.Setenv("HWTEST_PLAIN", "plain")
	t.Setenv("HWTEST_API_TOKEN", "tok-123")
	t.Setenv("HWTEST_DB_PASSWORD", "hunter2")
	t.Setenv("HWTEST_DSN", "postgres://alice:s3cret@db:5432/runs")
	t.Setenv("OTHER_VAR", "not asked for")
	info := detect(t, hw.Options{Env: []string{"HWTEST_*", "MISSING_VAR"}})
	want := map[string]string{
		"HWTEST_PLAIN":       "plain",
		"HWTEST_API_TOKEN":   "tok-123",
		"HWTEST_DB_PASSWORD": "hunter2",
		"HWTEST_DSN":         "postgres://alice:s3cret@db:5432/runs",
	}
	// Detect redacts nothing: package record does (record/redact_test.go).
	if diff := cmp.Diff(want, info.Run.Env); diff != "" {
		t.Errorf("run.env (-want +got):\n%s", diff)
	}
}

func TestCaptureEnv(t *testing.T) {
	environ := []string{
		"HOME=/root", "AWS_SECRET_ACCESS_KEY=k", "WANDB_API_KEY=k", "HF_TOKEN=k",
		"GITHUB_AUTH=k", "MY_CREDENTIALS=k", "PGPASSWD=k", "CUDA_VISIBLE_DEVICES=0,1",
		"bad.name=x", "EMPTY=", "BAD_UTF8=a\xffb",
	}
	tests := []struct {
		name     string
		patterns []string
		want     map[string]string
		wantErr  bool
	}{
		{"nothing by default", nil, nil, false},
		{"exact", []string{"HOME"}, map[string]string{"HOME": "/root"}, false},
		{"glob", []string{"CUDA_*"}, map[string]string{"CUDA_VISIBLE_DEVICES": "0,1"}, false},
		{"all, values as they are", []string{"*"}, map[string]string{
			"HOME": "/root", "AWS_SECRET_ACCESS_KEY": "k", "WANDB_API_KEY": "k",
			"HF_TOKEN": "k", "GITHUB_AUTH": "k", "MY_CREDENTIALS": "k",
			"PGPASSWD": "k", "CUDA_VISIBLE_DEVICES": "0,1", "EMPTY": "", "BAD_UTF8": "a\uFFFDb",
		}, true}, // bad.name cannot be a record key
		{"bad pattern", []string{"["}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hw.CaptureEnv(environ, tt.patterns)
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildFrom(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Path:      "example.com/train/cmd/train",
		Main:      debug.Module{Path: "example.com/train", Version: "v1.2.3", Sum: "h1:main="},
		Deps: []*debug.Module{
			{Path: "github.com/a/b", Version: "v0.1.0", Sum: "h1:ab="},
			{Path: "github.com/c/d", Version: "v1.0.0", Replace: &debug.Module{Path: "../d"}},
			{Path: "github.com/e/f", Version: "v1.0.0", Replace: &debug.Module{Path: "github.com/fork/f", Version: "v1.0.1", Sum: "h1:fork="}},
		},
		Settings: []debug.BuildSetting{
			{Key: "-tags", Value: "gpu"},
			{Key: "CGO_ENABLED", Value: "1"},
			{Key: "-ldflags", Value: "-X main.apiToken=abc"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-25T10:11:12+01:00"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	modified := true
	vcsTime := time.Date(2026, 11, 25, 9, 11, 12, 0, time.UTC)
	want := hw.Build{
		GoVersion: runtime.Version(),
		Compiler:  runtime.Compiler,
		Path:      "example.com/train/cmd/train",
		Module:    &hw.Module{Path: "example.com/train", Version: "v1.2.3", Sum: "h1:main="},
		VCS: &hw.VCS{
			System: "git", Revision: "0123456789abcdef0123456789abcdef01234567",
			Time: &vcsTime, Modified: &modified,
		},
		Settings: []hw.Setting{
			{Key: "-tags", Value: "gpu"}, {Key: "CGO_ENABLED", Value: "1"}, {Key: "-ldflags", Value: "-X main.apiToken=abc"},
		},
		Deps: []hw.Module{
			{Path: "github.com/a/b", Version: "v0.1.0", Sum: "h1:ab="},
			{Path: "github.com/c/d", Version: "v1.0.0", Replace: "../d"},
			{Path: "github.com/e/f", Version: "v1.0.0", Sum: "h1:fork=", Replace: "github.com/fork/f v1.0.1"},
		},
	}
	if diff := cmp.Diff(want, hw.BuildFrom(bi)); diff != "" {
		t.Errorf("BuildFrom (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hw.Build{GoVersion: runtime.Version(), Compiler: runtime.Compiler}, hw.BuildFrom(nil)); diff != "" {
		t.Errorf("BuildFrom(nil) (-want +got):\n%s", diff)
	}
}

// TestHwinfoBinary builds examples/hwinfo with CGO_ENABLED=0 (the NVML
// stub) and checks what a real binary captures: dependencies and the vcs
// stamp, then two samples.
func TestHwinfoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary (seconds)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	bin := filepath.Join(t.TempDir(), "hwinfo")
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-buildvcs=auto", "-o", bin, "../examples/hwinfo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	var stdout, stderr strings.Builder
	cmd = exec.CommandContext(t.Context(), bin, "-interval", "50ms")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hwinfo: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(strings.NewReader(stdout.String()))
	var info hw.Info
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("hwinfo output: %v\n%s", err, stdout.String())
	}
	found := false
	for _, d := range info.Build.Deps {
		found = found || d.Path == "github.com/shirou/gopsutil/v4" && d.Version != ""
	}
	if !found {
		t.Errorf("build.deps lacks gopsutil: %+v", info.Build.Deps)
	}
	if info.Build.Path != "github.com/recordlab/go-record/examples/hwinfo" {
		t.Errorf("build.path = %q", info.Build.Path)
	}
	if len(info.Host.GPUs) != 0 {
		t.Errorf("a CGO_ENABLED=0 build reports GPUs: %+v", info.Host.GPUs)
	}
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		if v := info.Build.VCS; v == nil || v.Revision != strings.TrimSpace(string(head)) || v.Time == nil || v.Modified == nil {
			t.Errorf("build.vcs = %+v, want revision %s", v, head)
		}
	}
	for i := range 2 {
		var m map[string]float64
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("sample %d: %v\n%s", i+1, err, stdout.String())
		}
		for _, name := range []string{hw.MetricCPUPercent, hw.MetricMemoryUsed, hw.MetricMemoryPercent} {
			if _, ok := m[name]; !ok {
				t.Errorf("sample %d lacks %s: %v", i+1, name, m)
			}
		}
	}
}
