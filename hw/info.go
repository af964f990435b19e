package hw

import "time"

// Info is what Detect captured: the machine, the build and the run. Its
// json tags are the stored layout (package record stores Info under the
// keys host, build and run). A fact that could not be read is absent:
// a nil pointer, an empty string, slice or struct pointer, omitted from
// JSON. No field is ever filled with a guess.
type Info struct {
	Host  Host  `json:"host"`
	Build Build `json:"build"`
	Run   Run   `json:"run"`
}

// Host describes the machine and operating system.
type Host struct {
	// Hostname is os.Hostname.
	Hostname string `json:"hostname,omitempty"`
	// User is the login name of the current user (os/user, else $USER).
	User string `json:"user,omitempty"`
	// OS is runtime.GOOS.
	OS string `json:"os"`
	// Arch is runtime.GOARCH.
	Arch string `json:"arch"`
	// NumCPU is runtime.NumCPU: the logical CPUs this process may use.
	NumCPU int `json:"num_cpu"`

	// Platform is the distribution or OS name ("debian", "ubuntu", "darwin").
	Platform string `json:"platform,omitempty"`
	// PlatformFamily groups platforms ("debian" for ubuntu, "rhel" for rocky).
	PlatformFamily string `json:"platform_family,omitempty"`
	// PlatformVersion is the distribution's version ("12.5", "22.04").
	PlatformVersion string `json:"platform_version,omitempty"`
	// KernelVersion is the kernel release ("6.1.0-18-amd64").
	KernelVersion string `json:"kernel_version,omitempty"`
	// KernelArch is the kernel's machine name ("x86_64", "aarch64").
	KernelArch string `json:"kernel_arch,omitempty"`
	// VirtualizationSystem names the hypervisor or container system
	// gopsutil recognised ("kvm", "docker", "lxc"...).
	VirtualizationSystem string `json:"virtualization_system,omitempty"`
	// VirtualizationRole is "guest" or "host".
	VirtualizationRole string `json:"virtualization_role,omitempty"`
	// Container names the container runtime the process runs in
	// ("docker", "podman", "kubernetes", "containerd", "lxc"); absent
	// when no container was recognised.
	Container string `json:"container,omitempty"`

	CPU    *CPU    `json:"cpu,omitempty"`
	Memory *Memory `json:"memory,omitempty"`
	Disk   *Disk   `json:"disk,omitempty"`
	Cgroup *Cgroup `json:"cgroup,omitempty"`
	// GPUs lists the NVIDIA GPUs NVML reports; empty (absent) on a
	// machine without NVIDIA GPUs or driver, or in a build without cgo.
	GPUs []GPU `json:"gpus,omitempty"`
}

// CPU describes the processors of the machine.
type CPU struct {
	// Model is the model name ("AMD EPYC 9654 96-Core Processor").
	Model string `json:"model,omitempty"`
	// Vendor is the vendor id ("GenuineIntel", "AuthenticAMD").
	Vendor string `json:"vendor,omitempty"`
	// Sockets counts physical packages.
	Sockets int `json:"sockets,omitempty"`
	// PhysicalCores counts physical cores of the machine.
	PhysicalCores int `json:"physical_cores,omitempty"`
	// LogicalCores counts hardware threads of the machine (may exceed
	// Host.NumCPU when the process is restricted to fewer CPUs).
	LogicalCores int `json:"logical_cores,omitempty"`
	// MHz is the nominal or maximum clock in MHz.
	MHz float64 `json:"mhz,omitempty"`
	// CacheKB is the cache size reported per CPU, in KiB.
	CacheKB int `json:"cache_kb,omitempty"`
}

// Memory is the machine's main memory, in bytes.
type Memory struct {
	Total uint64 `json:"total,omitempty"`
	// Available is an estimate of memory available for new work at the
	// time of the first Detect.
	Available *uint64 `json:"available,omitempty"`
}

// Disk is the filesystem holding the working directory, in bytes, as of
// the first Detect.
type Disk struct {
	Path   string  `json:"path"`
	Fstype string  `json:"fstype,omitempty"`
	Total  uint64  `json:"total,omitempty"`
	Free   *uint64 `json:"free,omitempty"`
}

// Cgroup holds the Linux control group limits of the process. A limit
// that is not set (unlimited) is absent.
type Cgroup struct {
	// Version is 1 or 2.
	Version int `json:"version"`
	// CPUQuota is the CPU bandwidth limit in CPUs (quota / period; 1.5
	// means one and a half CPUs).
	CPUQuota *float64 `json:"cpu_quota,omitempty"`
	// CPUQuotaUS and CPUPeriodUS are the raw quota and period in
	// microseconds.
	CPUQuotaUS  *int64 `json:"cpu_quota_us,omitempty"`
	CPUPeriodUS *int64 `json:"cpu_period_us,omitempty"`
	// MemoryLimit is the memory limit in bytes.
	MemoryLimit *int64 `json:"memory_limit,omitempty"`
}

