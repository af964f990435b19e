package docjson

import "slices"

// Indent returns v in the exact JSON form, indented like the Mongo shell
// prints a record: objects one key per line, keys sorted, and arrays of
// scalars on one line.
func Indent(v any) ([]byte, error) {
	return appendPretty(nil, v, "")
}

func appendPretty(buf []byte, v any, prefix string) ([]byte, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return append(buf, "{}"...), nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, "{\n"...)
		for i, k := range keys {
			buf = append(buf, prefix+"  "...)
			var err error
			if buf, err = Append(buf, k); err != nil {
				return nil, err
			}
			buf = append(buf, ": "...)
			if buf, err = appendPretty(buf, x[k], prefix+"  "); err != nil {
				return nil, err
			}
			if i < len(keys)-1 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
		}
		return append(buf, prefix+"}"...), nil
	case []any:
		flat := true
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				flat = false
			}
		}
		if flat {
			buf = append(buf, '[')
			for i, e := range x {
				if i > 0 {
					buf = append(buf, ", "...)
				}
				var err error
				if buf, err = Append(buf, e); err != nil {
					return nil, err
				}
			}
			return append(buf, ']'), nil
		}
		buf = append(buf, "[\n"...)
		for i, e := range x {
			buf = append(buf, prefix+"  "...)
			var err error
			if buf, err = appendPretty(buf, e, prefix+"  "); err != nil {
				return nil, err
			}
			if i < len(x)-1 {
				buf = append(buf, ',')
			}
			buf = append(buf, '\n')
		}
		return append(buf, prefix+"]"...), nil
	}
	return Append(buf, v)
}
