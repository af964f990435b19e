// Package spool keeps the writes of package record that could not reach
// their store yet: when the store is unreachable, when unflushed points
// exceed their memory bound, or when the user runs offline, record appends
// each batch to an on-disk journal, and `record sync` (or the writer
// itself, later) ships the journal's entries to the store and empties it.
//
// There is one journal per (store, collection, record id, writer), at
//
//	<root>/<store key>/<collection>/<id>.<writer>.journal
//
// where <store key> is the first 16 hex digits of the SHA-256 of the
// store's redacted DSN. Path components are kept as they are when made of
// [A-Za-z0-9_.-] (the characters of record's names); any other byte, a
// leading '.', and a '.' in the writer are written %XX, and a component
// longer than 120 bytes is shortened with a hash, so that distinct names
// never share a file. The header inside the file, not the name, says whose
// journal it is.
//
// # Durability
//
// A journal is a sequence of frames: [uint32 length][uint32 CRC-32C of
// payload][payload]. The first frame is the header (with a format
// version); each later frame is one Entry. Append writes a frame and
// fsyncs it before returning, so an entry Append acknowledged survives a
// crash of the process or the machine. A crash during Append leaves at
// most a partial last frame; readers treat it as the end of the journal,
// and the next Append cuts it off. A damaged frame followed by valid ones
// is not a crash: Read reports ErrCorrupt rather than skip entries.
// AppendBatch writes many entries with one fsync, and is acknowledged as
// Append is. Write writes entries without an fsync, for what nobody was
// told is safe yet: they survive a crash of the process, not of the
// machine, until Sync (or the next Append or AppendBatch); a crash of the
// machine may leave them torn or damaged, and readers stop there.
// A new journal appears with its header complete (written to a temporary
// file that is then linked into place).
//
// # Ownership
//
// A Journal holds an exclusive flock(2) on its file from Create or Open
// until Close or Remove; a second Create or Open, from this process or
// another, gets ErrBusy. The kernel releases the lock when its holder
// dies, even by SIGKILL, so a crashed writer's journal can be shipped by
// the next process. Scan reads headers without locking.
//
// # Errors
//
// Append returns an error matching backend.ErrFull when the disk has no
// room (ENOSPC, EDQUOT, EFBIG); the journal is then as before the call.
// Unsupported values are backend.ErrInvalid, oversized entries
// backend.ErrTooLarge.
package spool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/recordlab/go-record/backend"
)

var (
	// ErrBusy is returned by Create and Open when another Journal (of
	// this process or another live one) holds the journal's lock.
	ErrBusy = errors.New("spool: journal is in use by another writer")
	// ErrCorrupt is returned when a journal holds a damaged frame that is
	// not the torn tail of a crash, or has no valid header.
	ErrCorrupt = errors.New("spool: journal is corrupt")
)

// Root returns the spool directory: $RECORD_SPOOL_DIR when set, else
// filepath.Join(os.UserCacheDir(), "record", "spool").
func Root() (string, error) {
	if d := os.Getenv("RECORD_SPOOL_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("spool: no spool directory (set RECORD_SPOOL_DIR): %w", err)
	}
	return filepath.Join(c, "record", "spool"), nil
}

// Header describes a journal; it is the first frame of the file.
type Header struct {
	Store      string    // the store's DSN with secrets redacted (the caller redacts; never write a password)
	Collection string    // the record's collection
	ID         string    // the record's id
	Writer     string    // the writer whose batches the journal holds
	Created    time.Time // when the journal was made; UTC, millisecond precision
}

// Entry is one spooled write. Empty Points or Ops read back as nil.
type Entry struct {
	Seq    int64           // the writer's batch sequence; 0 for Create
	Create map[string]any  // the whole record document, when the record was created offline; nil otherwise
	Metric string          // series of Points ("" when none)
	Points []backend.Point // the points of the batch, Time kept to the millisecond in UTC
	// Raw, instead of Points (an entry with both is ErrInvalid), are the
	// points of the batch in the journal's own form, in slices written
	// one after the other with a copy; Read returns them as Points.
	Raw [][]RawPoint
	Ops []backend.Op // document changes (Set/Append/Unset), values are record's stored values
}

