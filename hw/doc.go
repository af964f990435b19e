// Package hw captures what a machine can tell about a run: the host
// (operating system, CPU, memory, disk, control-group limits, NVIDIA
// GPUs), the build (Go toolchain, modules, version control stamp, the git
// state of the working directory) and the process (command line, pid,
// start time, chosen environment variables). It also samples live system
// metrics (CPU, memory, disk and network throughput, GPU utilization,
// memory, temperature and power).
//
// Package record calls Detect when it creates a record and stores the
// result under the keys host, build and run; record.WithSystemMetrics
// logs a Sampler's samples as system.* series. hw imports nothing else of
// this module and can be used on its own:
//
//	info, err := hw.Detect(ctx, hw.Options{Env: []string{"CUDA_*", "OMP_NUM_THREADS"}})
//	if err != nil {
//		log.Printf("some facts are missing: %v", err) // info is still usable
//	}
//	fmt.Println(info.Host.CPU.Model, len(info.Host.GPUs), info.Build.Git.Commit)
//
// Facts come from github.com/shirou/gopsutil/v4, NVIDIA's NVML through
// github.com/NVIDIA/go-nvml, runtime/debug.ReadBuildInfo, /proc and
// /sys/fs/cgroup, and the git binary. Numbers are numbers: bytes, counts,
// MHz, watts. A fact that cannot be read is absent, never guessed.
//
// # Layout
//
// The json tags of Info are the stored layout. On a Debian machine with
// one H100 (lists shortened):
//
//	{
//	  "host": {
//	    "hostname": "gpu-7", "user": "alice", "os": "linux", "arch": "amd64", "num_cpu": 26,
//	    "platform": "ubuntu", "platform_family": "debian", "platform_version": "22.04",
//	    "kernel_version": "5.15.0-119-generic", "kernel_arch": "x86_64",
//	    "virtualization_system": "kvm", "virtualization_role": "guest", "container": "docker",
//	    "cpu": {"model": "Intel(R) Xeon(R) Platinum 8480+", "vendor": "GenuineIntel", "sockets": 1,
//	            "physical_cores": 26, "logical_cores": 26, "mhz": 2000, "cache_kb": 107520},
//	    "memory": {"total": 236223201280, "available": 229003141120},
//	    "disk": {"path": "/home/alice/train", "fstype": "ext2/ext3", "total": 1081101176832, "free": 803648413696},
//	    "cgroup": {"version": 2, "cpu_quota": 26, "cpu_quota_us": 2600000, "cpu_period_us": 100000,
//	               "memory_limit": 236223201280},
//	    "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-6f1c…",
//	              "pci_bus_id": "00000000:00:06.0", "memory_total": 85520809984,
//	              "driver_version": "580.159.04", "cuda_driver_version": "13.0",
//	              "compute_capability": "9.0", "power_limit": 700, "max_sm_clock_mhz": 1980,
//	              "mig_mode": "disabled"}]
//	  },
//	  "build": {
//	    "go_version": "go1.26.8", "compiler": "gc", "path": "example.com/train/cmd/train",
//	    "module": {"path": "example.com/train", "version": "v0.3.1-0.20261125094512-0123456789ab+dirty"},
//	    "vcs": {"system": "git", "revision": "0123456789abcdef0123456789abcdef01234567",
//	            "time": "2026-11-25T09:45:12Z", "modified": true},
//	    "settings": [{"key": "CGO_ENABLED", "value": "1"}, {"key": "GOARCH", "value": "amd64"}, …],
//	    "deps": [{"path": "github.com/NVIDIA/go-nvml", "version": "v0.13.4-1", "sum": "h1:…"}, …],
//	    "git": {"root": "/home/alice/train", "commit": "0123456789abcdef0123456789abcdef01234567",
//	            "branch": "main", "dirty": true, "untracked": 1,
//	            "diff_sha256": "f8f10f20…", "remote": "https://github.com/example/train.git"}
//	  },
//	  "run": {
//	    "pid": 4242, "args": ["./train", "-lr", "0.01"], "start": "2026-11-25T10:00:00.12Z",
//	    "executable": "/home/alice/train/train", "dir": "/home/alice/train",
//	    "env": {"CUDA_VISIBLE_DEVICES": "0", "HF_TOKEN": "[redacted]"},
//	    "seed": 42
//	  }
//	}
//
// host.hostname, host.user, host.os (runtime.GOOS), host.arch
// (runtime.GOARCH), host.num_cpu (runtime.NumCPU: the CPUs this process
// may use), build.go_version, run.pid, run.args and run.start (when the
// process started) are the keys package record stored before hw existed,
// with the same meanings. build.deps and build.settings are lists, not
// maps, because module paths and setting names contain dots, which record
// keys may not. run.seed is filled by record.WithSeed, never by Detect.
//
// # Reproducibility checklist
//
// The Machine Learning Reproducibility Checklist (Pineau et al., NeurIPS
// 2019-2021) asks for several items a machine can answer by itself:
//
//   - "A description of the computing infrastructure used": host.cpu,
//     host.memory, host.gpus (model, memory, compute capability, power
//     limit, MIG mode), host.platform*, host.kernel_version, the
//     driver and CUDA versions in host.gpus, host.cgroup (the share of
//     the machine the run really had), host.container.
//   - "Specification of dependencies" and "a link to the source code":
//     build.go_version, build.module, build.deps (every module version
//     compiled in), build.settings (cgo, tags, flags), build.vcs (the
//     commit the binary was built from) and build.git (commit, branch,
//     dirty flag, a hash of the uncommitted diff, the remote URL without
//     credentials). Two runs with equal build.git.commit and
//     build.git.diff_sha256 ran the same tracked code.
//   - "The average runtime for each result, or estimated energy cost":
//     run.start with the record's end time, and the system.* series of
//     record.WithSystemMetrics (gpu.<i>.power integrated over time is the
//     GPUs' energy).
//   - Not named by the checklist but needed to rerun: run.seed, and the
//     exact command and settings: run.args, and run.env for the
//     variables that change results (CUDA_VISIBLE_DEVICES,
//     CUBLAS_WORKSPACE_CONFIG, OMP_NUM_THREADS...), captured only when
//     listed in Options.Env.
//
// The other items (hyper-parameters and how they were chosen, data
// splits, number of runs, statistics) belong to the record's own fields.
//
// # Caching
//
// Detect reads the machine once per process (and the disk and git state
// once per Options.Dir) and then returns copies of the cached facts. The
// first call took 105 ms on a loaded 2-core VM (mostly `git status` in a
// large working tree) and 20 ms on a 16-core H100 machine (NVML included);
// later calls take 10-35 µs (BenchmarkDetectFirst, BenchmarkDetectCached). Memory available, disk free and the
// git state are therefore as of the first call. A first call whose ctx
// ends caches nothing.
//
// # GPUs and cgo
//
// NVML is a C library loaded at run time (libnvidia-ml.so.1), so GPU
// facts need cgo on Linux. Without cgo, or elsewhere, host.gpus is always
// absent and the package still builds (CGO_ENABLED=0 works). A machine
// without an NVIDIA driver has no host.gpus and no error. Build with
// CGO_CFLAGS=-Wno-deprecated-declarations to quiet gcc about NVML
// functions the package does not call.
//
// # Live metrics
//
// A Sampler returns one map per Sample call with the Metric* names:
// cpu.percent, memory.used, memory.percent, disk.read_bytes_per_sec,
// disk.write_bytes_per_sec, network.sent_bytes_per_sec,
// network.recv_bytes_per_sec, and per GPU gpu.<i>.utilization,
// gpu.<i>.memory_used, gpu.<i>.temperature and gpu.<i>.power. Rates are
// averages since the previous Sample. A metric that fails is left out of
// that sample; the sample itself never fails because of it.
//
// # Errors
//
// Detect and Sample return partial results: the error joins
// (errors.Join) one "hw: ..." error per fact that failed, and the result
// holds everything else. Context errors pass through (errors.Is(err,
// context.Canceled)).
//
// # Special considerations
//
//   - Environment variables are captured only when Options.Env lists them
//     (names or path.Match globs). Detect returns them, the command line
//     and the build settings as they are: it is record (record.RedactFacts,
//     applied by Create) that masks secrets in them, by name and by value,
//     with the module's one scrubber. A program that prints Detect's Info
//     itself should call record.RedactFacts first.
//   - git runs with GIT_OPTIONAL_LOCKS=0 (it never takes the index lock
//     of a working tree someone is using) and a 2 s limit
//     (Options.GitTimeout). Outside a repository, without git, or in a
//     repository git refuses to read, build.git is absent.
//   - build.vcs exists only in binaries the go command stamped (go build
//     in a repository, not go test, not -buildvcs=false); build.git is
//     read at run time and exists wherever the working directory is in a
//     repository.
//   - Control-group limits are the tightest along the process's cgroup
//     path (v1 and v2); an unlimited resource has no field.
package hw
