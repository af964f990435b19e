package docjson

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SQLite's binary JSONB (https://sqlite.org/jsonb.html), as the SQLite
// adapter stores documents: every element is a header of 1 to 9 bytes
// followed by its payload. The low four bits of the header's first byte
// are the element's type; the high four bits are the payload's size (0 to
// 11) or say that the size follows in 1, 2, 4 or 8 big-endian bytes (12 to
// 15). The payload of numbers is their JSON text, of strings their text
// (with or without escapes, by type), of arrays their elements, of objects
// their labels and values in turn. Decoding the blob in Go needs neither
// SQLite's json() to render text nor a text parser to find where each
// value ends, and a lookup skips whole subtrees by their size.

// JSONB element types.
const (
	jsonbNull    = 0
	jsonbTrue    = 1
	jsonbFalse   = 2
	jsonbInt     = 3
	jsonbInt5    = 4
	jsonbFloat   = 5
	jsonbFloat5  = 6
	jsonbText    = 7
	jsonbTextJ   = 8
	jsonbText5   = 9
	jsonbTextRaw = 10
	jsonbArray   = 11
	jsonbObject  = 12
)

// IsJSONBObject reports whether data can only be a JSONB object: the
// first byte has the object type. JSON text of an object starts with '{'
// (or white space), whose low four bits are never the object type, so a
// column that holds documents as text or as JSONB is told apart by it.
func IsJSONBObject(data []byte) bool {
	return len(data) > 0 && data[0]&0x0f == jsonbObject
}

// UnmarshalStored decodes a stored document in either form: JSONB (see
// IsJSONBObject) or JSON text.
func UnmarshalStored(data []byte) (map[string]any, error) {
	if IsJSONBObject(data) {
		return UnmarshalJSONB(data)
	}
	return Unmarshal(data)
}

// UnmarshalJSONB decodes a document stored as JSONB exactly as Unmarshal
// decodes its JSON text: the same numbers (int64 or float64 by their
// text), strings and tagged values.
func UnmarshalJSONB(data []byte) (map[string]any, error) {
	v, err := UnmarshalJSONBValue(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("docjson: JSONB document is %T, not an object", v)
	}
	return m, nil
}

// UnmarshalJSONBValue decodes one JSONB element, which must fill data.
func UnmarshalJSONBValue(data []byte) (any, error) {
	typ, payload, n, err := jsonbElement(data, 0)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("docjson: JSONB: %d bytes after the value", len(data)-n)
	}
	return jsonbValue(typ, payload, 0)
}

// LookupJSONB returns the JSONB element at path in the object data (keys
// of nested objects only, as SQLite's doc -> '$."a"."b"' reaches them),
// and false where a key is missing or a step is not an object. A key
// present twice in one object (which SQLite can store, never record)
// yields its first value, as SQLite does.
func LookupJSONB(data []byte, path []string) ([]byte, bool, error) {
	elem := data
	for _, key := range path {
		typ, payload, n, err := jsonbElement(elem, 0)
		if err != nil {
			return nil, false, err
		}
		elem = elem[:n]
		if typ != jsonbObject {
			return nil, false, nil
		}
		found := false
		for pos := 0; pos < len(payload); {
			ltyp, label, ln, err := jsonbElement(payload, pos)
			if err != nil {
				return nil, false, err
			}
			_, _, vn, err := jsonbElement(payload, ln)
			if err != nil {
				return nil, false, err
			}
			if equal, err := jsonbLabelIs(ltyp, label, key); err != nil {
				return nil, false, err
			} else if equal {
				elem, found = payload[ln:vn], true
				break
			}
			pos = vn
		}
		if !found {
			return nil, false, nil
		}
	}
	return elem, true, nil
}

// jsonbLabelIs reports whether an object label of type typ and payload
// label is key.
func jsonbLabelIs(typ byte, label []byte, key string) (bool, error) {
	switch typ {
	case jsonbText, jsonbTextRaw:
		return string(label) == key, nil
	case jsonbTextJ, jsonbText5:
		if len(label) < len(key) {
			return false, nil // escapes only lengthen the text
		}
		s, err := jsonbString(typ, label)
		return s == key, err
	}
	return false, fmt.Errorf("docjson: JSONB: object label of type %d", typ)
}

// jsonbElement parses the header of the element at data[pos:] and returns
// its type, its payload and the offset just after it.
func jsonbElement(data []byte, pos int) (typ byte, payload []byte, end int, err error) {
	if pos >= len(data) {
		return 0, nil, 0, fmt.Errorf("docjson: JSONB: element missing at offset %d", pos)
	}
	h := data[pos]
	typ, code := h&0x0f, h>>4
	start, size := pos+1, uint64(code)
	if code >= 12 {
		width := 1 << (code - 12) // 1, 2, 4 or 8 bytes
		if len(data)-start < width {
			return 0, nil, 0, fmt.Errorf("docjson: JSONB: header cut short at offset %d", pos)
		}
		var b [8]byte
		copy(b[8-width:], data[start:start+width])
		size = binary.BigEndian.Uint64(b[:])
		start += width
	}
	if size > uint64(len(data)-start) {
		return 0, nil, 0, fmt.Errorf("docjson: JSONB: payload of %d bytes at offset %d overruns the data", size, pos)
	}
	if typ > jsonbObject {
		return 0, nil, 0, fmt.Errorf("docjson: JSONB: reserved element type %d at offset %d", typ, pos)
	}
	end = start + int(size)
	return typ, data[start:end], end, nil
}

