package record

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/recordlab/go-record/internal/docjson"
)

// decodeLine reads one line of the export format (see Export). The
// document and every scalar go through docjson, which checks them; the
// series arrays are decoded straight into typed columns, without a tree
// of interface values. A line from a store without SeriesStore, whose
// document holds its series (series.NAME.steps/values/times) and which
// has no "series" field, imports with those points as its series.
func decodeLine(line []byte) (*decoded, error) {
	if !utf8.Valid(line) {
		// docjson would read invalid bytes as U+FFFD: refuse rather than
		// store a value other than the one written.
		return nil, errors.New("not valid UTF-8")
	}
	if at := loneSurrogate(line); at >= 0 {
		// docjson would read it as U+FFFD too.
		return nil, fmt.Errorf(`offset %d: %s is half of a UTF-16 surrogate pair, not a character`, at, line[at:at+6])
	}
	sc := scanner{b: line}
	d := &decoded{cols: map[string]*columns{}}
	in, cols := &d.incoming, d.cols
	seen := map[string]bool{}
	err := sc.object(func(key string) error {
		if seen[key] {
			return fmt.Errorf("field %q appears twice", key)
		}
		seen[key] = true
		switch key {
		case "id":
			v, err := sc.scalar()
			id, ok := v.(string)
			if err != nil || !ok {
				return errors.New(`"id" is not a string`)
			}
			in.id = id
		case "doc":
			raw, err := sc.value()
			if err != nil {
				return err
			}
			doc, err := docjson.Unmarshal(raw)
			if err != nil {
				return fmt.Errorf(`"doc": %w`, err)
			}
			// docjson reads an integer beyond int64 as a float: refuse it
			// rather than store a value other than the one written.
			if err := (&scanner{b: raw}).ints(""); err != nil {
				return err
			}
			in.doc = doc
		case "part":
			v, err := sc.scalar()
			part, ok := v.(int64)
			if err != nil || !ok || part < 1 || part > math.MaxInt32 {
				return errors.New(`"part" is not a positive integer`)
			}
			d.part = int(part)
		case "series":
			if sc.null() {
				return nil
			}
			return sc.object(func(name string) error {
				d.order = append(d.order, name)
				if err := validMetric(name); err != nil {
					return fmt.Errorf("bad metric name %q", name)
				}
				if cols[name] != nil {
					return fmt.Errorf("series %q appears twice", name)
				}
				c, err := sc.columns(joinPath(fallbackKey, name))
				if err != nil {
					return err
				}
				cols[name] = c
				return nil
			})
		default:
			return fmt.Errorf("unknown field %q (want id, doc, series; or id, part, series)", key)
		}
		return nil
	})
	if err == nil && !sc.end() {
		err = sc.errorf("data after the record")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !seen["id"]:
		return nil, errors.New(`"id" is missing`)
	case d.part > 0 && seen["doc"]:
		return nil, errors.New(`"doc" beside "part": a continuation line holds id, part and series`)
	case d.part > 0 && len(cols) == 0:
		return nil, errors.New(`a continuation line without series points`)
	case d.part == 0 && in.doc == nil:
		return nil, errors.New(`"doc" is missing or not an object`)
	}
	if err := ValidID(in.id); err != nil {
		return nil, err
	}
	if d.part > 0 {
		return d, nil
	}
	nv, err := Normalize(in.doc) // checks keys and strings
	if err != nil {
		return nil, err
	}
	in.doc = nv.(map[string]any)
	if sv, ok := in.doc[fallbackKey]; ok {
		if seen["series"] {
			return nil, invalid("value", fallbackKey, `the document holds series beside the line's "series" field`)
		}
		// A line from a store without SeriesStore: the document holds
		// the series, which must be whole.
		sm, ok := sv.(map[string]any)
		if !ok {
			return nil, wrongType(fallbackKey, sv, "an object of series")
		}
		for name, v := range sm {
			c, err := docColumns(name, v)
			if err != nil {
				return nil, err
			}
			cols[name] = c
		}
		delete(in.doc, fallbackKey)
	}
	for name := range cols {
		in.names = append(in.names, name)
	}
	slices.Sort(in.names)
	in.series = func(name string) iter.Seq2[[]Point, error] { return cols[name].points }
	if len(d.order) > 0 {
		d.last = d.order[len(d.order)-1]
	}
	return d, nil
}

// decoded is one line of an export: a record's line (part 0), or one of
// its continuation lines, whose series continue the record's.
type decoded struct {
	incoming
	part  int
	cols  map[string]*columns // the series of the line, read by series
	order []string            // the names of the line's series, in its order
	last  string              // the last name read, for the order of parts
}

