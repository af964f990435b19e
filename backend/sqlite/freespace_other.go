//go:build !linux && !darwin

package sqlite

// freeSpace cannot tell on this system: an I/O error stays ErrUnavailable.
func freeSpace(string) (uint64, bool) { return 0, false }
