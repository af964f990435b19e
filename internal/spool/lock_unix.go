//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/recordlab/go-record/backend"
)

// lock takes an exclusive flock on f without waiting: ErrBusy if held.
func lock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return ErrBusy
		}
		return fmt.Errorf("flock: %w", err)
	}
}

// classify marks the errors of a full disk with backend.ErrFull.
func classify(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return fmt.Errorf("%w: %w", backend.ErrFull, err)
	}
	return err
}

// rename returns a File for f's open file description under another name
// (for its errors) and closes f; the flock, which belongs to the open file
// description, stays held.
func rename(f *os.File, name string) (*os.File, error) {
	syscall.ForkLock.RLock()
	fd, err := syscall.Dup(int(f.Fd()))
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("dup: %w", err)
	}
	f.Close()
	return os.NewFile(uintptr(fd), name), nil
}
