package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// A Merge runs as one UPDATE statement that edits the stored JSONB with
// SQLite's jsonb_set, jsonb_insert and jsonb_remove, so that no Go code
// decodes or re-encodes the document:
//
//	UPDATE t SET doc = jsonb_remove(jsonb_insert(jsonb_set(doc, P, json(V), ...),
//	                                             P, json('[]'), P[#], json(E), ...),
//	                                P, ...), updated_at = ?
//	WHERE collection = ? AND id = ?
//	  AND <each parent of a path is missing or an object, not a tagged value>
//	  AND <each Append target is missing or an array>
//
// Package record guarantees that no path of one Merge is a prefix of
// another, so the ops commute: the statement applies the Sets first, then
// the Appends, then the Unsets, and checks every op against the document
// as it was. The checks are what SQLite's functions do not do themselves:
// json_set silently changes nothing where a path runs through a scalar or
// an array, and it would add a member to a tagged value ({"$float":"NaN"}),
// which record reads as a scalar. A statement that matches no row
// therefore means "absent or conflicting"; the Merge then runs in Go
// (mergeGo), which tells the two apart and names the conflicting path.
//
// A parent P passes when the first three characters of its JSON text
// (doc -> P), or "{}" where it is missing, followed by "x", match
// '{[}"][^$]*': an empty object, or an object whose first key does not
// start with '$' (record keys never do; tags always do). Each check is one
// call on the document, with no table-valued function: on a full record
// the statement then costs about what a bare json_set does.
//
// Values and paths are bound parameters: values as docjson text, which
// json() parses keeping each number's text as it is (so float64 bits and
// int64 extremes survive), paths as SQLite JSON path text built here.

// maxMergeParams bounds the parameters of one merge statement, below
// SQLite's SQLITE_MAX_VARIABLE_NUMBER (32766); a Merge that needs more
// runs in Go.
const maxMergeParams = 30000

// maxMergeChecks bounds the checks (distinct parents and Append targets)
// of one merge statement, below SQLite's expression depth limit (1000) for
// the chain of ANDs; a Merge that needs more runs in Go.
const maxMergeChecks = 500

// maxCachedMergeParams is the most parameters of a merge statement kept
// prepared: larger ones (an Update of hundreds of fields, an Append of
// hundreds of elements) are prepared for the one call.
const maxCachedMergeParams = 128

// maxFuncArgs is the most arguments an SQL function call takes
// (SQLITE_MAX_FUNCTION_ARG as built into modernc.org/sqlite): longer
// lists of pairs are split into nested calls.
const maxFuncArgs = 127

// mergeShape is what the SQL text of a merge statement depends on.
type mergeShape struct {
	sets    int // (path, value) pairs of json_set
	inserts int // (path, value) pairs of json_insert
	removes int // paths of json_remove
	parents int // parents that must be missing or plain objects
	arrays  int // Append targets that must be missing or arrays
}

// params is the number of ? in the statement.
func (m mergeShape) params() int {
	return 2*m.sets + 2*m.inserts + m.removes + 3 + m.parents + m.arrays
}

func (m mergeShape) key() string {
	b := []byte("write: merge")
	for _, n := range []int{m.sets, m.inserts, m.removes, m.parents, m.arrays} {
		b = strconv.AppendInt(append(b, ' '), int64(n), 10)
	}
	return string(b)
}

// mergeCall is one call of json_set, json_insert or json_remove in a
// merge statement: fn is "set", "insert" or "remove".
type mergeCall struct {
	fn     string
	params int // pairs of path and value, or paths for remove
}

// calls returns the JSON function calls of the statement, innermost
// first: the Sets, then the Appends, then the Unsets, each in calls of at
// most maxFuncArgs arguments.
func (m mergeShape) calls() []mergeCall {
	var calls []mergeCall
	for _, g := range []struct {
		fn   string
		n    int
		args int // arguments per pair
	}{
		{"set", m.sets, 2},
		{"insert", m.inserts, 2},
		{"remove", m.removes, 1},
	} {
		per := (maxFuncArgs - 1) / g.args
		for n := g.n; n > 0; n -= per {
			calls = append(calls, mergeCall{g.fn, min(n, per)})
		}
	}
	return calls
}

