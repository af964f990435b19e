// Package docops applies backend Ops to documents held as Go values. The
// memory adapter uses it directly; SQL adapters use it inside a transaction
// that holds the row's write lock, so a Merge is still atomic.
package docops

import (
	"fmt"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
)

// Apply applies ops to doc in order, all or none: it checks every op
// against doc before changing anything, so on error doc is unchanged.
// Conflicts with the document (a path through a scalar or an array,
// Append to a non-array) return an error wrapping backend.ErrInvalid that
// names the path. The ops themselves are trusted: package record has
// validated their paths and values.
func Apply(doc map[string]any, ops []backend.Op) error {
	for _, op := range ops {
		if err := check(doc, op); err != nil {
			return err
		}
	}
	for _, op := range ops {
		apply(doc, op)
	}
	return nil
}

func check(doc map[string]any, op backend.Op) error {
	cur := doc
	for i, k := range op.Path[:len(op.Path)-1] {
		next, ok := cur[k]
		if !ok {
			return nil // missing parents: Set creates them, Append creates them, Unset is a no-op
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("docops: %s %s: %s is %s, not an object: %w",
				op.Kind, strings.Join(op.Path, "."), strings.Join(op.Path[:i+1], "."), kind(next), backend.ErrInvalid)
		}
		cur = m
	}
	switch op.Kind {
	case backend.Set, backend.Unset:
		return nil
	case backend.Append:
		last, ok := cur[op.Path[len(op.Path)-1]]
		if !ok {
			return nil
		}
		if _, ok := last.([]any); !ok {
			return fmt.Errorf("docops: append %s: it is %s, not an array: %w", strings.Join(op.Path, "."), kind(last), backend.ErrInvalid)
		}
		return nil
	}
	return fmt.Errorf("docops: unknown op kind %d: %w", op.Kind, backend.ErrInvalid)
}

func apply(doc map[string]any, op backend.Op) {
	cur := doc
	for _, k := range op.Path[:len(op.Path)-1] {
		next, ok := cur[k].(map[string]any)
		if !ok {
			if op.Kind == backend.Unset {
				return
			}
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	last := op.Path[len(op.Path)-1]
	switch op.Kind {
	case backend.Set:
		cur[last] = Copy(op.Value)
	case backend.Unset:
		delete(cur, last)
	case backend.Append:
		arr, _ := cur[last].([]any)
		for _, e := range op.Value.([]any) {
			arr = append(arr, Copy(e))
		}
		if arr == nil {
			arr = []any{}
		}
		cur[last] = arr
	}
}

// kind names the JSON kind of a value for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case time.Time:
		return "a time"
	}
	return "a number"
}

// Copy returns a deep copy of a value of the record value model.
func Copy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return CopyDoc(x)
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = Copy(e)
		}
		return c
	}
	return v
}

// CopyDoc returns a deep copy of a document.
func CopyDoc(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	c := make(map[string]any, len(doc))
	for k, e := range doc {
		c[k] = Copy(e)
	}
	return c
}