// Journal is one writer's open, locked journal. Its methods are safe for
// concurrent use.
type Journal struct {
	mu     sync.Mutex
	f      *os.File // nil once closed
	path   string
	root   string // where Remove stops removing empty directories; "" if unknown
	header Header
	start  int64 // offset of the first entry
	end    int64 // offset after the last valid entry; -1 until known
	size   int64 // the file's size; -1 when unknown
	dirty  bool  // Write left frames not yet fsynced
	buf    []byte
}

// Header returns the journal's header.
func (j *Journal) Header() Header { return j.header }

// Path returns the journal's file name.
func (j *Journal) Path() string { return j.path }

// Start is the offset of the first entry (after the header).
func (j *Journal) Start() int64 { return j.start }

// Create makes (or reopens for appending, if this writer's journal exists)
// the journal of one writer under root:
// root/<store key>/<collection>/<id>.<writer>.journal; directories 0700,
// file 0600. It takes an exclusive flock held until Close, and returns
// ErrBusy if another process holds it. A zero h.Created becomes the
// current time. Reopening keeps the stored header (its Created) and finds
// the end of the entries; a journal damaged before its end is ErrCorrupt.
func Create(root string, h Header) (*Journal, error) {
	if h.Collection == "" || h.ID == "" || h.Writer == "" {
		return nil, fmt.Errorf("spool: create: %w: collection, id and writer must not be empty", backend.ErrInvalid)
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	h.Created = time.UnixMilli(h.Created.UnixMilli()).UTC()
	dir := filepath.Join(root, storeKey(h.Store), component(h.Collection, false))
	path := filepath.Join(dir, component(h.ID, false)+"."+component(h.Writer, true)+suffix)
	// Another process may remove the file (or its empty directories)
	// between our steps, or create it first: retry a few times.
	for range 20 {
		if err := mkdirAll(dir); err != nil {
			if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
				continue // a Remove of another journal took the empty directory away meanwhile
			}
			return nil, fmt.Errorf("spool: create %s: %w", path, err)
		}
		j, err := lockExisting(path)
		if errors.Is(err, fs.ErrNotExist) {
			j, err = createNew(dir, path, h)
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		j.root = filepath.Clean(root)
		if got := j.header; got.Store != h.Store || got.Collection != h.Collection || got.ID != h.ID || got.Writer != h.Writer {
			j.Close()
			return nil, fmt.Errorf("spool: create %s: the file holds the journal of %s/%s writer %q", path, got.Collection, got.ID, got.Writer)
		}
		if err := j.findEnd(); err != nil {
			j.Close()
			return nil, err
		}
		return j, nil
	}
	return nil, fmt.Errorf("spool: create %s: the file keeps being replaced", path)
}

// Open opens an existing journal file for reading and shipping, taking the
// same lock as Create (ErrBusy if held: a live writer owns it).
func Open(path string) (*Journal, error) {
	for range 20 {
		j, err := lockExisting(path)
		if errors.Is(err, errReplaced) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return j, nil
	}
	return nil, fmt.Errorf("spool: open %s: the file keeps being replaced", path)
}

// errReplaced: the file we locked is no longer the one at its path.
var errReplaced = fmt.Errorf("journal was replaced: %w", fs.ErrNotExist)

// lockExisting opens and locks the journal at path and reads its header.
// It returns an error matching fs.ErrNotExist if there is none (or it was
// removed while we locked it: errReplaced).
func lockExisting(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: open %s: %w", path, err)
	}
	// The holder we waited for may have removed the file (Remove unlinks
	// before it unlocks): then ours is a lock on a deleted file.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: open: %w", err)
	}
	if cur, err := os.Stat(path); err != nil || !os.SameFile(fi, cur) {
		f.Close()
		return nil, errReplaced
	}
	j := &Journal{f: f, path: path, end: -1, size: fi.Size()}
	p, next, err := readFrame(f, 0, j.size)
	if err == nil {
		j.header, err = decodeHeader(p)
	}
	if err != nil {
		f.Close()
		if errors.Is(err, errBadFrame) || errors.Is(err, io.EOF) {
			err = errors.New("no valid header")
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	j.start = next
	return j, nil
}

// createNew makes the journal at path with its header complete: it writes
// a locked temporary file and links it into place. It returns an error
// matching fs.ErrExist if another process made the journal first.
func createNew(dir, path string, h Header) (*Journal, error) {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err // dir was just removed: retry
		}
		return nil, fmt.Errorf("spool: create %s: %w", path, err)
	}
	fail := func(err error) (*Journal, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("spool: create %s: %w", path, classify(err))
	}
	if err := lock(tmp); err != nil {
		return fail(err)
	}
	frame := appendHeader(beginFrame(nil), h)
	if err := sealFrame(frame); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(frame); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fail(err)
	}
	os.Remove(tmp.Name())
	f, err := rename(tmp, path)
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		tmp.Close()
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("spool: create %s: %w", path, err)
	}
	n := int64(len(frame))
	return &Journal{f: f, path: path, header: h, start: n, end: n, size: n}, nil
}

