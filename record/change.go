package record

import (
	"fmt"

	"github.com/recordlab/go-record/backend"
)

// A Change is one write of an atomic Record.Apply: made by SetOp,
// AppendOp or UnsetOp.
type Change struct {
	kind   backend.OpKind
	path   string
	value  any
	values []any
}

// SetOp is a Change that stores value at the dotted path, like Record.Set.
func SetOp(path string, value any) Change {
	return Change{kind: backend.Set, path: path, value: value}
}

// AppendOp is a Change that appends values to the array at the dotted
// path, like Record.Append.
func AppendOp(path string, values ...any) Change {
	return Change{kind: backend.Append, path: path, values: values}
}

// UnsetOp is a Change that removes the dotted path, like Record.Unset.
func UnsetOp(path string) Change { return Change{kind: backend.Unset, path: path} }

func (c Change) op(r *Record) (backend.Op, error) {
	keys, err := r.userPath(c.path)
	if err != nil {
		return backend.Op{}, err
	}
	op := backend.Op{Kind: c.kind, Path: keys}
	switch c.kind {
	case backend.Set:
		op.Value, err = normalizeAt(c.value, c.path)
	case backend.Append:
		op.Value, err = normalizeAt(c.values, c.path)
	case backend.Unset:
	default:
		err = invalid("op", c.path, fmt.Sprintf("unknown change kind %d (use SetOp, AppendOp or UnsetOp)", c.kind))
	}
	return op, err
}
