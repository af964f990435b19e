package tick

// available: the processor says its counter is invariant (CPUID leaf
// 0x80000007, EDX bit 8).
var available = invariantTSC()

// read executes RDTSC.
func read() int64

// cpuid executes CPUID for leaf and sub-leaf 0.
func cpuid(leaf uint32) (eax, ebx, ecx, edx uint32)

func invariantTSC() bool {
	if maxExt, _, _, _ := cpuid(0x8000_0000); maxExt < 0x8000_0007 {
		return false
	}
	_, _, _, edx := cpuid(0x8000_0007)
	return edx&(1<<8) != 0
}
