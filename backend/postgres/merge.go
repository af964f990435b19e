package postgres

import (
	"fmt"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// encodeOps encodes ops as the JSON array the merge function reads:
// [{"k": "set", "p": ["a", "b"], "v": 1}, ...]. Keys and values travel as
// JSON data inside one bound parameter, never as SQL text.
func encodeOps(ops []backend.Op) ([]byte, error) {
	buf := make([]byte, 0, 64*len(ops)+2)
	buf = append(buf, '[')
	for i, op := range ops {
		if i > 0 {
			buf = append(buf, ',')
		}
		if len(op.Path) == 0 {
			return nil, fmt.Errorf("%s with an empty path: %w", op.Kind, backend.ErrInvalid)
		}
		switch op.Kind {
		case backend.Set, backend.Unset:
		case backend.Append:
			if _, ok := op.Value.([]any); !ok {
				return nil, fmt.Errorf("append: value is %T, want []any: %w", op.Value, backend.ErrInvalid)
			}
		default:
			return nil, fmt.Errorf("unknown op kind %d: %w", op.Kind, backend.ErrInvalid)
		}
		buf = append(buf, `{"k":"`...)
		buf = append(buf, op.Kind.String()...)
		buf = append(buf, `","p":[`...)
		for j, k := range op.Path {
			if j > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = docjson.Append(buf, k); err != nil {
				return nil, err
			}
		}
		buf = append(buf, ']')
		if op.Kind != backend.Unset {
			buf = append(buf, `,"v":`...)
			var err error
			if buf, err = docjson.Append(buf, op.Value); err != nil {
				return nil, fmt.Errorf("%s: %w: %w", op.Kind, backend.ErrInvalid, err)
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}
