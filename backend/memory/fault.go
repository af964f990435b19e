package memory

import (
	"context"
	"errors"
	"sync"
)

// Op names a method of Backend, for Fault.
type Op int

// The methods a Fault can target. OpAny matches every one.
const (
	OpAny Op = iota
	OpInsert
	OpMerge
	OpGet
	OpDrop
	OpDelete
	OpCollections
	OpList
	OpPing
	OpAppendSeries
	OpReadSeries
	OpApplyBatch
	OpSeriesNames
	OpReadSeriesRange
	OpDownsampleSeries
	OpCount
)

var opNames = [...]string{"any", "insert", "merge", "get", "drop", "delete", "collections", "list", "ping", "append-series", "read-series", "apply-batch", "series-names", "read-series-range", "downsample-series", "count"}

// String returns the method's name: "insert", "append-series", ...
func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return "invalid"
	}
	return opNames[o]
}

// FaultKind says how an injected fault disturbs a call.
type FaultKind int

const (
	// FailBefore returns Fault.Err without doing anything: the call never
	// reached the server.
	FailBefore FaultKind = iota + 1
	// FailAfter does the call and then returns Fault.Err: the change was
	// applied but its acknowledgement was lost. A read does the read and
	// returns the error instead of its result; List and ReadSeries yield
	// everything and then the error.
	FailAfter
	// Hang blocks the call until its context is done, then returns the
	// context's error having changed nothing: a server that stopped
	// answering. Clear releases the calls that hang, which then proceed
	// normally, as when a frozen server resumes.
	Hang
)

// String returns the kind's name: "fail-before", "fail-after" or "hang".
func (k FaultKind) String() string {
	switch k {
	case FailBefore:
		return "fail-before"
	case FailAfter:
		return "fail-after"
	case Hang:
		return "hang"
	}
	return "invalid"
}

// ErrInjected is the error of a FailBefore or FailAfter fault whose Err is nil.
var ErrInjected = errors.New("memory: injected fault")

// Fault is a failure to inject into the calls of a Backend, see Inject.
type Fault struct {
	Op   Op        // the method it targets; OpAny targets every method
	Kind FaultKind // how the call fails
	Err  error     // what FailBefore and FailAfter return; nil means ErrInjected
	// Times is the number of calls the fault disturbs before it expires;
	// 0 means every call until Clear.
	Times int
	// Skip is the number of matching calls that pass undisturbed before
	// the fault starts (and while they pass, later faults are not
	// considered for them).
	Skip int
}

// faults holds the injected faults of one Backend.
type faults struct {
	mu      sync.Mutex
	list    []*Fault
	release chan struct{} // closed by Clear, to release hanging calls
}

// Inject adds a fault: each later call of a matching method is disturbed
// by the first fault, in the order of injection, that matches it and has
// not expired. A call whose context is already done returns the context's
// error before any fault is considered. Inject panics on an unknown Kind.
func (b *Backend) Inject(f Fault) {
	if f.Kind < FailBefore || f.Kind > Hang {
		panic("memory: Inject with an invalid FaultKind")
	}
	if f.Err == nil {
		f.Err = ErrInjected
	}
	b.faults.mu.Lock()
	defer b.faults.mu.Unlock()
	b.faults.list = append(b.faults.list, &f)
	if b.faults.release == nil {
		b.faults.release = make(chan struct{})
	}
}

// Clear removes every injected fault and releases the calls that hang.
func (b *Backend) Clear() {
	b.faults.mu.Lock()
	defer b.faults.mu.Unlock()
	b.faults.list = nil
	if b.faults.release != nil {
		close(b.faults.release)
		b.faults.release = nil
	}
}

// fire applies the first matching fault to a call of op: it returns the
// error to return at once (err), or the one to return after the call is
// applied (after), or hangs.
func (fs *faults) fire(ctx context.Context, op Op) (after error, err error) {
	fs.mu.Lock()
	var hit *Fault
	for i, f := range fs.list {
		if f.Op != OpAny && f.Op != op {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			break
		}
		hit = f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				fs.list = append(fs.list[:i:i], fs.list[i+1:]...)
			}
		}
		break
	}
	release := fs.release
	fs.mu.Unlock()
	if hit == nil {
		return nil, nil
	}
	switch hit.Kind {
	case FailBefore:
		return nil, hit.Err
	case FailAfter:
		return hit.Err, nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-release:
		return nil, nil
	}
}
