//go:build linux || darwin

package sqlite

import "syscall"

// freeSpace returns the bytes of the file system holding dir that this
// user may still use; false if it cannot tell.
func freeSpace(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