// GPU is one NVIDIA GPU as NVML reports it.
type GPU struct {
	// Index is NVML's device index (the order nvidia-smi shows).
	Index int `json:"index"`
	// Name is the product name ("NVIDIA H100 80GB HBM3").
	Name string `json:"name,omitempty"`
	// UUID is the GPU's UUID ("GPU-" and 36 characters).
	UUID string `json:"uuid,omitempty"`
	// PCIBusID is the PCI bus id ("00000000:00:06.0").
	PCIBusID string `json:"pci_bus_id,omitempty"`
	// MemoryTotal is the framebuffer memory in bytes.
	MemoryTotal uint64 `json:"memory_total,omitempty"`
	// DriverVersion is the NVIDIA driver version ("580.159.04").
	DriverVersion string `json:"driver_version,omitempty"`
	// CUDADriverVersion is the CUDA version the driver supports ("13.0").
	CUDADriverVersion string `json:"cuda_driver_version,omitempty"`
	// ComputeCapability is major.minor ("9.0" for Hopper).
	ComputeCapability string `json:"compute_capability,omitempty"`
	// PowerLimit is the enforced power limit in watts.
	PowerLimit *float64 `json:"power_limit,omitempty"`
	// MaxSMClockMHz is the maximum SM clock in MHz.
	MaxSMClockMHz int `json:"max_sm_clock_mhz,omitempty"`
	// MIGMode is "enabled" or "disabled"; absent on GPUs without MIG.
	MIGMode string `json:"mig_mode,omitempty"`
}

// Build describes the running binary: toolchain, modules, and the code
// state of the working directory.
type Build struct {
	// GoVersion is runtime.Version ("go1.26.8").
	GoVersion string `json:"go_version"`
	// Compiler is runtime.Compiler ("gc").
	Compiler string `json:"compiler,omitempty"`
	// Path is the main package's import path.
	Path string `json:"path,omitempty"`
	// Module is the main module.
	Module *Module `json:"module,omitempty"`
	// VCS is the version control state stamped into the binary by the go
	// command (absent with -buildvcs=false, in tests and with go run).
	VCS *VCS `json:"vcs,omitempty"`
	// Settings are the build settings other than vcs.* (CGO_ENABLED,
	// GOARCH, -tags, -ldflags...), in the binary's order, as they are
	// (record.RedactFacts masks secrets such as -X main.apiKey=...).
	Settings []Setting `json:"settings,omitempty"`
	// Deps are the dependency modules compiled into the binary, sorted by
	// path. A list, not a map: module paths contain dots, which record
	// keys may not.
	Deps []Module `json:"deps,omitempty"`
	// Git is the state of the git repository holding the working
	// directory; absent outside a repository or without git.
	Git *Git `json:"git,omitempty"`
}

// Module is a Go module and its version.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
	Sum     string `json:"sum,omitempty"`
	// Replace is the replacing module, "path version" or a directory.
	Replace string `json:"replace,omitempty"`
}

// VCS is the version control information stamped into the binary.
type VCS struct {
	// System is "git", "hg"...
	System string `json:"system,omitempty"`
	// Revision is the commit.
	Revision string `json:"revision,omitempty"`
	// Time is the commit time.
	Time *time.Time `json:"time,omitempty"`
	// Modified reports uncommitted changes at build time.
	Modified *bool `json:"modified,omitempty"`
}

// Setting is one build setting (key and value as `go version -m` shows).
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Git is the state of the working directory's git repository as of the
// first Detect.
type Git struct {
	// Root is the top-level directory of the working tree.
	Root string `json:"root,omitempty"`
	// Commit is the full hash of HEAD; absent before the first commit.
	Commit string `json:"commit,omitempty"`
	// Branch is the checked-out branch; absent on a detached HEAD.
	Branch string `json:"branch,omitempty"`
	// Dirty reports changes not committed: modified, staged or untracked
	// (not ignored) files, as `git status --porcelain` lists them.
	Dirty *bool `json:"dirty,omitempty"`
	// DiffSHA256 is the hex SHA-256 of `git diff --binary HEAD` (the
	// changes to tracked files, staged or not); present only when that
	// diff is not empty. Two runs with the same commit and DiffSHA256 ran
	// the same tracked code.
	DiffSHA256 string `json:"diff_sha256,omitempty"`
	// Untracked counts untracked, not ignored, files.
	Untracked *int `json:"untracked,omitempty"`
	// Remote is the URL of the branch's upstream remote, else of origin,
	// else of the first remote, with any credentials removed.
	Remote string `json:"remote,omitempty"`
}

// Run describes this process.
type Run struct {
	// PID is the process id.
	PID int `json:"pid"`
	// Args is the command line (os.Args, invalid UTF-8 replaced by U+FFFD).
	Args []string `json:"args"`
	// Start is when the process started, in UTC, as the operating system
	// tells (to the clock tick); where it does not, when package hw was
	// initialised.
	Start time.Time `json:"start"`
	// Executable is the path of the running binary.
	Executable string `json:"executable,omitempty"`
	// Dir is the working directory.
	Dir string `json:"dir,omitempty"`
	// Env holds the environment variables Options.Env asked for that are
	// set, as they are (record.RedactFacts masks secrets).
	Env map[string]string `json:"env,omitempty"`
	// Seed is the random seed of the run. Detect never sets it; package
	// record fills it from record.WithSeed.
	Seed *int64 `json:"seed,omitempty"`
}
