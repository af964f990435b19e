package backend

import (
	"strings"
	"time"
)

// Cmp is a comparison of a Cond.
type Cmp string

// The comparisons a Cond may use.
const (
	Eq Cmp = "="
	Ne Cmp = "!="
	Lt Cmp = "<"
	Le Cmp = "<="
	Gt Cmp = ">"
	Ge Cmp = ">="
)

// Cond is one condition of a Query: the value at Path compared with Value.
//
// Value is nil, bool, int64, float64, string or time.Time. Numbers compare
// numerically whether stored as int64 or float64; strings compare
// byte-wise; times compare chronologically; bools and nil support only Eq
// and Ne. A missing path, a value of another type, or NaN on either side
// makes every comparison false except Ne, which is then true.
type Cond struct {
	Path  []string
	Cmp   Cmp
	Value any
}

// Match reports whether doc satisfies every condition. Adapters that
// cannot express a condition natively use it to filter in Go; its answer is
// the definition every adapter's List must agree with.
func Match(doc map[string]any, where []Cond) bool {
	for _, c := range where {
		if !c.match(doc) {
			return false
		}
	}
	return true
}

func (c Cond) match(doc map[string]any) bool {
	v, ok := Lookup(doc, c.Path)
	if !ok {
		return c.Cmp == Ne
	}
	r, ok := compare(v, c.Value)
	if !ok {
		return c.Cmp == Ne
	}
	if !ordered(v) && c.Cmp != Eq && c.Cmp != Ne {
		return false
	}
	switch c.Cmp {
	case Eq:
		return r == 0
	case Ne:
		return r != 0
	case Lt:
		return r < 0
	case Le:
		return r <= 0
	case Gt:
		return r > 0
	case Ge:
		return r >= 0
	}
	return false
}

// Lookup returns the value at path in doc.
func Lookup(doc map[string]any, path []string) (any, bool) {
	var cur any = doc
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// SetAt stores v at path in doc, creating the objects on the way and
// replacing whatever else is there: the inverse of Lookup, for adapters
// that build a projected document from values read one path at a time.
func SetAt(doc map[string]any, path []string, v any) {
	m := doc
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// compare orders a against b; ok is false when they are not comparable.
// For bools and nil only equality is meaningful: r is 0 or 1.
func compare(a, b any) (r int, ok bool) {
	if fa, isNum := number(a); isNum {
		fb, isNum := number(b)
		if !isNum {
			return 0, false
		}
		// Exact comparison of int64 with int64 avoids float rounding.
		if ia, aInt := a.(int64); aInt {
			if ib, bInt := b.(int64); bInt {
				return cmpOrdered(ia, ib), true
			}
		}
		if fa != fa || fb != fb {
			return 0, false
		}
		return cmpOrdered(fa, fb), true
	}
	switch av := a.(type) {
	case string:
		bv, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(av, bv), true
	case time.Time:
		bv, ok := b.(time.Time)
		if !ok {
			return 0, false
		}
		return av.Compare(bv), true
	case bool:
		bv, ok := b.(bool)
		if !ok {
			return 0, false
		}
		if av == bv {
			return 0, true
		}
		return 1, true
	case nil:
		if b != nil {
			return 0, false
		}
		return 0, true
	}
	return 0, false
}

// ordered reports whether values of v's type have an order (not bool or nil).
func ordered(v any) bool {
	switch v.(type) {
	case bool, nil:
		return false
	}
	return true
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
