package postgres

import (
	"math"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// maxExactFloat bounds the ints whose float64 conversion compares like the
// int itself against any stored int.
const maxExactFloat = 1 << 53

// condSQL translates c into an SQL condition that holds exactly when
// backend.Match says c holds, binding values through arg (which returns
// the placeholder). ok is false when c cannot be expressed; the caller
// then leaves it to package record.
func condSQL(c backend.Cond, arg func(any) string) (sql string, ok bool) {
	if _, ok := sqlOp(c.Cmp); !ok {
		return "", false
	}
	v := newValueAt(c.Path)
	// ne builds Ne from the SQL of Eq: true where Eq is false or unknown
	// (missing path, another type).
	ne := func(eq string) string { return "not coalesce(" + eq + ", false)" }
	switch val := c.Value.(type) {
	case int64:
		if -maxExactFloat < val && val < maxExactFloat {
			return numberCond(v, c.Cmp, arg(float64(val)), ne), true
		}
		// Beyond 2^53, Match compares int with int exactly and int with
		// float as float64.
		eq := func(op string) string {
			return `(case when ` + v.isInt() + ` then ` + v.x + `::numeric ` + op + ` ` + arg(val) + `::numeric` +
				` else ` + v.num() + ` ` + op + ` ` + arg(float64(val)) + ` end)`
		}
		if c.Cmp == backend.Ne {
			return ne(eq("=")), true
		}
		op, _ := sqlOp(c.Cmp)
		return eq(op), true
	case float64:
		if math.IsNaN(val) {
			return boolSQL(c.Cmp == backend.Ne), true
		}
		return numberCond(v, c.Cmp, arg(val), ne), true
	case string:
		switch c.Cmp {
		case backend.Eq, backend.Ne:
			eq := v.x + " = " + arg(jsonText(val)) + "::jsonb"
			if c.Cmp == backend.Ne {
				return ne(eq), true
			}
			return eq, true
		}
		op, _ := sqlOp(c.Cmp)
		return v.str() + " " + op + " " + arg([]byte(val)) + "::bytea", true
	case bool, nil:
		switch c.Cmp {
		case backend.Eq:
			return v.x + " = " + arg(jsonText(val)) + "::jsonb", true
		case backend.Ne:
			return ne(v.x + " = " + arg(jsonText(val)) + "::jsonb"), true
		}
		return "false", true // bools and null have no order
	case time.Time:
		return timeCond(v, c.Cmp, val.UTC(), arg, ne)
	}
	return "", false
}

// numberCond compares the value as float64 with f (a placeholder of a
// float8), as Match does for a float or an int of at most 2^53.
func numberCond(v valueAt, cmp backend.Cmp, f string, ne func(string) string) string {
	if cmp == backend.Ne {
		return ne(v.num() + " = " + f)
	}
	op, _ := sqlOp(cmp)
	// Not "rank = 0 and ...", though it would make the condition a range
	// of the index by itself: the planner takes the equality of an
	// expression to keep 1 row in 200 and then prefers a scan of the whole
	// collection to the primary key for "newest first, limit 20". With
	// OrderBy the numbers' query has the rank anyway.
	return v.num() + " " + op + " " + f
}

// timeCond compares the text of stored $time tags (UTC, milliseconds, a
// fixed layout) with t. A t finer than a millisecond lies strictly between
// two stored times.
func timeCond(v valueAt, cmp backend.Cmp, t time.Time, arg func(any) string, ne func(string) string) (string, bool) {
	if t.Year() < 0 || t.Year() > 9999 {
		return "", false // the layout sorts chronologically only for four-digit years
	}
	ms := t.Truncate(time.Millisecond)
	fine := !ms.Equal(t)
	if fine {
		switch cmp {
		case backend.Eq:
			return "false", true
		case backend.Ne:
			return "true", true
		case backend.Lt:
			cmp = backend.Le // stored < t  <=>  stored <= ms
		case backend.Ge:
			cmp = backend.Gt // stored >= t  <=>  stored > ms
		}
	}
	text := arg(ms.Format(docjson.TimeLayout))
	if cmp == backend.Ne {
		return ne(v.time() + " = " + text), true
	}
	op, _ := sqlOp(cmp)
	return v.time() + " " + op + " " + text, true
}

func sqlOp(c backend.Cmp) (string, bool) {
	switch c {
	case backend.Eq:
		return "=", true
	case backend.Ne:
		return "<>", true
	case backend.Lt, backend.Le, backend.Gt, backend.Ge:
		return string(c), true
	}
	return "", false
}

func boolSQL(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// jsonText returns the stored JSON of a scalar (a string, a bool or nil).
func jsonText(v any) string {
	data, _ := docjson.Marshal(v) // cannot fail for these types
	return string(data)
}
