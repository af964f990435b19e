package record

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/recordlab/go-record/internal/redact"
)

// gate admits backend calls until the store closes, and lets Close wait
// for the calls in flight, so that a backend gets no call after Close.
type gate struct {
	mu     sync.Mutex
	closed bool
	n      int           // calls in flight
	idle   chan struct{} // closed when n drops to 0 after closed is set
}

// enter admits one call, or refuses it with ErrClosed once the store is
// closing. The ctx check comes first, so a cancelled call never reaches
// the backend.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g := &s.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.n++
	return nil
}

// leave ends a call that enter admitted.
func (s *Store) leave() {
	g := &s.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// shut closes the gate and returns a channel closed once no call is in
// flight; ok is false when the gate was already closed.
func (s *Store) shut() (idle <-chan struct{}, ok bool) {
	g := &s.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, false
	}
	g.closed = true
	c := make(chan struct{})
	if g.n == 0 {
		close(c)
	} else {
		g.idle = c
	}
	return c, true
}

// isClosed reports whether Close has begun.
func (s *Store) isClosed() bool {
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	return s.gate.closed
}

// do runs one backend call through the gate and returns its error
// wrapped by fail.
func (s *Store) do(ctx context.Context, op, coll, id string, call func() error) error {
	if err := s.enter(ctx); err != nil {
		return s.fail(ctx, op, coll, id, err)
	}
	defer s.leave()
	return s.fail(ctx, op, coll, id, call())
}

// fail is the one place where an error on its way to a caller gets its
// form: "record: <op> <collection>/<id>: <cause>", with every secret of
// the store's DSN and every password-shaped text removed from the cause
// (the result does not unwrap to the raw driver error; errors.Is and
// errors.As still see it). The context rule: once ctx is done, the error
// is ctx's own (context.Canceled or context.DeadlineExceeded, or the
// cause given to the context), whatever the driver made of it.
func (s *Store) fail(ctx context.Context, op, coll, id string, err error) error {
	if err == nil {
		return nil
	}
	if _, own := err.(*InvalidError); own {
		return err // record's own validation error: it already says where
	}
	e := &Error{Op: op, Collection: coll, ID: id}
	switch {
	case ctx.Err() != nil:
		e.err = context.Cause(ctx)
	case errors.Is(err, ErrClosed):
		e.err = errStoreClosed
	default:
		e.err = redact.Error(err, s.secrets...)
	}
	return e
}

var errStoreClosed = fmt.Errorf("store is closed: %w", ErrClosed)

// Error is the error that Store, Record and Snapshot methods return when a
// call to the backend fails: the operation, the collection and id, and
// the cause, scrubbed of secrets. Match its class with errors.Is
// (ErrNotFound, ErrExists, ErrInvalid, ErrTooLarge, ErrClosed,
// context.DeadlineExceeded, ...); errors.As still reaches the driver's own
// error type.
type Error struct {
	Op         string // what was being done: "get", "insert", "merge", "list", ...
	Collection string // the collection, when there is one
	ID         string // the record's id, when there is one
	err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("record: ")
	b.WriteString(e.Op)
	if e.Collection != "" {
		b.WriteByte(' ')
		b.WriteString(e.Collection)
		if e.ID != "" {
			b.WriteByte('/')
			b.WriteString(e.ID)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.err.Error())
	return b.String()
}

// Unwrap returns the scrubbed cause.
func (e *Error) Unwrap() error { return e.err }
