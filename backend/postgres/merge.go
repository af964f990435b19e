package postgres

import (
	"slices"
	"strconv"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// encodeOps encodes ops as the JSON array the merge function reads:
// [{"k": "set", "p": ["a", "b"], "v": 1}, ...]. Keys and values travel as
// JSON data inside one bound parameter, never as SQL text. Package record
// has validated the ops.
func encodeOps(ops []backend.Op) ([]byte, error) {
	buf := make([]byte, 0, 64*len(ops)+2)
	buf = append(buf, '[')
	for i, op := range ops {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"k":"`...)
		buf = append(buf, op.Kind.String()...)
		buf = append(buf, `","p":[`...)
		var err error
		for j, k := range op.Path {
			if j > 0 {
				buf = append(buf, ',')
			}
			if buf, err = docjson.Append(buf, k); err != nil {
				return nil, err
			}
		}
		buf = append(buf, ']')
		if op.Kind != backend.Unset {
			buf = append(buf, `,"v":`...)
			if buf, err = docjson.Append(buf, op.Value); err != nil {
				return nil, err
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

// maxFastParents bounds the parent objects one fast merge rewrites.
const maxFastParents = 8

// fastMerge returns the SQL expression of doc with ops applied, without
// the merge function, when every op is a Set whose parent object is known
// to exist: the root, or an object that proj (the values at fields, read
// under the row lock or compared by the statement) shows. The Sets of one
// parent become one concatenation: doc || {k: v, ...} at the root, and
// jsonb_set(doc, parent, (doc #> parent) || {k: v, ...}) below it, which
// is what the merge function does for them, at a fraction of its cost.
// Parameters are appended to args; ok false means the merge function must
// run (an Append or Unset, a parent that may be missing or not an object,
// one op's path inside another's).
func fastMerge(proj map[string]any, fields [][]string, ops []backend.Op, args []any) (expr string, _ []any, ok bool) {
	type group struct {
		parent []string
		obj    []byte
	}
	var groups []*group
	for i, op := range ops {
		if op.Kind != backend.Set || len(op.Path) == 0 {
			return "", args, false
		}
		for _, other := range ops[:i] {
			if hasPrefix(op.Path, other.Path) || hasPrefix(other.Path, op.Path) {
				return "", args, false
			}
		}
		parent := op.Path[:len(op.Path)-1]
		if !knownObject(proj, fields, parent) {
			return "", args, false
		}
		var g *group
		for _, h := range groups {
			if slices.Equal(h.parent, parent) {
				g = h
				break
			}
		}
		if g == nil {
			if len(groups) == maxFastParents {
				return "", args, false
			}
			g = &group{parent: parent, obj: []byte{'{'}}
			groups = append(groups, g)
		} else {
			g.obj = append(g.obj, ',')
		}
		var err error
		if g.obj, err = docjson.Append(g.obj, op.Path[len(op.Path)-1]); err != nil {
			return "", args, false
		}
		g.obj = append(g.obj, ':')
		if g.obj, err = docjson.Append(g.obj, op.Value); err != nil {
			return "", args, false
		}
	}
	expr = "doc"
	for _, g := range groups {
		args = append(args, string(append(g.obj, '}')))
		obj := "$" + strconv.Itoa(len(args)) + "::jsonb"
		if len(g.parent) == 0 {
			expr = "(" + expr + " || " + obj + ")"
			continue
		}
		args = append(args, g.parent)
		p := "$" + strconv.Itoa(len(args)) + "::text[]"
		expr = "jsonb_set(" + expr + ", " + p + ", (doc #> " + p + ") || " + obj + ")"
	}
	return expr, args, true
}

// hasPrefix reports whether prefix is path or a path above it.
func hasPrefix(path, prefix []string) bool {
	return len(prefix) <= len(path) && slices.Equal(path[:len(prefix)], prefix)
}

// knownObject reports whether the object at p exists for sure in a
// document of which proj holds the values at fields: p is the root, or p
// is one of fields and proj holds an object there, or proj holds a value
// at one of fields below p (a value can only be reached through objects;
// a tagged value has no keys but $-keys, which no field has).
func knownObject(proj map[string]any, fields [][]string, p []string) bool {
	if len(p) == 0 {
		return true
	}
	for _, f := range fields {
		if !hasPrefix(f, p) {
			continue
		}
		v, ok := backend.Lookup(proj, f)
		if !ok {
			continue
		}
		if len(f) > len(p) {
			return true
		}
		if _, obj := v.(map[string]any); obj {
			return true
		}
	}
	return false
}
