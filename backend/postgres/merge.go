package postgres

import (
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// encodeOps encodes ops as the JSON array the merge function reads:
// [{"k": "set", "p": ["a", "b"], "v": 1}, ...]. Keys and values travel as
// JSON data inside one bound parameter, never as SQL text. Package record
// has validated the ops.
func encodeOps(ops []backend.Op) ([]byte, error) {
	buf := make([]byte, 0, 64*len(ops)+2)
	buf = append(buf, '[')
	for i, op := range ops {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"k":"`...)
		buf = append(buf, op.Kind.String()...)
		buf = append(buf, `","p":[`...)
		var err error
		for j, k := range op.Path {
			if j > 0 {
				buf = append(buf, ',')
			}
			if buf, err = docjson.Append(buf, k); err != nil {
				return nil, err
			}
		}
		buf = append(buf, ']')
		if op.Kind != backend.Unset {
			buf = append(buf, `,"v":`...)
			if buf, err = docjson.Append(buf, op.Value); err != nil {
				return nil, err
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}