// sql returns the statement's text for the documents table t (quoted).
// Every call passes SQLite's binary JSONB on (jsonb_set, ...), the form
// the document is stored in (see schemaVersion).
func (m mergeShape) sql(t string) string {
	var sb strings.Builder
	sb.WriteString(`UPDATE ` + t + ` SET doc = `)
	expr := "doc"
	calls := m.calls()
	if len(calls) == 0 {
		expr = "jsonb(doc)"
	}
	for _, c := range calls {
		fn := "jsonb_" + c.fn
		param := ", ?"
		if c.fn != "remove" {
			param = ", ?, json(?)"
		}
		expr = fn + "(" + expr + strings.Repeat(param, c.params) + ")"
	}
	sb.WriteString(expr)
	sb.WriteString(`, updated_at = ? WHERE collection = ? AND id = ?`)
	for range m.parents {
		sb.WriteString(` AND coalesce(substr(doc -> ?, 1, 3), '{}') || 'x' GLOB '{[}"][^$]*'`)
	}
	for range m.arrays {
		sb.WriteString(` AND coalesce(json_type(doc, ?), 'array') = 'array'`)
	}
	return sb.String()
}

// mergePlan is a merge statement's shape and arguments, built by planMerge.
type mergePlan struct {
	shape                  mergeShape
	sets, inserts, removes []any
	parents, arrays        []any // JSON paths
}

// planMerge translates ops into a merge statement; false when the ops
// need more parameters or checks than one statement takes, or hold a kind
// it does not know (mergeGo reports that).
func planMerge(ops []backend.Op) (*mergePlan, bool, error) {
	p := &mergePlan{}
	var seen map[string]bool // parents already checked, once there are many
	for _, op := range ops {
		path, ends := mergePath(op.Path)
		// Every proper prefix of the path must be missing or an object.
		for _, end := range ends[:len(ends)-1] {
			pre := path[:end]
			if seen == nil && len(p.parents) >= 8 {
				seen = map[string]bool{}
				for _, q := range p.parents {
					seen[q.(string)] = true
				}
			}
			switch {
			case seen != nil && seen[pre]:
				continue
			case seen == nil && slices.Contains(p.parents, any(pre)):
				continue
			}
			if seen != nil {
				seen[pre] = true
			}
			p.parents = append(p.parents, pre)
		}
		switch op.Kind {
		case backend.Set:
			v, err := docjson.Marshal(op.Value)
			if err != nil {
				return nil, false, err
			}
			p.sets = append(p.sets, path, string(v))
		case backend.Append:
			elems, ok := op.Value.([]any)
			if !ok {
				return nil, false, nil
			}
			p.arrays = append(p.arrays, path)
			// json_insert creates the array where it is missing (with
			// its parents) and leaves an existing one; then each element
			// goes at its end.
			p.inserts = append(p.inserts, path, "[]")
			for _, e := range elems {
				v, err := docjson.Marshal(e)
				if err != nil {
					return nil, false, err
				}
				p.inserts = append(p.inserts, path+"[#]", string(v))
			}
		case backend.Unset:
			p.removes = append(p.removes, path)
		default:
			return nil, false, nil
		}
	}
	p.shape = mergeShape{
		sets:    len(p.sets) / 2,
		inserts: len(p.inserts) / 2,
		removes: len(p.removes),
		parents: len(p.parents),
		arrays:  len(p.arrays),
	}
	ok := p.shape.params() <= maxMergeParams && p.shape.parents+p.shape.arrays <= maxMergeChecks
	return p, ok, nil
}

