package record

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/recordlab/go-record/internal/docjson"
)

// decodeLine reads one line of the export format (see Export). The
// document and every scalar go through docjson, which checks them; the
// series arrays are decoded straight into typed columns, without a tree
// of interface values. A line from a store without SeriesStore, whose
// document holds its series (series.NAME.steps/values/times) and which
// has no "series" field, imports with those points as its series.
func decodeLine(line []byte) (incoming, error) {
	if !utf8.Valid(line) {
		// docjson would read invalid bytes as U+FFFD: refuse rather than
		// store a value other than the one written.
		return incoming{}, errors.New("not valid UTF-8")
	}
	sc := scanner{b: line}
	var in incoming
	cols := map[string]*columns{}
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
			in.doc = doc
		case "series":
			if sc.null() {
				return nil
			}
			return sc.object(func(name string) error {
				if err := validMetric(name); err != nil {
					return fmt.Errorf("bad metric name %q", name)
				}
				if cols[name] != nil {
					return fmt.Errorf("series %q appears twice", name)
				}
				c, err := sc.columns()
				if err != nil {
					return fmt.Errorf("series %s: %w", name, err)
				}
				cols[name] = c
				return nil
			})
		default:
			return fmt.Errorf("unknown field %q (want id, doc, series)", key)
		}
		return nil
	})
	if err == nil && !sc.end() {
		err = sc.errorf("data after the record")
	}
	if err != nil {
		return incoming{}, err
	}
	switch {
	case !seen["id"]:
		return incoming{}, errors.New(`"id" is missing`)
	case in.doc == nil:
		return incoming{}, errors.New(`"doc" is missing or not an object`)
	}
	if err := ValidID(in.id); err != nil {
		return incoming{}, err
	}
	nv, err := Normalize(in.doc) // checks keys and strings
	if err != nil {
		return incoming{}, err
	}
	in.doc = nv.(map[string]any)
	if !seen["series"] {
		if sm, ok := in.doc[fallbackKey].(map[string]any); ok {
			for name := range sm {
				if validMetric(name) == nil {
					cols[name] = fromPoints(fallbackPoints(in.doc, name))
				}
			}
			delete(in.doc, fallbackKey)
		}
	}
	for name := range cols {
		in.names = append(in.names, name)
	}
	slices.Sort(in.names)
	in.series = func(name string) iter.Seq2[[]Point, error] { return cols[name].points }
	return in, nil
}

// columns are a series as the export format holds it.
type columns struct {
	steps  []int64
	values []float64
	times  []time.Time // nil when the line has none: zero times
}

func fromPoints(pts []Point) *columns {
	c := &columns{steps: make([]int64, len(pts)), values: make([]float64, len(pts)), times: make([]time.Time, len(pts))}
	for i, p := range pts {
		c.steps[i], c.values[i], c.times[i] = p.Step, p.Value, p.Time
	}
	return c
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

// columns reads {"steps": [...], "times": [...], "values": [...]}; other
// keys are skipped, and "times" may be absent (zero times).
func (s *scanner) columns() (*columns, error) {
	c := &columns{}
	err := s.object(func(key string) error {
		if s.null() {
			return nil
		}
		switch key {
		case "steps":
			return s.array(func(i int) error {
				v, err := s.scalar()
				st, ok := v.(int64)
				if err != nil || !ok {
					return fmt.Errorf("step %d is not an integer", i)
				}
				c.steps = append(c.steps, st)
				return nil
			})
		case "values":
			return s.array(func(i int) error {
				v, _ := s.scalar()
				switch x := v.(type) {
				case float64:
					c.values = append(c.values, x)
				case int64:
					c.values = append(c.values, float64(x))
				default:
					return fmt.Errorf("value %d is not a number", i)
				}
				return nil
			})
		case "times":
			c.times = []time.Time{}
			return s.array(func(i int) error {
				v, err := s.scalar()
				t, ok := v.(time.Time)
				if err != nil || !ok {
					return fmt.Errorf(`time %d is not a {"$time": ...}`, i)
				}
				c.times = append(c.times, t)
				return nil
			})
		}
		_, err := s.value()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(c.values) != len(c.steps) || c.times != nil && len(c.times) != len(c.steps) {
		return nil, errors.New("steps, values and times differ in length")
	}
	return c, nil
}