// findEnd walks the frames to the end of the valid entries.
func (j *Journal) findEnd() error {
	off := j.start
	for {
		_, next, err := j.frame(off)
		if err == io.EOF {
			j.end = off
			return nil
		}
		if err != nil {
			return err
		}
		off = next
	}
}

// frame returns the payload of the frame at off and the offset after it:
// io.EOF at the end or at a torn tail, ErrCorrupt for a damaged frame
// followed by valid ones. j.mu is held.
func (j *Journal) frame(off int64) ([]byte, int64, error) {
	if j.f == nil {
		return nil, off, fmt.Errorf("spool: %s: %w", j.path, os.ErrClosed)
	}
	if off < j.start {
		return nil, off, fmt.Errorf("spool: read %s: offset %d is before the first entry at %d", j.path, off, j.start)
	}
	if j.size < 0 {
		fi, err := j.f.Stat()
		if err != nil {
			return nil, off, fmt.Errorf("spool: read %s: %w", j.path, err)
		}
		j.size = fi.Size()
	}
	p, next, err := readFrame(j.f, off, j.size)
	switch {
	case err == nil, err == io.EOF:
		return p, next, err
	case errors.Is(err, errBadFrame):
		more, err := validFrameAfter(j.f, off, j.size)
		if err != nil {
			return nil, off, fmt.Errorf("spool: read %s: %w", j.path, err)
		}
		if more {
			return nil, off, fmt.Errorf("%w: %s: damaged frame at offset %d before valid ones", ErrCorrupt, j.path, off)
		}
		return nil, off, io.EOF
	}
	return nil, off, fmt.Errorf("spool: read %s at offset %d: %w", j.path, off, err)
}

// Read returns the entry at offset off and the offset of the next one;
// io.EOF at the end. A partial or corrupt last frame (a crash during
// Append) reads as io.EOF and is cut off by the next Append; a corrupt
// frame followed by valid ones is an error (ErrCorrupt) naming the offset.
func (j *Journal) Read(off int64) (e Entry, next int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p, next, err := j.frame(off)
	if err != nil {
		return Entry{}, off, err
	}
	if e, err = decodeEntry(p); err != nil {
		return Entry{}, off, fmt.Errorf("%w: %s: entry at offset %d: %w", ErrCorrupt, j.path, off, err)
	}
	return e, next, nil
}

