package sqlite_test

import (
	"errors"

	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
)

// smallFS mounts a tmpfs of size bytes on a temporary directory for the
// test and returns the directory. It skips the test when it may not mount
// (not root, or no CAP_SYS_ADMIN).
func smallFS(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting the small tmpfs this test fills needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.FormatInt(size, 10)); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("skipped: mount tmpfs: %v (no CAP_SYS_ADMIN here)", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v (a file is still open)", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	// Never fill anything but the small file system.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || uint64(st.Blocks)*uint64(st.Bsize) > uint64(size) {
		t.Fatalf("%s is not the %d-byte tmpfs just mounted (%v)", dir, size, err)
	}
	return dir
}

// fillFS writes the file name until the file system is full.
func fillFS(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestDiskFull: on a 4 MiB tmpfs with 1 MiB taken by another file, batches
// fill the disk until ApplyBatch reports ErrFull; then every kind of write
// reports ErrFull, every acknowledged batch is there exactly once and the
// file passes integrity_check; once the other file is deleted, writes
// succeed again through the same Backend, and the first of them returns
// the write-ahead log's space (see afterFull).
func TestDiskFull(t *testing.T) {
	dir := smallFS(t, 4<<20)
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "records.db")
	b := open(t, "sqlite://"+path)
	ctx := t.Context()
	if err := b.Insert(ctx, "c", "r", map[string]any{"progress": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	batch := func() backend.Batch {
		pts := make([]backend.Point, 200)
		return backend.Batch{Metric: "loss", Points: pts, Update: countUpdate(pts)}
	}
	acked := 0
	var err error
	for ; acked < 10000; acked++ {
		if err = b.ApplyBatch(ctx, "c", "r", batch()); err != nil {
			break
		}
	}
	t.Logf("%d batches acknowledged, then: %v", acked, err)
	du(t, dir)
	if !errors.Is(err, backend.ErrFull) || !strings.HasPrefix(err.Error(), "sqlite: store full: ") {
		t.Fatalf("ApplyBatch on a full disk: %v, want sqlite: store full: ...", err)
	}
	big := strings.Repeat("x", 256<<10)
	for name, write := range map[string]func() error{
		"Insert": func() error { return b.Insert(ctx, "c", "new", map[string]any{"big": big}) },
		"Merge": func() error {
			return b.Merge(ctx, "c", "r", []backend.Op{{Kind: backend.Set, Path: []string{"big"}, Value: big}})
		},
		"AppendSeries": func() error { return b.AppendSeries(ctx, "c", "r", "other", make([]backend.Point, 20000)) },
		"ApplyBatch":   func() error { return b.ApplyBatch(ctx, "c", "r", batch()) },
	} {
		if err := write(); !errors.Is(err, backend.ErrFull) {
			t.Errorf("%s on a full disk: %v, want ErrFull", name, err)
		}
	}
	checkBatches(t, b, path, acked)
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := b.ApplyBatch(ctx, "c", "r", batch()); err != nil {
			t.Fatalf("ApplyBatch %d after space returned: %v", i, err)
		}
		if i == 0 {
			// The first write after ErrFull checkpointed the log into the
			// database and truncated it: its space is back.
			du(t, dir)
			if fi, err := os.Stat(path + "-wal"); err != nil {
				t.Error(err)
			} else if fi.Size() >= 1<<20 {
				t.Errorf("write-ahead log holds %d bytes after the first write with space, want it truncated", fi.Size())
			}
		}
	}
	if err := b.Merge(ctx, "c", "r", []backend.Op{{Kind: backend.Set, Path: []string{"after"}, Value: true}}); err != nil {
		t.Errorf("Merge after space returned: %v", err)
	}
	du(t, dir)
	checkBatches(t, b, path, acked+20)
}

// TestDiskFullOpen: opening a store on a full disk fails with ErrFull
// (SQLite cannot create the -shm file: an I/O error, not SQLITE_FULL), and
// succeeds, with the data intact, once there is space again.
func TestDiskFullOpen(t *testing.T) {
	dir := smallFS(t, 2<<20)
	path := filepath.Join(dir, "records.db")
	ctx := t.Context()
	b, err := sqlite.Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Insert(ctx, "c", "r", map[string]any{"k": "v\x00\"\\\xff"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ballast := filepath.Join(dir, "ballast")
	fillFS(t, ballast)
	if b, err := sqlite.Open(ctx, "sqlite://"+path); !errors.Is(err, backend.ErrFull) {
		if err == nil {
			b.Close()
		}
		t.Fatalf("Open on a full disk: %v, want ErrFull", err)
	} else {
		t.Logf("Open on a full disk: %v", err)
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	b = open(t, "sqlite://"+path)
	doc, err := b.Get(ctx, "c", "r")
	if err != nil || doc["k"] != "v\x00\"\\\xff" {
		t.Fatalf("Get after space returned: %v, %v", doc, err)
	}
}

// du logs the free space of dir and the sizes of its files.
func du(t *testing.T, dir string) {
	t.Helper()
	var st syscall.Statfs_t
	syscall.Statfs(dir, &st)
	ents, _ := os.ReadDir(dir)
	var s []string
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			s = append(s, e.Name()+"="+strconv.FormatInt(fi.Size(), 10))
		}
	}
	t.Logf("free %d bytes: %v", st.Bavail*uint64(st.Bsize), s)
}

// checkBatches checks that the record holds exactly n applied batches of
// 200 points each, in order, and that the file passes integrity_check.
func checkBatches(t *testing.T, b *sqlite.Backend, path string, n int) {
	t.Helper()
	doc, err := b.Get(t.Context(), "c", "r")
	if err != nil {
		t.Fatal(err)
	}
	if got := doc["progress"].(map[string]any)[batchCounter]; got != int64(n) {
		t.Errorf("counter = %v, want %d acknowledged batches", got, n)
	}
	pts, err := readSeries(t, t.Context(), b, "c", "r", "loss")
	if err != nil || len(pts) != 200*n {
		t.Errorf("series holds %d points, %v; want %d", len(pts), err, 200*n)
	}
	for i, p := range pts {
		if p.Step != int64(i) {
			t.Fatalf("point %d has step %d", i, p.Step)
		}
	}
	db := rawDB(t, path)
	var ok string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %q, %v", ok, err)
	}
	db.Close()
}
