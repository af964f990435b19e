package sqlite

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// pushdown translates the conditions it can into SQL (" AND ..." text and
// its arguments) that holds for every document backend.Match accepts.
// exact reports whether it holds for no other, so that List may apply
// Query.Limit in SQL. Conditions it cannot express (!=, unusual keys) are
// left to Match. keyed returns the sort key of a path when an index on it
// exists; a condition on such a path also gets a range on the key, which
// the index serves.
func pushdown(where []backend.Cond, keyed func([]string) (string, bool)) (frag string, args []any, exact bool) {
	var sb strings.Builder
	exact = true
	for _, c := range where {
		f, a, ex, ok := condSQL(c)
		if !ok {
			exact = false
			continue
		}
		exact = exact && ex
		sb.WriteString(" AND ")
		sb.WriteString(f)
		args = append(args, a...)
		if key, ok := keyed(c.Path); ok {
			if f, a, ok := keyRange(key, c); ok {
				sb.WriteString(" AND ")
				sb.WriteString(f)
				args = append(args, a...)
			}
		}
	}
	return sb.String(), args, exact
}

// jsonPath returns the SQLite JSON path of p with every key quoted, or
// false when a key holds a character the path syntax would treat specially.
func jsonPath(p []string) (string, bool) {
	if len(p) == 0 {
		return "", false
	}
	var sb strings.Builder
	sb.WriteByte('$')
	for _, k := range p {
		if k == "" || !utf8.ValidString(k) || strings.ContainsAny(k, "\"\\\u2028\u2029") {
			return "", false
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x20 || k[i] == 0x7f {
				return "", false
			}
		}
		sb.WriteString(`."`)
		sb.WriteString(k)
		sb.WriteByte('"')
	}
	return sb.String(), true
}

// nonStrict widens < and > to <= and >=.
func nonStrict(c backend.Cmp) string {
	switch c {
	case backend.Lt, backend.Le:
		return "<="
	case backend.Gt, backend.Ge:
		return ">="
	}
	return "="
}

// taggedFloat is the REAL value of a {"$float": ...} tag at the path of
// its one argument; NULL for NaN and anything else.
const taggedFloat = `(CASE json_extract(doc, ?) WHEN '-Inf' THEN -9e999 WHEN '+Inf' THEN 9e999 WHEN '-0' THEN 0.0 END)`

// never is the predicate of a condition that Match rejects whatever the
// document: an order on a bool or null, or any comparison with NaN.
const never = "0"

// condSQL returns the SQL of one condition, whether it selects exactly
// what Match accepts, and false when it cannot be expressed. It relies on
// SQLite parsing each JSON float to the float64 Go wrote (SQLite 3.54
// converts text to double correctly rounded, see TestFloatText): numbers
// then compare as Match compares them, an int64 with an int64 exactly and
// otherwise as float64.
func condSQL(c backend.Cond) (frag string, args []any, exact, ok bool) {
	switch c.Cmp {
	case backend.Eq, backend.Lt, backend.Le, backend.Gt, backend.Ge:
	default:
		return "", nil, false, false
	}
	path, ok := jsonPath(c.Path)
	if !ok {
		return "", nil, false, false
	}
	op := string(c.Cmp)
	switch v := c.Value.(type) {
	case int64:
		fv := float64(v)
		return `(CASE json_type(doc, ?) WHEN 'integer' THEN json_extract(doc, ?) ` + op + ` ?` +
				` WHEN 'real' THEN json_extract(doc, ?) ` + op + ` ?` +
				` WHEN 'object' THEN ` + taggedFloat + ` ` + op + ` ? END)`,
			[]any{path, path, v, path, fv, path + `."` + docjson.TagFloat + `"`, fv}, true, true
	case float64:
		if math.IsNaN(v) {
			return never, nil, true, true
		}
		return `(CASE json_type(doc, ?) WHEN 'integer' THEN CAST(json_extract(doc, ?) AS REAL) ` + op + ` ?` +
				` WHEN 'real' THEN json_extract(doc, ?) ` + op + ` ?` +
				` WHEN 'object' THEN ` + taggedFloat + ` ` + op + ` ? END)`,
			[]any{path, path, v, path, v, path + `."` + docjson.TagFloat + `"`, v}, true, true
	case string:
		// Strings are JSON strings, and SQLite compares TEXT byte-wise,
		// like Go. Those holding NUL are {"$string": base64} objects:
		// they never equal v, but an order may hold, so they are kept for
		// Match to judge.
		if strings.IndexByte(v, 0) >= 0 {
			return "", nil, false, false
		}
		s := `(json_type(doc, ?) = 'text' AND json_extract(doc, ?) ` + op + ` ?)`
		if c.Cmp == backend.Eq {
			return s, []any{path, path, v}, true, true
		}
		return `(` + s + ` OR json_type(doc, ?) = 'text')`, []any{path, path, v, path + `."` + docjson.TagString + `"`}, false, true
	case bool:
		if c.Cmp != backend.Eq {
			return never, nil, true, true
		}
		if v {
			return `json_type(doc, ?) = 'true'`, []any{path}, true, true
		}
		return `json_type(doc, ?) = 'false'`, []any{path}, true, true
	case nil:
		if c.Cmp != backend.Eq {
			return never, nil, true, true
		}
		return `json_type(doc, ?) = 'null'`, []any{path}, true, true
	case time.Time:
		// Times are {"$time": "2006-01-02T15:04:05.000Z"}: for years 0 to
		// 9999 that text is 24 bytes and sorts chronologically. Other
		// lengths are kept for Match; the condition is truncated to the
		// millisecond, so compare non-strictly.
		u := v.UTC()
		if u.Year() < 0 || u.Year() > 9999 {
			return "", nil, false, false
		}
		x := "json_extract(doc, ?)"
		tp := path + `."` + docjson.TagTime + `"`
		return "(length(" + x + ") <> 24 OR " + x + " " + nonStrict(c.Cmp) + " ?)", []any{tp, tp, u.Format(docjson.TimeLayout)}, false, true
	}
	return "", nil, false, false
}

// keyRange returns a range on the sort key (see sortKey) that holds for
// every document that satisfies c, for the index on the key to serve; the
// condition itself still decides. Numbers get bounds one float64 step
// wider than the value, which covers Match's int64-to-float64 rounding;
// strings only equality, since a string holding NUL sorts as an exception.
func keyRange(key string, c backend.Cond) (string, []any, bool) {
	var f float64
	switch v := c.Value.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	case string:
		if c.Cmp != backend.Eq {
			return "", nil, false
		}
		return key + ` = ?`, []any{v}, true
	default:
		return "", nil, false
	}
	if math.IsNaN(f) {
		return "", nil, false
	}
	lo, hi := math.Nextafter(f, math.Inf(-1)), math.Nextafter(f, math.Inf(1))
	switch c.Cmp {
	case backend.Eq:
		return key + ` BETWEEN ? AND ?`, []any{lo, hi}, true
	case backend.Lt, backend.Le:
		return key + ` <= ?`, []any{hi}, true
	case backend.Gt, backend.Ge:
		return key + ` BETWEEN ? AND 9e999`, []any{lo}, true
	}
	return "", nil, false
}