// Append writes e as one frame and fsyncs it before returning; the
// returned offset is the end of the frame. A short write (ENOSPC) leaves
// no partial frame behind (it truncates back) and returns an error
// matching errors.Is(err, backend.ErrFull). Append refuses to write after
// a damaged frame (ErrCorrupt): that would bury it among valid ones.
func (j *Journal) Append(e Entry) (end int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, fmt.Errorf("spool: append to %s: %w", j.path, os.ErrClosed)
	}
	frame, err := appendEntry(beginFrame(j.buf), e)
	if err != nil {
		return 0, err
	}
	if err := sealFrame(frame); err != nil {
		return 0, fmt.Errorf("spool: append to %s: %w: %w", j.path, backend.ErrTooLarge, err)
	}
	if cap(frame) <= 1<<20 {
		j.buf = frame
	}
	if j.end < 0 {
		if err := j.findEnd(); err != nil {
			return 0, err
		}
	}
	if j.size != j.end {
		// Cut off a torn tail, or what a failed Append left.
		if err := j.truncate(j.end); err != nil {
			return 0, fmt.Errorf("spool: append to %s: %w", j.path, classify(err))
		}
	}
	_, err = j.f.WriteAt(frame, j.end)
	j.size = -1
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		err = fmt.Errorf("spool: append to %s: %w", j.path, classify(err))
		if terr := j.truncate(j.end); terr != nil {
			err = fmt.Errorf("%w (and cutting the partial frame off failed: %w; the next Append retries)", err, terr)
		}
		return 0, err
	}
	j.end += int64(len(frame))
	j.size, j.dirty = j.end, false // the fsync covered what Write left
	return j.end, nil
}

// batchWrite is how many bytes of frames AppendBatch gathers before it
// writes them; keepBuf is the largest buffer a Journal keeps for the
// next append.
const (
	batchWrite = 1 << 20
	keepBuf    = 4 << 20
)

// AppendBatch writes n entries, the i-th made by entry(i), as consecutive
// frames, with one write per MiB of frames or so and one fsync for all
// (which also makes durable what Write wrote before), and returns the
// offset after the last frame. It costs about what one Append costs for
// the whole batch (Append fsyncs every entry). It is all or nothing, as
// Append is: when an entry cannot be encoded, or a write or the fsync
// fails, no frame of the batch is left in the file (the error of a full
// disk matches errors.Is(err, backend.ErrFull)). entry may reuse the
// memory of the Entry it returned before: each entry is encoded before
// the next is asked for. With n = 0 it writes nothing but still fsyncs
// what Write left.
func (j *Journal) AppendBatch(n int, entry func(i int) Entry) (end int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil && j.end < 0 {
		if err := j.findEnd(); err != nil {
			return 0, err
		}
	}
	start := j.end
	if end, err = j.write(n, entry); err != nil {
		return 0, err
	}
	if err := j.sync(); err != nil {
		if terr := j.truncate(start); terr != nil {
			err = fmt.Errorf("%w (and cutting the batch off failed: %w; the next Append retries)", err, terr)
		}
		j.end = start
		return 0, err
	}
	return end, nil
}

// Write is AppendBatch without the fsync: the frames can be read at once
// and outlive the process, but not a crash of the machine until Sync (or
// Append or AppendBatch) makes them durable; such a crash may lose them
// or leave them torn or damaged (a reader then stops there, see Read).
// It is for writes that nobody has been told are safe yet, such as points
// moved out of memory while the store is slower than the program: they
// were no safer in memory, and a write to the page cache keeps pace with
// a training loop where an fsync per batch does not.
func (j *Journal) Write(n int, entry func(i int) Entry) (end int64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.write(n, entry)
}

// Sync makes every frame written so far durable (an fsync, only when
// Write left frames that are not).
func (j *Journal) Sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.sync()
}

// sync fsyncs the file when Write left it dirty; after a failure the
// file stays dirty (j.mu is held).
func (j *Journal) sync() error {
	if !j.dirty {
		return nil
	}
	if j.f == nil {
		return fmt.Errorf("spool: sync %s: %w", j.path, os.ErrClosed)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", j.path, classify(err))
	}
	j.dirty = false
	return nil
}