// args returns the statement's arguments in the order of its parameters.
func (p *mergePlan) args(coll, id string, now int64) []any {
	args := make([]any, 0, p.shape.params())
	args = append(args, p.sets...)
	args = append(args, p.inserts...)
	args = append(args, p.removes...)
	args = append(args, now, coll, id)
	args = append(args, p.parents...)
	return append(args, p.arrays...)
}

// mergePath returns the SQLite JSON path of a document path, and where
// the path of each of its prefixes ends in it: each key quoted
// ($."a"."b"), which keeps '.', '[' and spaces part of the key. SQLite
// ends a quoted key at the first '"' whatever precedes it, and reads JSON
// escapes in a key holding a backslash, so a key is written as the body
// of a JSON string with '"' as \u0022.
func mergePath(path []string) (string, []int) {
	buf := make([]byte, 0, 16*len(path))
	ends := make([]int, 0, len(path))
	buf = append(buf, '$')
	for _, k := range path {
		buf = append(buf, '.')
		start := len(buf)
		buf, _ = docjson.Append(buf, k) // a string: never fails
		if strings.ContainsRune(k, '"') {
			body := strings.ReplaceAll(string(buf[start+1:len(buf)-1]), `\"`, `\u0022`)
			buf = append(append(append(buf[:start], '"'), body...), '"')
		}
		ends = append(ends, len(buf))
	}
	return string(buf), ends
}

// mergeSQL runs the merge statement of ops; done is false when the
// statement matched no row (the record is absent or an op conflicts with
// it) or the ops do not fit one statement, and nothing was written.
func (b *Backend) mergeSQL(ctx context.Context, coll, id string, ops []backend.Op) (done bool, err error) {
	p, ok, err := planMerge(ops)
	if err != nil {
		return false, fmt.Errorf("%w: %w", backend.ErrInvalid, err)
	}
	if !ok {
		return false, nil
	}
	args := p.args(coll, id, time.Now().UnixMilli())
	shape := p.shape
	res, err := b.execWrite(ctx, shape.key(), func() string { return shape.sql(`"` + b.table + `"`) },
		shape.params() > maxCachedMergeParams, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// execWrite runs one statement on the writer connection by itself (SQLite
// commits it alone, atomically), with the write path's retries and its
// full-disk handling (see write). The statement comes prepared from the
// Backend's statement cache under key, which Close closes; with once, it
// is prepared for this call only (a long statement that is rarely the same
// twice).
func (b *Backend) execWrite(ctx context.Context, key string, text func() string, once bool, args ...any) (sql.Result, error) {
	var res sql.Result
	b.afterFull(ctx)
	err := b.retry(ctx, func() error {
		if once {
			var err error
			res, err = b.w.ExecContext(ctx, text(), args...)
			return err
		}
		st, err := b.writeStmt(ctx, key, text)
		if err != nil {
			return err
		}
		res, err = st.ExecContext(ctx, args...)
		if err != nil && err.Error() == "sql: statement is closed" {
			// The cache was emptied between writeStmt and ExecContext
			// (see read): prepare the statement for this call.
			res, err = b.w.ExecContext(ctx, text(), args...)
		}
		return err
	})
	if isFull(err) {
		b.full.Store(true)
	}
	return res, err
}

// writeStmt returns the statement text() prepared on the writer
// connection, from the Backend's statement cache under key.
func (b *Backend) writeStmt(ctx context.Context, key string, text func() string) (*sql.Stmt, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.stmts[key]; ok {
		return st, nil
	}
	if b.stmts == nil {
		return nil, errors.New("backend is closed")
	}
	st, err := b.w.PrepareContext(ctx, text())
	if err != nil {
		return nil, err
	}
	if len(b.stmts) >= maxStmts {
		for k, old := range b.stmts {
			old.Close() // finalized once the calls still using it are done
			delete(b.stmts, k)
		}
	}
	b.stmts[key] = st
	return st, nil
}
