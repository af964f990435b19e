// Package docjson encodes record documents as JSON text that SQL databases
// can store and query, and decodes them back exactly.
//
// The stored form stays natural: numbers are JSON numbers, objects are
// objects. An int64 is written as digits; a float64 is always written with a
// decimal point and never with an exponent (10.0, 0.000001, 1e21 as
// 1000000000000000000000.0), so that databases which normalise numbers
// (PostgreSQL's numeric) keep int and float apart and every float64 parses
// back to the same bits. Only values JSON cannot hold use a one-key tagged
// object; keys starting with '$' are not allowed in records, so tags never
// collide with user data:
//
//	NaN, +Inf, -Inf, -0      {"$float": "NaN" | "+Inf" | "-Inf" | "-0"}
//	time.Time                {"$time": "2026-11-25T10:00:00.000Z"}
//	string holding NUL       {"$string": "<standard base64 of its bytes>"}
package docjson

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Tag keys of the tagged forms.
const (
	TagFloat  = "$float"
	TagTime   = "$time"
	TagString = "$string"
)

// TimeLayout is the layout of the $time tag: UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Marshal encodes a value of the record value model (nil, bool, int64,
// float64, string, time.Time, []any, map[string]any). Object keys are
// written sorted.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the encoding of v to buf.
func Append(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case float64:
		return AppendFloat(buf, x), nil
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			buf = append(buf, `{"`+TagString+`":"`...)
			buf = base64.StdEncoding.AppendEncode(buf, []byte(x))
			return append(buf, `"}`...), nil
		}
		return appendString(buf, x), nil
	case time.Time:
		buf = append(buf, `{"`+TagTime+`":"`...)
		buf = x.UTC().AppendFormat(buf, TimeLayout)
		return append(buf, `"}`...), nil
	case []any:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = Append(buf, e); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			var err error
			if buf, err = Append(buf, x[k]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	}
	return nil, fmt.Errorf("docjson: unsupported type %T", v)
}

// AppendFloat appends the encoding of one float64: a JSON number with a
// decimal point, or the $float tag for NaN, infinities and negative zero.
func AppendFloat(buf []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `{"`+TagFloat+`":"NaN"}`...)
	case math.IsInf(f, 1):
		return append(buf, `{"`+TagFloat+`":"+Inf"}`...)
	case math.IsInf(f, -1):
		return append(buf, `{"`+TagFloat+`":"-Inf"}`...)
	case f == 0 && math.Signbit(f):
		return append(buf, `{"`+TagFloat+`":"-0"}`...)
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, 'f', -1, 64)
	if bytes.IndexByte(buf[start:], '.') < 0 {
		buf = append(buf, ".0"...)
	}
	return buf
}

const hexDigits = "0123456789abcdef"

func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0 // s[start:i] is plain text still to copy
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// Unmarshal decodes a document encoded by Marshal (or any JSON object, as a
// user may have written with SQL). Numbers with a '.' or an exponent become
// float64, other numbers int64 (float64 when they overflow int64).
func Unmarshal(data []byte) (map[string]any, error) {
	v, err := UnmarshalValue(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("docjson: document is %T, not an object", v)
	}
	return m, nil
}

// UnmarshalValue decodes any encoded value.
func UnmarshalValue(data []byte) (any, error) {
	d := decoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(data) {
		return nil, d.errorf("data after the value")
	}
	return v, nil
}

// ParseNumber converts the text of a JSON number: float64 if it has a '.'
// or an exponent, else int64 (float64 if it overflows int64).
func ParseNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("docjson: number %q: %w", s, err)
	}
	return f, nil
}

func untag(m map[string]any) (v any, ok bool, err error) {
	for k, raw := range m {
		s, isStr := raw.(string)
		if !isStr {
			return nil, false, nil
		}
		switch k {
		case TagFloat:
			switch s {
			case "NaN":
				return math.NaN(), true, nil
			case "+Inf":
				return math.Inf(1), true, nil
			case "-Inf":
				return math.Inf(-1), true, nil
			case "-0":
				return math.Copysign(0, -1), true, nil
			}
			return nil, true, fmt.Errorf("docjson: bad %s tag %q", TagFloat, s)
		case TagTime:
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, true, fmt.Errorf("docjson: bad %s tag: %w", TagTime, err)
			}
			return t.UTC(), true, nil
		case TagString:
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, true, fmt.Errorf("docjson: bad %s tag: %w", TagString, err)
			}
			return string(b), true, nil
		}
	}
	return nil, false, nil
}
