//go:build !unix

package spool

import (
	"errors"
	"fmt"
	"os"
)

// lock is not available without flock: the spool needs a Unix system.
func lock(*os.File) error {
	return fmt.Errorf("spool: file locks: %w", errors.ErrUnsupported)
}

// classify leaves err as it is.
func classify(err error) error { return err }

// rename is not needed where lock fails first.
func rename(f *os.File, name string) (*os.File, error) { return f, nil }
