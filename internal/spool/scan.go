package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Info names one journal found under root.
type Info struct {
	Path   string // the journal's file, for Open
	Header Header // its header
	Size   int64  // its size in bytes, header included
}

// Scan lists every journal under root (missing root: none), sorted by
// path; unreadable headers are reported as errors in the second return,
// not fatal. It takes no locks: a journal listed may be owned by a live
// writer (Open says so with ErrBusy).
func Scan(root string) ([]Info, error) {
	var infos []Info
	var errs []error
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			errs = append(errs, fmt.Errorf("spool: scan: %w", err))
			return nil
		}
		name := d.Name()
		if d.IsDir() || !strings.HasSuffix(name, suffix) || strings.HasPrefix(name, ".") {
			return nil
		}
		info, err := readInfo(path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		infos = append(infos, info)
		return nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("spool: scan: %w", err))
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Path, b.Path) })
	return infos, errors.Join(errs...)
}

// readInfo reads the header of the journal at path.
func readInfo(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("spool: scan: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("spool: scan: %w", err)
	}
	p, _, err := readFrame(f, 0, fi.Size())
	var h Header
	if err == nil {
		h, err = decodeHeader(p)
	}
	if err != nil {
		if errors.Is(err, errBadFrame) || errors.Is(err, io.EOF) {
			err = errors.New("no valid header")
		}
		return Info{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return Info{Path: path, Header: h, Size: fi.Size()}, nil
}
