package record

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
)

// A ListOption narrows Store.List.
type ListOption func(*listQuery)

// Err reports the error that List would report for this option alone (a
// bad path, comparison or value), so that a program can check options
// where it builds them, for example to reject a command-line flag early.
func (o ListOption) Err() error {
	var q listQuery
	o(&q)
	return q.err
}

type listQuery struct {
	backend.Query
	fields [][]string // Fields; nil means the whole document
	err    error
}

// Where keeps records whose value at path compares with value: cmp is one
// of = != < <= > >=. Numbers compare numerically whether stored as ints or
// floats; a missing path or a value of another type matches only "!=".
func Where(path, cmp string, value any) ListOption {
	return func(q *listQuery) {
		c, err := newCond(path, cmp, value)
		if err != nil && q.err == nil {
			q.err = err
		}
		q.Where = append(q.Where, c)
	}
}

// Limit keeps at most n records (the first n in the listing order); 0
// means all.
func Limit(n int) ListOption {
	return func(q *listQuery) {
		if n < 0 && q.err == nil {
			q.err = invalid("value", "limit", "negative limit")
		}
		q.Limit = n
	}
}

// NewestFirst lists records in descending id order: newest first, since
// generated ids are time-ordered. With Limit(n) it gives the n newest.
// With OrderBy it reverses that order instead.
func NewestFirst() ListOption {
	return func(q *listQuery) { q.Desc = true }
}

// OrderBy lists records by their value at path, smallest first, or
// greatest first when desc is set; records with equal values come in id
// order (reversed with desc). Numbers compare numerically and come first,
// then strings (byte-wise), then times; records where the path is
// missing or holds anything else (null, a bool, NaN, an object) come
// last in either direction. With Limit(n) and an index on path (see
// Store.Index) the backend reads only n records.
func OrderBy(path string, desc bool) ListOption {
	return func(q *listQuery) {
		keys, err := ParsePath(path)
		if err != nil && q.err == nil {
			q.err = err
		}
		q.OrderBy, q.Desc = keys, desc
	}
}

// Fields restricts the snapshots List yields to the values at the given
// dotted paths (those a record lacks are absent), so that listing many
// records does not ship and decode what the caller never reads, such as
// the host facts. "id" and "collection" are stored fields like any other.
func Fields(paths ...string) ListOption {
	return func(q *listQuery) {
		if q.fields == nil {
			q.fields = [][]string{}
		}
		for _, p := range paths {
			keys, err := ParsePath(p)
			if err != nil {
				if q.err == nil {
					q.err = err
				}
				continue
			}
			q.fields = append(q.fields, keys)
		}
	}
}

// After keeps only the records listed after the record id: pass the last
// id of one page (of Limit records) to get the next page.
func After(id string) ListOption {
	return func(q *listQuery) {
		if err := ValidID(id); err != nil && q.err == nil {
			q.err = err
		}
		q.After = id
	}
}

// WhereText keeps records that satisfy a condition written as text, such
// as "learning_rate=0.01", "metrics.loss.last<0.3" or `status!="failed"`:
// PATH OP VALUE with OP one of = == != < <= > >=. The value is typed from
// its text: an integer, a decimal, true, false, null, a time in RFC 3339,
// or else a string (quotes optional). Like Where, a bad condition is
// reported by List as an *InvalidError.
func WhereText(cond string) ListOption {
	c, err := parseCond(cond)
	return func(q *listQuery) {
		if err != nil {
			if q.err == nil {
				q.err = err
			}
			return
		}
		q.Where = append(q.Where, c)
	}
}

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
