package sqlite

import (
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// pushdown translates the conditions it can into an SQL predicate (" AND
// ..." text and its arguments) that holds for every document backend.Match
// accepts, and possibly for some more: List filters the rows with Match
// afterwards, so the predicate only has to be a superset, never exact.
// Conditions it cannot express (Ne, unusual keys, NaN) are left to Match.
func pushdown(where []backend.Cond) (string, []any) {
	var sb strings.Builder
	var args []any
	for _, c := range where {
		frag, a, ok := condSQL(c)
		if !ok {
			continue
		}
		sb.WriteString(" AND ")
		sb.WriteString(frag)
		args = append(args, a...)
	}
	return sb.String(), args
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

func condSQL(c backend.Cond) (string, []any, bool) {
	if c.Cmp == backend.Ne {
		return "", nil, false
	}
	switch c.Cmp {
	case backend.Eq, backend.Lt, backend.Le, backend.Gt, backend.Ge:
	default:
		return "", nil, false
	}
	path, ok := jsonPath(c.Path)
	if !ok {
		return "", nil, false
	}
	switch v := c.Value.(type) {
	case string:
		// Strings are stored as JSON strings, and SQLite compares TEXT
		// byte-wise, like Go; those holding NUL are tagged objects, kept
		// for Match to judge.
		if strings.IndexByte(v, 0) >= 0 {
			return "", nil, false
		}
		return "(json_type(doc, ?) = 'object' OR json_extract(doc, ?) " + string(c.Cmp) + " ?)", []any{path, path, v}, true
	case int64, float64:
		var f float64
		if i, isInt := v.(int64); isInt {
			f = float64(i)
		} else {
			f = v.(float64)
		}
		if math.IsNaN(f) {
			return "", nil, false
		}
		// Match compares int64 with float64 after converting to float64;
		// SQLite may parse a JSON float a little differently from Go. So
		// compare as REAL with some slack, and keep every tagged float
		// ({"$float": ...} objects: ±Inf and -0) for Match to judge.
		slack := math.Abs(f)*1e-9 + 1e-300
		lo, hi := f-slack, f+slack
		x := "CAST(json_extract(doc, ?) AS REAL)"
		var cmp string
		var args []any
		switch c.Cmp {
		case backend.Eq:
			cmp, args = x+" BETWEEN ? AND ?", []any{path, lo, hi}
		case backend.Lt, backend.Le:
			cmp, args = x+" <= ?", []any{path, hi}
		default:
			cmp, args = x+" >= ?", []any{path, lo}
		}
		return "(json_type(doc, ?) = 'object' OR " + cmp + ")", append([]any{path}, args...), true
	case bool:
		if c.Cmp != backend.Eq {
			return "", nil, false
		}
		t := "false"
		if v {
			t = "true"
		}
		return "json_type(doc, ?) = '" + t + "'", []any{path}, true
	case nil:
		if c.Cmp != backend.Eq {
			return "", nil, false
		}
		return "json_type(doc, ?) = 'null'", []any{path}, true
	case time.Time:
		// Times are {"$time": "2006-01-02T15:04:05.000Z"}: for years 0 to
		// 9999 that text is 24 bytes and sorts chronologically. Other
		// lengths are kept for Match; the condition is truncated to the
		// millisecond, so compare non-strictly.
		u := v.UTC()
		if u.Year() < 0 || u.Year() > 9999 {
			return "", nil, false
		}
		s := u.Format(docjson.TimeLayout)
		x := "json_extract(doc, ?)"
		tp := path + `."` + docjson.TagTime + `"`
		return "(length(" + x + ") <> 24 OR " + x + " " + nonStrict(c.Cmp) + " ?)", []any{tp, tp, s}, true
	}
	return "", nil, false
}