// write is Write (j.mu is held).
func (j *Journal) write(n int, entry func(i int) Entry) (end int64, err error) {
	if j.f == nil {
		return 0, fmt.Errorf("spool: append to %s: %w", j.path, os.ErrClosed)
	}
	if j.end < 0 {
		if err := j.findEnd(); err != nil {
			return 0, err
		}
	}
	if n <= 0 {
		return j.end, nil
	}
	if j.size != j.end {
		// Cut off a torn tail, or what a failed Append left.
		if err := j.truncate(j.end); err != nil {
			return 0, fmt.Errorf("spool: append to %s: %w", j.path, classify(err))
		}
	}
	// fail cuts off what the batch wrote so far.
	off := j.end
	fail := func(err error) (int64, error) {
		if off == j.end {
			return 0, err
		}
		if terr := j.truncate(j.end); terr != nil {
			err = fmt.Errorf("%w (and cutting the partial frames off failed: %w; the next Append retries)", err, terr)
		}
		return 0, err
	}
	buf := j.buf[:0]
	for i := range n {
		start := len(buf)
		buf = append(buf, make([]byte, frameHeader)...)
		next, err := appendEntry(buf, entry(i))
		if err != nil {
			return fail(err)
		}
		buf = next
		if err := sealFrame(buf[start:]); err != nil {
			return fail(fmt.Errorf("spool: append to %s: %w: %w", j.path, backend.ErrTooLarge, err))
		}
		if len(buf) < batchWrite && i < n-1 {
			continue
		}
		_, err = j.f.WriteAt(buf, off)
		j.size = -1
		off += int64(len(buf)) // a failed write may have left part of it
		if err != nil {
			return fail(fmt.Errorf("spool: append to %s: %w", j.path, classify(err)))
		}
		if cap(buf) > keepBuf {
			buf = nil
		}
		buf = buf[:0]
	}
	if cap(buf) <= keepBuf {
		j.buf = buf
	}
	j.end, j.size, j.dirty = off, off, true
	return off, nil
}

// truncate cuts the file to n bytes and syncs it. j.mu is held.
func (j *Journal) truncate(n int64) error {
	j.size = -1
	if err := j.f.Truncate(n); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		return err
	}
	j.size, j.dirty = n, false
	return nil
}

// Reset empties the journal (keeps the header) once everything in it was
// shipped.
func (j *Journal) Reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("spool: reset %s: %w", j.path, os.ErrClosed)
	}
	if err := j.truncate(j.start); err != nil {
		return fmt.Errorf("spool: reset %s: %w", j.path, err)
	}
	j.end = j.start
	return nil
}

// Remove deletes the file (and empty parent dirs up to root) and releases
// the lock. For a journal from Open, root is taken to be three levels up
// when the path has the shape Create makes.
func (j *Journal) Remove() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("spool: remove %s: %w", j.path, os.ErrClosed)
	}
	// Unlink before unlocking: a process waiting for the lock then sees
	// that the file it locked is gone (lockExisting checks) and retries.
	err := os.Remove(j.path)
	dir := filepath.Dir(j.path)
	if err == nil {
		err = syncDir(dir)
	}
	root := j.root
	if root == "" && isStoreKey(filepath.Base(filepath.Dir(dir))) {
		root = filepath.Dir(filepath.Dir(dir))
	}
	if root != "" {
		// Fails harmlessly where a directory is not empty.
		for d := dir; d != root && d != filepath.Dir(d) && os.Remove(d) == nil; d = filepath.Dir(d) {
		}
	}
	if cerr := j.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spool: remove %s: %w", j.path, err)
	}
	return nil
}

// Close releases the lock and the file. Closing twice is not an error.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.close(); err != nil {
		return fmt.Errorf("spool: close %s: %w", j.path, err)
	}
	return nil
}

func (j *Journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close() // releases the flock with the last descriptor
	j.f = nil
	return err
}

// syncDir fsyncs a directory so that entries made or removed in it last.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAll makes dir and its parents with mode 0700, and fsyncs the
// directories it made (and the one holding each) so they survive a crash.
func mkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	var made []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range made {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