// extend appends the points of the continuation line c to the record d,
// after checking that c comes next: the same id, the next part, and
// series in name order from where the last line ended.
func (d *decoded) extend(c *decoded) error {
	switch {
	case d == nil:
		return fmt.Errorf("part %d of record %q follows no line of that record", c.part, c.id)
	case c.id != d.id:
		return fmt.Errorf("part %d of record %q follows a line of record %q", c.part, c.id, d.id)
	case c.part != d.part+1:
		return fmt.Errorf("part %d of record %q follows part %d", c.part, c.id, d.part)
	}
	prev := d.last
	for i, name := range c.order {
		if name < prev || name == prev && i > 0 {
			return fmt.Errorf("series %q of part %d of record %q is out of name order (after %q)", name, c.part, c.id, prev)
		}
		prev = name
	}
	for name, col := range c.cols {
		have := d.cols[name]
		if have == nil {
			d.cols[name] = col
			d.names = append(d.names, name)
			continue
		}
		have.steps = append(have.steps, col.steps...)
		have.values = append(have.values, col.values...)
		have.times = append(have.times, col.times...)
	}
	slices.Sort(d.names)
	d.part, d.last = c.part, prev
	return nil
}

// columns are a series as the export format holds it.
type columns struct {
	steps  []int64
	values []float64
	times  []time.Time // nil only when there are no points (check refuses points without times)
}

// docColumns reads a series that a document holds in the layout of
// fallbackOps (series.NAME.{steps,times,values}), refusing anything
// that would not come back as written.
func docColumns(name string, v any) (*columns, error) {
	path := joinPath(fallbackKey, name)
	if err := validMetric(name); err != nil {
		return nil, invalid("key", path, "not a metric name: "+err.(*InvalidError).Reason)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, wrongType(path, v, "an object with steps, times and values")
	}
	c := &columns{}
	for k, v := range m {
		if k != "steps" && k != "times" && k != "values" {
			return nil, invalid("key", joinPath(path, k), "unknown field (want steps, times, values)")
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, wrongType(joinPath(path, k), v, "an array")
		}
		for i, e := range arr {
			at := joinPath(joinPath(path, k), strconv.Itoa(i))
			switch k {
			case "steps":
				st, ok := e.(int64)
				if !ok {
					return nil, wrongType(at, e, "an integer")
				}
				c.steps = append(c.steps, st)
			case "values":
				switch x := e.(type) {
				case float64:
					c.values = append(c.values, x)
				case int64:
					c.values = append(c.values, float64(x))
				default:
					return nil, wrongType(at, e, "a number")
				}
			case "times":
				t, ok := e.(time.Time)
				if !ok {
					return nil, wrongType(at, e, "a time")
				}
				c.times = append(c.times, t)
			}
		}
		if k == "times" && c.times == nil {
			c.times = []time.Time{}
		}
	}
	return c, c.check(path)
}

// check refuses columns of different lengths, and points without times:
// a store keeps a time with every point, and Import never invents one.
func (c *columns) check(path string) error {
	switch {
	case len(c.values) != len(c.steps):
		return invalid("value", path, fmt.Sprintf("%d steps but %d values", len(c.steps), len(c.values)))
	case c.times == nil && len(c.steps) > 0:
		return invalid("value", joinPath(path, "times"), "missing: every point needs its time")
	case len(c.times) != len(c.steps):
		return invalid("value", path, fmt.Sprintf("%d steps but %d times", len(c.steps), len(c.times)))
	}
	return nil
}

// points yields the series in batches.
func (c *columns) points(yield func([]Point, error) bool) {
	if c == nil {
		return
	}
	for lo := 0; lo < len(c.steps); lo += transferBatch {
		hi := min(len(c.steps), lo+transferBatch)
		pts := make([]Point, hi-lo)
		for i := range pts {
			pts[i] = Point{Step: c.steps[lo+i], Value: c.values[lo+i]}
			if c.times != nil {
				pts[i].Time = c.times[lo+i]
			}
		}
		if !yield(pts, nil) {
			return
		}
	}
}

// scanner walks the JSON text of one line.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes c, after white space, and reports whether it was there.
func (s *scanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

func (s *scanner) null() bool {
	s.space()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// value returns the text of the next value, found by its extent only:
// strings and brackets. docjson checks the text when it decodes it.
func (s *scanner) value() ([]byte, error) {
	s.space()
	start, depth := s.i, 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch c {
		case '"':
			for s.i++; s.i < len(s.b) && s.b[s.i] != '"'; s.i++ {
				if s.b[s.i] == '\\' {
					s.i++
				}
			}
			if s.i >= len(s.b) {
				return nil, s.errorf("unterminated string")
			}
			s.i++
		case '{', '[':
			depth++
			s.i++
		case '}', ']', ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return s.span(start)
			}
			if c == '}' || c == ']' {
				depth--
			}
			s.i++
		default:
			s.i++
		}
		if depth == 0 && (c == '"' || c == '}' || c == ']') {
			return s.span(start)
		}
	}
	if depth > 0 {
		return nil, s.errorf("unexpected end of line")
	}
	return s.span(start)
}

func (s *scanner) span(start int) ([]byte, error) {
	if s.i == start {
		return nil, s.errorf("value expected")
	}
	return s.b[start:s.i], nil
}

