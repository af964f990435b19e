package backend

import "errors"

// Sentinel errors. Adapters wrap them beside the native error; package
// record re-exports them as the same values.
var (
	// ErrNotFound: the record (or collection) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a record with that collection and id already exists.
	ErrExists = errors.New("already exists")
	// ErrInvalid: a value, key, path, name or op is not acceptable, or an op
	// conflicts with the stored document.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge: the document would exceed what the backend can store.
	ErrTooLarge = errors.New("too large")
	// ErrSealed: the record is finished and refuses writes.
	ErrSealed = errors.New("record is sealed")
	// ErrClosed: the store or backend is closed.
	ErrClosed = errors.New("closed")
	// ErrUnavailable: the store cannot be reached or used right now: the
	// connection was refused or lost, the server is down or frozen, the
	// file cannot be opened. Nothing is known to have been applied; the
	// operation may succeed later.
	ErrUnavailable = errors.New("store unavailable")
	// ErrFull: the store has no room left (disk full, quota exceeded);
	// the write was not applied, and it may succeed once space returns.
	ErrFull = errors.New("store full")
)
