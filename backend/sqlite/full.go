package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/recordlab/go-record/backend"
	sqlite3 "modernc.org/sqlite/lib"
)

// lowSpace is the free space, in bytes, under which an I/O error on the
// database's file system is taken for "no space left on device": SQLite
// reports ENOSPC as SQLITE_FULL where it writes a page, but as an I/O
// error (SQLITE_IOERR_SHMSIZE, ...) where it extends the -shm file, for
// example when a connection opens a store on a full disk, and the driver
// does not pass the errno on.
const lowSpace = 1 << 20

// noSpace returns err, wrapped beside backend.ErrFull when it is an I/O
// error and the file system holding the database has less than lowSpace
// bytes left for this user. fail then reports it as ErrFull rather than
// ErrUnavailable.
func (b *Backend) noSpace(err error) error {
	if code(err)&0xff != sqlite3.SQLITE_IOERR || errors.Is(err, backend.ErrFull) {
		return err
	}
	if free, ok := freeSpace(filepath.Dir(b.path)); ok && free < lowSpace {
		return fmt.Errorf("%w: %w", backend.ErrFull, err)
	}
	return err
}

// isFull reports whether err says the disk is full.
func isFull(err error) bool {
	return errors.Is(err, backend.ErrFull) || code(err)&0xff == sqlite3.SQLITE_FULL
}

// fullCheckpointWait bounds how long the checkpoint after a full disk
// waits for readers to leave the write-ahead log.
const fullCheckpointWait = time.Second

// afterFull runs before the first write that follows a write that found
// the disk full: it moves the write-ahead log into the database file and
// truncates it (wal_checkpoint(TRUNCATE)), so that the log's space returns
// to the file system once there is room for the checkpoint. A checkpoint
// that finds no room leaves the flag for the next write; any other outcome
// (done, readers still in the log, timed out) clears it, and the automatic
// checkpoints take over. The write itself goes ahead either way.
func (b *Backend) afterFull(ctx context.Context) {
	if !b.full.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, fullCheckpointWait)
	defer cancel()
	var busy, logged, moved int
	err := b.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &moved)
	if !isFull(b.noSpace(err)) {
		b.full.Store(false)
	}
}