// scalar decodes the next value with docjson.
func (s *scanner) scalar() (any, error) {
	raw, err := s.value()
	if err != nil {
		return nil, err
	}
	v, err := docjson.UnmarshalValue(raw)
	if err != nil {
		return nil, fmt.Errorf("offset %d: %w", s.i-len(raw), err)
	}
	return v, nil
}

// object reads {"key": value, ...}, calling field after each key and its
// colon to read the value.
func (s *scanner) object(field func(key string) error) error {
	if !s.next('{') {
		return s.errorf("object expected")
	}
	if s.next('}') {
		return nil
	}
	for {
		k, err := s.scalar()
		key, ok := k.(string)
		if err != nil || !ok {
			return s.errorf("object key expected")
		}
		if !s.next(':') {
			return s.errorf("':' expected")
		}
		if err := field(key); err != nil {
			return err
		}
		if s.next('}') {
			return nil
		}
		if !s.next(',') {
			return s.errorf("',' or '}' expected")
		}
	}
}

// array reads [value, ...], calling elem to read each value.
func (s *scanner) array(elem func(i int) error) error {
	if !s.next('[') {
		return s.errorf("array expected")
	}
	if s.next(']') {
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		if s.next(']') {
			return nil
		}
		if !s.next(',') {
			return s.errorf("',' or ']' expected")
		}
	}
}

// columns reads {"steps": [...], "times": [...], "values": [...]}, the
// series at path; other keys, points without times and integers beyond
// int64 are refused, each naming its path.
func (s *scanner) columns(path string) (*columns, error) {
	c := &columns{}
	err := s.object(func(key string) error {
		at := joinPath(path, key)
		if s.null() { // as if absent
			return nil
		}
		elem := func(i int) (string, any, error) {
			raw, err := s.value()
			if err != nil {
				return "", nil, err
			}
			where := joinPath(at, strconv.Itoa(i))
			if err := checkInt(raw, where); err != nil {
				return "", nil, err
			}
			v, err := docjson.UnmarshalValue(raw)
			if err != nil {
				return "", nil, invalid("value", where, trimPrefix(err.Error()))
			}
			return where, v, nil
		}
		switch key {
		case "steps":
			return s.array(func(i int) error {
				where, v, err := elem(i)
				if err != nil {
					return err
				}
				st, ok := v.(int64)
				if !ok {
					return wrongType(where, v, "an integer")
				}
				c.steps = append(c.steps, st)
				return nil
			})
		case "values":
			return s.array(func(i int) error {
				where, v, err := elem(i)
				if err != nil {
					return err
				}
				switch x := v.(type) {
				case float64:
					c.values = append(c.values, x)
				case int64:
					c.values = append(c.values, float64(x))
				default:
					return wrongType(where, v, "a number")
				}
				return nil
			})
		case "times":
			c.times = []time.Time{}
			return s.array(func(i int) error {
				where, v, err := elem(i)
				if err != nil {
					return err
				}
				t, ok := v.(time.Time)
				if !ok {
					return wrongType(where, v, `a {"$time": ...}`)
				}
				c.times = append(c.times, t)
				return nil
			})
		}
		return invalid("key", at, "unknown field (want steps, times, values)")
	})
	if err != nil {
		return nil, err
	}
	return c, c.check(path)
}

// ints walks the next value and refuses an integer beyond int64, which
// docjson would read as a float, naming its path below path.
func (s *scanner) ints(path string) error {
	s.space()
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '{':
			return s.object(func(key string) error { return s.ints(joinPath(path, key)) })
		case '[':
			return s.array(func(i int) error { return s.ints(joinPath(path, strconv.Itoa(i))) })
		}
	}
	raw, err := s.value()
	if err != nil {
		return err
	}
	return checkInt(raw, path)
}

// checkInt refuses the text of an integer that int64 cannot hold.
func checkInt(raw []byte, path string) error {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') || bytes.ContainsAny(raw, ".eE") {
		return nil
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); errors.Is(err, strconv.ErrRange) {
		return invalid("value", path, "integer "+string(raw)+" does not fit in 64 bits")
	}
	return nil
}

// loneSurrogate returns the offset of the first \uXXXX escape in a string
// of line that is half of a UTF-16 surrogate pair without its other half,
// or -1 when there is none.
func loneSurrogate(line []byte) int {
	in := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			in = !in
		case !in || c != '\\' || i+1 >= len(line):
		case line[i+1] != 'u':
			i++ // skip the escaped character
		default:
			r, ok := hexRune(line, i+2)
			switch {
			case !ok || !utf16.IsSurrogate(r):
			case r < 0xdc00 && i+12 <= len(line) && line[i+6] == '\\' && line[i+7] == 'u':
				if r2, ok := hexRune(line, i+8); ok && utf16.DecodeRune(r, r2) != utf8.RuneError {
					i += 11
					continue
				}
				return i
			default:
				return i
			}
			i += 5
		}
	}
	return -1
}

// hexRune reads the four hex digits of a \u escape at line[at:].
func hexRune(line []byte, at int) (rune, bool) {
	if at+4 > len(line) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(line[at:at+4]), 16, 16)
	return rune(n), err == nil
}
