package postgres

import (
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// projection returns the paths to read, nil for the whole document,
// leaving out those inside another one (or repeated).
func projection(fields [][]string) [][]string {
	if fields == nil || slices.ContainsFunc(fields, func(f []string) bool { return len(f) == 0 }) {
		return nil
	}
	out := [][]string{}
	for i, f := range fields {
		covered := false
		for j, g := range fields {
			if len(g) <= len(f) && slices.Equal(g, f[:len(g)]) && (len(g) < len(f) || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, f)
		}
	}
	return out
}

// shape is the tree of the projected paths, which reader fills in.
type shape struct {
	children []shapeNode
}

type shapeNode struct {
	key    string
	column int    // the row's column of the value, for the end of a path
	sub    *shape // the keys below, for a key inside a path
}

// newShape returns the tree of fields, none of which lies inside another.
func newShape(fields [][]string) *shape {
	root := &shape{}
	for i, f := range fields {
		s := root
		for _, k := range f[:len(f)-1] {
			j := slices.IndexFunc(s.children, func(n shapeNode) bool { return n.key == k })
			if j < 0 {
				j = len(s.children)
				s.children = append(s.children, shapeNode{key: k, sub: &shape{}})
			}
			s = s.children[j].sub
		}
		s.children = append(s.children, shapeNode{key: f[len(f)-1], column: i + 1})
	}
	return root
}

// fill returns the object holding the values of vals (by column) that are
// present, nil when none is.
func (s *shape) fill(vals []any, present []bool) map[string]any {
	var m map[string]any
	for _, n := range s.children {
		var v any
		if n.sub != nil {
			sub := n.sub.fill(vals, present)
			if sub == nil {
				continue
			}
			v = sub
		} else if present[n.column] {
			v = vals[n.column]
		} else {
			continue
		}
		if m == nil {
			m = make(map[string]any, len(s.children))
		}
		m[n.key] = v
	}
	return m
}

// reader decodes the rows of a List query: the id, then the document or
// the values at the projected paths.
type reader struct {
	sh      *shape // nil for the whole document
	vals    []any  // the values of a row by column, reused from row to row
	present []bool // whether the column holds a value
}

func newReader(fields [][]string) *reader {
	if fields == nil {
		return &reader{}
	}
	return &reader{sh: newShape(fields), vals: make([]any, len(fields)+1), present: make([]bool, len(fields)+1)}
}

// item decodes the current row.
func (r *reader) item(rows pgx.Rows) (backend.Item, error) {
	raw := rows.RawValues()
	formats := rows.FieldDescriptions()
	it := backend.Item{ID: string(raw[0])}
	if r.sh == nil {
		doc, err := decodeDoc(jsonbText(raw[1], formats[1].Format))
		if err != nil {
			return it, err
		}
		it.Doc = doc
		return it, nil
	}
	for i := 1; i < len(raw); i++ {
		if r.present[i] = raw[i] != nil; !r.present[i] {
			continue // missing
		}
		v, err := docjson.UnmarshalValue(jsonbText(raw[i], formats[i].Format))
		if err != nil {
			return it, fmt.Errorf("postgres: %w", err)
		}
		r.vals[i] = v
	}
	if it.Doc = r.sh.fill(r.vals, r.present); it.Doc == nil {
		it.Doc = map[string]any{}
	}
	return it, nil
}

// jsonbText returns the JSON text of a jsonb column value: the binary
// format is a version byte (1) followed by the text.
func jsonbText(data []byte, format int16) []byte {
	if format == pgx.BinaryFormatCode && len(data) > 0 {
		return data[1:]
	}
	return data
}
