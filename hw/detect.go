package hw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options selects what Detect captures beyond the defaults.
type Options struct {
	// Dir is the working directory whose filesystem (Host.Disk) and git
	// repository (Build.Git) are described; empty means os.Getwd.
	Dir string
	// Env lists the environment variables to capture in Run.Env: names
	// or path.Match glob patterns ("CUDA_*", "OMP_NUM_THREADS"). Nothing
	// is captured by default. Values are captured as they are, like
	// Run.Args and the build settings: Detect redacts nothing, so a caller
	// that stores or prints them redacts secrets first (package record
	// does, by name and by value).
	Env []string
	// GitTimeout bounds all git commands of the first Detect for a
	// directory; zero means 2 seconds.
	GitTimeout time.Duration
}

// Detect describes the machine, the build and the run.
//
// The expensive part (everything under host and build) runs once per
// process and once per distinct Options.Dir; later calls copy the cached
// value and cost microseconds. The facts that belong to the call are
// fresh each time: run.pid, run.args, run.dir and run.env. If the first call's ctx ends before the facts are
// gathered, nothing is cached and the next call tries again.
//
// Detect returns what it could find even when some facts fail: the error
// then joins (errors.Join) one error per missing fact, and the Info is
// still usable. A cancelled ctx yields an error that errors.Is
// context.Canceled. The returned Info is the caller's to change.
func Detect(ctx context.Context, opts Options) (*Info, error) {
	var errs []error

	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			errs = append(errs, fmt.Errorf("hw: working directory: %w", err))
		}
		dir = wd
	}
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}

	m, d, err := cached(ctx, dir, opts)
	if err != nil {
		errs = append(errs, err)
	}

	var info *Info
	if m != nil {
		info = m.info.Clone()
		errs = append(errs, m.err)
	} else {
		info = &Info{Host: baseHost(), Build: Build{GoVersion: goVersion()}}
	}
	if d != nil {
		d = d.clone()
		info.Host.Disk = d.disk
		info.Build.Git = d.git
		errs = append(errs, d.err)
	}

	info.Run.PID = os.Getpid()
	info.Run.Args = make([]string, len(os.Args))
	for i, a := range os.Args {
		info.Run.Args[i] = strings.ToValidUTF8(a, "\uFFFD")
	}
	info.Run.Dir = dir
	env, err := captureEnv(os.Environ(), opts.Env)
	info.Run.Env = env
	errs = append(errs, err)

	return info, errors.Join(errs...)
}

// machineFacts are the facts that do not depend on Options.
type machineFacts struct {
	info *Info // Host (without Disk), Build (without Git), Run.Start and Run.Executable
	err  error
}

// dirFacts are the facts that depend on the directory.
type dirFacts struct {
	disk *Disk
	git  *Git
	err  error
}

func (d *dirFacts) clone() *dirFacts {
	c := *d
	if d.disk != nil {
		disk := *d.disk
		disk.Free = ptr(disk.Free)
		c.disk = &disk
	}
	if d.git != nil {
		g := *d.git
		g.Dirty = ptr(g.Dirty)
		g.Untracked = ptr(g.Untracked)
		c.git = &g
	}
	return &c
}

// cache holds what the first successful Detect found. Its lock is a
// channel so that waiting honours ctx.
var cache = struct {
	lock    chan struct{}
	machine *machineFacts
	dirs    map[string]*dirFacts
}{lock: make(chan struct{}, 1), dirs: map[string]*dirFacts{}}

// resetCache forgets every cached fact (for tests and benchmarks).
func resetCache() {
	cache.lock <- struct{}{}
	cache.machine = nil
	cache.dirs = map[string]*dirFacts{}
	<-cache.lock
}

// cached returns the machine and directory facts, gathering the missing
// ones. It returns a non-nil error only when ctx ended; the facts it
// returns then may be nil or partial, and are not cached.
func cached(ctx context.Context, dir string, opts Options) (*machineFacts, *dirFacts, error) {
	select {
	case cache.lock <- struct{}{}:
	default:
		select {
		case cache.lock <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	defer func() { <-cache.lock }()

	m, d := cache.machine, cache.dirs[dir]
	if m != nil && d != nil {
		return m, d, nil
	}

	var wg sync.WaitGroup
	if m == nil {
		wg.Go(func() { m = gatherMachine(ctx) })
	}
	if d == nil {
		wg.Go(func() { d = gatherDir(ctx, dir, opts) })
	}
	wg.Wait()

	if err := ctx.Err(); err != nil {
		return m, d, err
	}
	cache.machine = m
	cache.dirs[dir] = d
	return m, d, nil
}

// gatherMachine reads every fact that does not depend on the directory,
// the slow sources concurrently.
func gatherMachine(ctx context.Context) *machineFacts {
	info := &Info{Host: baseHost(), Build: readBuild()}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	add := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	h := &info.Host
	wg.Go(func() { add(readOS(ctx, h)) })
	wg.Go(func() {
		var err error
		h.CPU, err = readCPU(ctx)
		add(err)
	})
	wg.Go(func() {
		var err error
		h.Memory, err = readMemory(ctx)
		add(err)
	})
	wg.Go(func() {
		var err error
		h.Cgroup, err = readCgroup(osFS{})
		add(err)
	})
	wg.Go(func() {
		var err error
		h.GPUs, err = detectGPUs(ctx)
		add(err)
	})
	wg.Go(func() {
		var err error
		info.Run.Start, err = processStart(ctx)
		add(err)
	})
	user, err := currentUser()
	h.User = user
	add(err)
	if exe, err := os.Executable(); err == nil {
		info.Run.Executable = exe
	} else {
		add(fmt.Errorf("hw: executable: %w", err))
	}
	wg.Wait()
	return &machineFacts{info: info, err: errors.Join(errs...)}
}

// gatherDir reads the facts of one directory.
func gatherDir(ctx context.Context, dir string, opts Options) *dirFacts {
	if dir == "" {
		return &dirFacts{}
	}
	var (
		d        dirFacts
		gitErr   error
		diskErr  error
		wg       sync.WaitGroup
		deadline = opts.GitTimeout
	)
	if deadline <= 0 {
		deadline = 2 * time.Second
	}
	wg.Go(func() { d.git, gitErr = readGit(ctx, dir, deadline) })
	d.disk, diskErr = readDisk(ctx, dir)
	wg.Wait()
	d.err = errors.Join(diskErr, gitErr)
	return &d
}
