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
	if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
		return t.UTC()
	}
	return text
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