// jsonbValue decodes the element of type typ with the given payload.
func jsonbValue(typ byte, payload []byte, depth int) (any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("docjson: JSONB: nested too deeply")
	}
	switch typ {
	case jsonbNull, jsonbTrue, jsonbFalse:
		if len(payload) != 0 {
			return nil, fmt.Errorf("docjson: JSONB: literal with a payload")
		}
		switch typ {
		case jsonbTrue:
			return true, nil
		case jsonbFalse:
			return false, nil
		}
		return nil, nil
	case jsonbInt, jsonbFloat:
		return ParseNumber(string(payload))
	case jsonbInt5:
		return jsonbInt5Value(string(payload))
	case jsonbFloat5:
		return jsonbFloat5Value(string(payload))
	case jsonbText, jsonbTextJ, jsonbText5, jsonbTextRaw:
		return jsonbString(typ, payload)
	case jsonbArray:
		a := []any{}
		for pos := 0; pos < len(payload); {
			et, ep, n, err := jsonbElement(payload, pos)
			if err != nil {
				return nil, err
			}
			v, err := jsonbValue(et, ep, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			pos = n
		}
		return a, nil
	}
	// jsonbObject (jsonbElement refused the reserved types).
	m := map[string]any{}
	for pos := 0; pos < len(payload); {
		lt, lp, ln, err := jsonbElement(payload, pos)
		if err != nil {
			return nil, err
		}
		if lt < jsonbText || lt > jsonbTextRaw {
			return nil, fmt.Errorf("docjson: JSONB: object label of type %d", lt)
		}
		k, err := jsonbString(lt, lp)
		if err != nil {
			return nil, err
		}
		vt, vp, vn, err := jsonbElement(payload, ln)
		if err != nil {
			return nil, err
		}
		v, err := jsonbValue(vt, vp, depth+1)
		if err != nil {
			return nil, err
		}
		m[k] = v // the last of a repeated key, as Unmarshal keeps it
		pos = vn
	}
	if len(m) == 1 {
		if t, ok, err := untag(m); ok || err != nil {
			return t, err
		}
	}
	return m, nil
}

// jsonbString decodes the payload of a text element: TEXT and TEXTRAW
// are the string itself, TEXTJ holds JSON escapes, TEXT5 JSON5 escapes
// too. Invalid UTF-8 becomes U+FFFD, as Unmarshal makes it.
func jsonbString(typ byte, payload []byte) (string, error) {
	if typ == jsonbText || typ == jsonbTextRaw {
		if !utf8.Valid(payload) {
			return string([]rune(string(payload))), nil
		}
		return string(payload), nil
	}
	buf := make([]byte, 0, len(payload))
	for i := 0; i < len(payload); {
		c := payload[i]
		if c != '\\' {
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(payload) {
			return "", fmt.Errorf("docjson: JSONB: string ends in a backslash")
		}
		// appendEscape decodes the escapes of JSON; past a JSON5 one, i
		// is just after the escape's letter e.
		e := payload[i+1]
		var ok bool
		if buf, i, ok = appendEscape(buf, payload, i+1); ok {
			continue
		}
		if e == 'u' {
			return "", fmt.Errorf("docjson: JSONB: bad \\u escape")
		}
		n, ok := json5Escape(typ, payload, i, e, &buf)
		if !ok {
			return "", fmt.Errorf("docjson: JSONB: bad escape \\%c", e)
		}
		i += n
	}
	if !utf8.Valid(buf) {
		return string([]rune(string(buf))), nil
	}
	return string(buf), nil
}

// json5Escape decodes the JSON5 escape \e of a TEXT5 payload whose rest
// starts at i, appending it to buf; it returns the bytes consumed after e.
func json5Escape(typ byte, payload []byte, i int, e byte, buf *[]byte) (int, bool) {
	if typ != jsonbText5 {
		return 0, false
	}
	switch e {
	case '\'':
		*buf = append(*buf, '\'')
	case 'v':
		*buf = append(*buf, '\v')
	case '0':
		*buf = append(*buf, 0)
	case 'x':
		r, ok := hex(payload, i, 2)
		if !ok {
			return 0, false
		}
		*buf = utf8.AppendRune(*buf, r)
		return 2, true
	case '\n':
		// A line continuation: nothing.
	case '\r':
		if i < len(payload) && payload[i] == '\n' {
			return 1, true
		}
	case 0xe2: // U+2028 or U+2029 after the backslash: a line continuation
		if i+1 < len(payload) && payload[i] == 0x80 && (payload[i+1] == 0xa8 || payload[i+1] == 0xa9) {
			return 2, true
		}
		return 0, false
	default:
		return 0, false
	}
	return 0, true
}

// hex reads n hex digits at data[i:].
func hex(data []byte, i, n int) (rune, bool) {
	if i < 0 || len(data)-i < n {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+n] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// jsonbInt5Value decodes a JSON5 integer: a sign, then decimal digits or
// 0x and hex digits; as SQLite reads it, a hex number too large for int64
// becomes a float64.
func jsonbInt5Value(s string) (any, error) {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimLeft(s, "+-")
	if h, ok := strings.CutPrefix(strings.ToLower(digits), "0x"); ok {
		u, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("docjson: JSONB: JSON5 integer %q: %w", s, err)
		}
		switch {
		case !neg && u <= math.MaxInt64:
			return int64(u), nil
		case neg && u <= 1<<63:
			return -int64(u-1) - 1, nil
		case neg:
			return -float64(u), nil
		}
		return float64(u), nil
	}
	if neg {
		digits = "-" + digits
	}
	return ParseNumber(digits)
}

// jsonbFloat5Value decodes a JSON5 float: a leading '+', a bare leading
// or trailing '.', Infinity or NaN.
func jsonbFloat5Value(s string) (any, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("docjson: JSONB: JSON5 number %q: %w", s, err)
	}
	return f, nil
}
