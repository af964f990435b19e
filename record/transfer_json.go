package record

import "github.com/recordlab/go-record/internal/docjson"

// MarshalValue returns a stored value (what Snapshot.Get returns: nil,
// bool, int64, float64, string, time.Time, []any, map[string]any) in the
// exact JSON form of Snapshot.MarshalJSON: floats always with a '.', and
// {"$float": "NaN"}, {"$time": "..."} for what JSON cannot hold. Object
// keys are sorted, so equal values give equal bytes.
func MarshalValue(v any) ([]byte, error) { return docjson.Marshal(v) }

// IndentValue returns a stored value in the form of Snapshot.JSON:
// indented, keys sorted, one field per line and arrays of plain values on
// one line.
func IndentValue(v any) ([]byte, error) { return docjson.Indent(v) }
