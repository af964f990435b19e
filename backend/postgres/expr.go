package postgres

import "strings"

// valueAt builds the SQL expressions over the value at one path of doc
// that List orders and filters by, and that Index indexes. The path is
// spliced into the text as a quoted constant, the same in the index and in
// queries, since PostgreSQL uses an expression index only for an
// identical expression; every other value is a bound parameter.
//
// Package backend orders values by rank (numbers, strings, times, the
// rest) and then within the rank. In SQL:
//
//   - rank: 0 numbers (JSON numbers, and the tags of ±Inf and -0), 1
//     strings (and the tag of strings holding NUL), 2 times (the $time
//     tag), 3 the rest (missing, null, bools, NaN, arrays, objects).
//   - num: a number as float8, which is exactly the float64 package
//     backend compares (an int64 rounds the way Go converts it).
//   - exact: for numbers whose num is equal, the exact value as numeric:
//     an int64 itself, a float64 that is an integer as that integer, so
//     that ints above 2^53 and a float between them compare exactly. Up
//     to 2^53 it is the number truncated, cheaper to compute: ints are
//     themselves, and a float's digits (the shortest that give its
//     float64, as this package writes them) truncate to the float64's
//     integer part.
//   - text: strings byte-wise as bytea (NUL strings decoded from their
//     tag) and times as the text of their tag, which this package writes
//     in one fixed layout (UTC, milliseconds) that sorts chronologically.
//
// (rank, num, exact, text, id) in ascending order is backend.Less's order
// for ascending queries. Index covers (collection, rank, num, exact, id):
// the numbers, the common case, come from the index in order. See
// orderParts.
type valueAt struct {
	x string // the jsonb value at the path: NULL when missing
}

func newValueAt(path []string) valueAt {
	return valueAt{x: member(path, quoteLiteral)}
}

// member returns the SQL of the jsonb value at path in doc, each key
// written by key: NULL where a key is missing or the path runs through
// anything but an object (-> with a text key does not index arrays, as
// backend.Lookup does not).
func member(path []string, key func(string) string) string {
	var sb strings.Builder
	sb.WriteString("(doc")
	for _, k := range path {
		sb.WriteString("->")
		sb.WriteString(key(k))
		sb.WriteString("::text")
	}
	sb.WriteString(")")
	return sb.String()
}

// quoteLiteral quotes s as an SQL string constant, as PostgreSQL's
// quote_literal does: quotes doubled and, where s holds a backslash, an
// escape string (E'...') with backslashes doubled, which reads the same
// whatever standard_conforming_strings says. s holds no NUL (package
// record refuses keys with one).
func quoteLiteral(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		q = "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

func (v valueAt) rank() string {
	x := v.x
	return `(case jsonb_typeof(` + x + `) when 'number' then 0 when 'string' then 1 when 'object' then case` +
		` when ` + x + `->>'$float' in ('+Inf', '-Inf', '-0') then 0` +
		` when ` + x + ` ? '$string' then 1 when ` + x + ` ? '$time' then 2 else 3 end else 3 end)`
}

func (v valueAt) num() string {
	x := v.x
	return `(case jsonb_typeof(` + x + `) when 'number' then ` + x + `::float8 when 'object' then case ` + x + `->>'$float'` +
		` when '+Inf' then 'Infinity'::float8 when '-Inf' then '-Infinity'::float8 when '-0' then 0::float8 end end)`
}

// isInt is true for the JSON numbers that decode as int64: digits without
// a fraction (jsonb keeps 10.0 apart from 10) that fit 64 bits. (CASE,
// not AND, makes sure that only numbers are cast.)
func (v valueAt) isInt() string {
	x := v.x
	return `(case when jsonb_typeof(` + x + `) = 'number' then scale(` + x + `::numeric) = 0 and ` +
		x + `::numeric between -9223372036854775808 and 9223372036854775807 else false end)`
}

func (v valueAt) exact() string {
	x := v.x
	return `(case jsonb_typeof(` + x + `) when 'number' then case` +
		` when ` + x + `::numeric between -9007199254740992 and 9007199254740992 then trunc(` + x + `::numeric)` +
		` when scale(` + x + `::numeric) = 0 and ` + x + `::numeric between -9223372036854775808 and 9223372036854775807 then ` + x + `::numeric` +
		` when abs(` + x + `::float8) < 9223372036854775808::float8 then (` + x + `::float8)::int8::numeric` +
		` else sign(` + x + `::float8)::numeric * 9223372036854775808 end else 0 end)`
}

// str is a string as bytea, NULL for anything else.
func (v valueAt) str() string {
	x := v.x
	return `(case jsonb_typeof(` + x + `) when 'string' then convert_to(` + x + ` #>> '{}', 'UTF8')` +
		` when 'object' then case when ` + x + ` ? '$string' then decode(` + x + `->>'$string', 'base64') end end)`
}

// time is the text of a $time tag, NULL for anything else.
func (v valueAt) time() string {
	x := v.x
	return `(case when jsonb_typeof(` + x + `) = 'object' then ` + x + `->>'$time' end) collate "C"`
}

// text orders strings and times within their rank.
func (v valueAt) text() string {
	return `coalesce(` + v.str() + `, convert_to(` + v.time() + `, 'UTF8'))`
}

// orderParts returns, for backend.Less's order on this path, a condition
// and an ORDER BY list for each group of ranks, in the order the groups
// come: numbers, strings and times, the rest (last in both directions).
// The numbers and the rest come in the order of the index that Index
// makes, so that a LIMIT reads only what it returns; strings and times
// are sorted.
func (v valueAt) orderParts(desc bool) (where, orderBy [3]string) {
	dir := ""
	if desc {
		dir = " desc"
	}
	rank := v.rank()
	byIndex := v.num() + dir + ", " + v.exact() + dir + ", id" + dir
	numbers := [2]string{rank + " = 0", byIndex}
	texts := [2]string{rank + " in (1, 2)", rank + dir + ", " + v.text() + dir + ", id" + dir}
	rest := [2]string{rank + " = 3", byIndex} // num and exact are the same for all
	groups := [3][2]string{numbers, texts, rest}
	if desc {
		groups[0], groups[1] = texts, numbers
	}
	for i, g := range groups {
		where[i], orderBy[i] = g[0], g[1]
	}
	return where, orderBy
}

// indexColumns returns the columns of the index that serves orderParts.
func (v valueAt) indexColumns() string {
	return "collection, " + v.rank() + ", " + v.num() + ", " + v.exact() + ", id"
}
