package record

import (
	"errors"

	"github.com/recordlab/go-record/backend"
)

// Sentinel errors, the same values as those of package backend, so that
// errors.Is works whichever package a caller imports.
var (
	ErrNotFound = backend.ErrNotFound // the record or path does not exist
	ErrExists   = backend.ErrExists   // the collection and id are taken
	ErrInvalid  = backend.ErrInvalid  // bad input; see InvalidError
	ErrTooLarge = backend.ErrTooLarge // the document would exceed the backend's limit
	ErrSealed   = backend.ErrSealed   // the record is closed and refuses writes
	ErrClosed   = backend.ErrClosed   // the store is closed
	// ErrUnavailable: the store cannot be reached right now (connection
	// refused or lost, server down); the call may succeed later.
	ErrUnavailable = backend.ErrUnavailable
	// ErrFull: the store has no space left (disk full, quota); the write
	// was not applied.
	ErrFull = backend.ErrFull
	// ErrUnsupported: the backend lacks an optional capability.
	ErrUnsupported = errors.ErrUnsupported
)

// InvalidError reports input that cannot be stored: a value, a key, a path,
// a collection name, a record id or a metric name. It names where the
// problem is and matches ErrInvalid with errors.Is.
type InvalidError struct {
	// What is "value", "key", "path", "collection", "id", "metric" or "op".
	What string
	// Path is the dotted path of the offending value or key, when there is
	// one; for a name it is the name.
	Path string
	// Reason says what is wrong, in a few words.
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Path == "" {
		return "record: invalid " + e.What + ": " + e.Reason
	}
	return "record: invalid " + e.What + " at " + quotePath(e.Path) + ": " + e.Reason
}

// Unwrap returns ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func quotePath(p string) string {
	if p == "" {
		return "(top level)"
	}
	return "\"" + p + "\""
}

func invalid(what, path, reason string) error {
	return &InvalidError{What: what, Path: path, Reason: reason}
}
