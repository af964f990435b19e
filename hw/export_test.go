package hw

// Hooks for the external tests.
var (
	ResetCache      = resetCache
	ReadCgroup      = readCgroup
	DetectContainer = detectContainer
	CaptureEnv      = captureEnv
	CPUBusy         = cpuBusy
	BuildFrom       = buildFrom
	LinuxPlatform   = linuxPlatform
)
