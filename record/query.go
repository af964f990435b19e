package record

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
)

func parseCond(s string) (backend.Cond, error) {
	i := strings.IndexAny(s, "=!<>")
	if i <= 0 {
		return backend.Cond{}, invalid("op", s, `want PATH OP VALUE with OP one of = != < <= > >=`)
	}
	path := strings.TrimSpace(s[:i])
	rest := s[i:]
	var cmp string
	n := 0
	for _, op := range []string{"==", "!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			cmp, n = strings.TrimPrefix(op, "="), len(op) // "==" means "="
			if cmp == "" {
				cmp = "="
			}
			break
		}
	}
	if cmp == "" {
		return backend.Cond{}, invalid("op", s, `want PATH OP VALUE with OP one of = != < <= > >=`)
	}
	text := strings.TrimSpace(rest[n:])
	if strings.ContainsAny(text[:min(1, len(text))], "=!<>") {
		return backend.Cond{}, invalid("op", s, "unknown comparison "+rest[:n+1])
	}
	return newCond(path, cmp, parseValue(text))
}

func parseValue(text string) any {
	if len(text) >= 2 && (text[0] == '"' && text[len(text)-1] == '"' || text[0] == '\'' && text[len(text)-1] == '\'') {
		if s, err := strconv.Unquote(`"` + text[1:len(text)-1] + `"`); err == nil {
			return s
		}
		return text[1 : len(text)-1]
	}
	switch text {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		return f
	}
	if t, ok := parseTime(text); ok {
		return t
	}
	return text
}

// timeLayouts are the forms of a time in a condition, tried in order:
// RFC 3339 (a 'T' or a space between date and time), a date and time
// without zone, which is UTC, and a plain date, which is midnight UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	time.DateOnly,
}

// parseTime reads text as a time in UTC when it has one of timeLayouts.
func parseTime(text string) (time.Time, bool) {
	if len(text) < len(time.DateOnly) || text[4] != '-' {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func newCond(path, cmp string, value any) (backend.Cond, error) {
	keys, err := ParsePath(path)
	if err != nil {
		return backend.Cond{}, err
	}
	switch backend.Cmp(cmp) {
	case backend.Eq, backend.Ne, backend.Lt, backend.Le, backend.Gt, backend.Ge:
	default:
		return backend.Cond{}, invalid("op", path, fmt.Sprintf("unknown comparison %q", cmp))
	}
	v, err := Normalize(value)
	if err != nil {
		return backend.Cond{}, err
	}
	switch v.(type) {
	case nil, bool, int64, float64, string, time.Time:
	default:
		return backend.Cond{}, invalid("value", path, "a condition compares with a scalar, not an object or array")
	}
	return backend.Cond{Path: keys, Cmp: backend.Cmp(cmp), Value: v}, nil
}

// ParseCondition reads a condition written as text, as WhereText does,
// and returns its dotted path, its comparison (one of = != < <= > >=;
// "==" reads as "=") and its typed value: int64, float64 (NaN and ±Inf
// are spelled NaN, Inf, +Inf, -Inf), bool, nil for null, time.Time in UTC
// (to the millisecond, as stored times are),
// or a string. A value is a time when it is in RFC 3339 (2026-11-26T10:00:00Z,
// a space for the T allowed), a date and time without zone
// (2026-11-26T10:00:00, 2026-11-26 10:00), which is UTC, or a plain date
// (2026-11-26), which is midnight UTC. Quoting a value ("2026-11-26")
// keeps it a string. A bad condition is an *InvalidError.
func ParseCondition(text string) (path, cmp string, value any, err error) {
	c, err := parseCond(text)
	if err != nil {
		return "", "", nil, err
	}
	return strings.Join(c.Path, "."), string(c.Cmp), c.Value, nil
}
