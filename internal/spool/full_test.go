package spool_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
)

// smallFS mounts a tmpfs of the given size and returns its directory; it
// skips the test where that needs privileges the test does not have.
func smallFS(tb testing.TB, size string) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("mounting a small tmpfs needs root")
	}
	dir := filepath.Join(tb.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func bigEntry(seq int64, n int) spool.Entry {
	e := spool.Entry{Seq: seq, Metric: "loss", Points: make([]backend.Point, n)}
	t0 := time.UnixMilli(1_764_000_000_000).UTC()
	for i := range e.Points {
		e.Points[i] = backend.Point{Step: seq*int64(n) + int64(i), Value: float64(i) / 3, Time: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	return e
}

// TestDiskFull fills a 256 KiB tmpfs: the Append that does not fit fails
// with ErrFull and leaves the journal exactly as it was, every
// acknowledged entry reads back, and Append works again once there is
// room.
func TestDiskFull(t *testing.T) {
	root := smallFS(t, "256k")
	filler := filepath.Join(root, "filler")
	if err := os.WriteFile(filler, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var acked []spool.Entry
	var end int64
	for seq := int64(1); ; seq++ {
		e := bigEntry(seq, 1000) // 10 KB: the last one is cut short
		var fs syscall.Statfs_t
		if err := syscall.Statfs(root, &fs); err != nil {
			t.Fatal(err)
		}
		n, err := j.Append(e)
		if err != nil {
			// tmpfs writes what fits before ENOSPC: the frame was written
			// in part, and Append had to cut it off.
			if free := int64(fs.Bavail) * fs.Bsize; free == 0 {
				t.Fatalf("the disk was full before the Append: the truncate-back path was not exercised")
			} else {
				t.Logf("%d bytes were free for the frame", free)
			}
			if !errors.Is(err, backend.ErrFull) {
				t.Fatalf("Append on a full disk = %v, want ErrFull", err)
			}
			t.Logf("after %d entries: %v", len(acked), err)
			break
		}
		if seq > 100 {
			t.Fatal("the 256 KiB file system never filled")
		}
		acked, end = append(acked, e), n
	}
	if fi, err := os.Stat(j.Path()); err != nil || fi.Size() != end {
		t.Fatalf("size %d (%v) after the failed Append, want %d: a partial frame was left", fi.Size(), err, end)
	}
	wantEntries(t, j, acked)
	if _, err := j.Append(bigEntry(99, 1000)); !errors.Is(err, backend.ErrFull) {
		t.Fatalf("second Append on a full disk = %v, want ErrFull", err)
	}
	// Space returns.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e := bigEntry(100, 1000)
	if _, err := j.Append(e); err != nil {
		t.Fatalf("Append once there is room: %v", err)
	}
	wantEntries(t, j, append(acked, e))
}
