package tabular

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recordlab/go-record/record"
)

// fixed are the first columns of the runs table, in order.
var fixed = []string{"collection", "id", "status", "created", "ended", "duration", "parent", "error"}

// machine are the top-level fields of the host facts.
var machine = []string{"host", "build", "run"}

// summaryOrder is the order of a metric's summary columns; fields not
// listed follow, sorted.
var summaryOrder = []string{"count", "last", "last_step", "last_time", "min", "min_step", "max", "max_step", "mean", "sum", "finite", "nans", "infs", "neg_infs"}

// kind is the type of one value, as a bit of a column's kind set.
type kind uint8

const (
	kBool kind = 1 << iota
	kInt
	kFloat
	kString
	kTime
	kJSON // an array or an empty object
)

// colType is the type a column is written with.
type colType uint8

const (
	tString colType = iota // also the type of a column of nulls only
	tBool
	tInt
	tFloat
	tTime
	tJSON // STRING of each value's JSON text
)

// cell is one value of a run's row at a column path.
type cell struct {
	path  string
	value any // never nil: nulls are left out
}

// colStats gathers what the values of one column are.
type colStats struct {
	kinds kind
	// inexact is set when an int of the column has no exact float64.
	inexact bool
}

// columns collects the columns of the runs table while the runs stream.
type columns struct {
	stats map[string]*colStats
}

func newColumns() *columns {
	c := &columns{stats: map[string]*colStats{}}
	for _, f := range fixed {
		c.stats[f] = &colStats{}
	}
	return c
}

// add records the types of a row's cells.
func (c *columns) add(row []cell) {
	for _, x := range row {
		st := c.stats[x.path]
		if st == nil {
			st = &colStats{}
			c.stats[x.path] = st
		}
		k := kindOf(x.value)
		st.kinds |= k
		if i, ok := x.value.(int64); ok && (i > 1<<53 || i < -(1<<53)) {
			st.inexact = true
		}
	}
}

// column is one column of the runs table as written.
type column struct {
	name string
	typ  colType
}

// list returns the columns in table order with their types.
func (c *columns) list() []column {
	names := make([]string, 0, len(c.stats))
	for n := range c.stats {
		if !slices.Contains(fixed, n) {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, compareColumns)
	names = append(slices.Clone(fixed), names...)
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n, typ: c.stats[n].typ()}
	}
	return out
}

// group orders params before goals before metrics.
func group(name string) int {
	switch {
	case strings.HasPrefix(name, "metrics."):
		return 2
	case strings.HasPrefix(name, "goals."):
		return 1
	}
	return 0
}

// compareColumns orders the non-fixed columns: params by path, then
// goals, then metrics by name and summary field.
func compareColumns(a, b string) int {
	if c := cmp.Compare(group(a), group(b)); c != 0 {
		return c
	}
	if group(a) != 2 {
		return strings.Compare(a, b)
	}
	// metrics.NAME.FIELD: a metric name has no '.', so the last dot splits.
	ma, fa := splitLast(a)
	mb, fb := splitLast(b)
	if c := strings.Compare(ma, mb); c != 0 {
		return c
	}
	ia, ib := fieldRank(fa), fieldRank(fb)
	if c := cmp.Compare(ia, ib); c != 0 {
		return c
	}
	return strings.Compare(fa, fb)
}

func splitLast(s string) (string, string) {
	i := strings.LastIndexByte(s, '.')
	return s[:i], s[i+1:]
}

func fieldRank(f string) int {
	if i := slices.Index(summaryOrder, f); i >= 0 {
		return i
	}
	return len(summaryOrder)
}

func (s *colStats) typ() colType {
	switch s.kinds {
	case 0:
		return tString
	case kBool:
		return tBool
	case kInt:
		return tInt
	case kFloat:
		return tFloat
	case kInt | kFloat:
		if !s.inexact {
			return tFloat
		}
	case kString:
		return tString
	case kTime:
		return tTime
	}
	return tJSON
}

func kindOf(v any) kind {
	switch v.(type) {
	case bool:
		return kBool
	case int64:
		return kInt
	case float64:
		return kFloat
	case string:
		return kString
	case time.Time:
		return kTime
	}
	return kJSON
}

// flatten returns the cells of a run's row from its document, in no
// particular order. A string or key that is not valid UTF-8 is an
// *record.InvalidError naming its path.
func flatten(doc map[string]any, withMachine bool) ([]cell, error) {
	var row []cell
	var err error
	add := func(path string, v any) {
		if err == nil {
			row, err = appendCells(row, path, v)
		}
	}
	for k, v := range doc {
		switch {
		case slices.Contains(fixed, k):
			add(k, v)
		case k == "goals":
			add(k, v)
		case k == "metrics":
			m, _ := v.(map[string]any)
			for name, s := range m {
				sm, ok := s.(map[string]any)
				if !ok {
					add("metrics."+name, s)
					continue
				}
				sm = summaryCells(sm)
				add("metrics."+name, sm)
			}
		case record.Managed(k):
		case !withMachine && slices.Contains(machine, k):
		default:
			add(k, v)
		}
	}
	return row, err
}

// summaryCells returns a metric summary with last set to the exact last
// value (NaN and ±Inf from last_nonfinite) and last_nonfinite left out.
func summaryCells(sm map[string]any) map[string]any {
	nf, ok := sm["last_nonfinite"].(string)
	if !ok {
		return sm
	}
	out := make(map[string]any, len(sm))
	for k, v := range sm {
		if k != "last_nonfinite" {
			out[k] = v
		}
	}
	switch nf {
	case "NaN":
		out["last"] = math.NaN()
	case "+Inf":
		out["last"] = math.Inf(1)
	case "-Inf":
		out["last"] = math.Inf(-1)
	}
	return out
}

// appendCells appends the cells of v at path: objects are flattened to
// dotted paths, an empty object and an array are one cell each, a null
// none.
func appendCells(row []cell, path string, v any) ([]cell, error) {
	if !utf8.ValidString(path) {
		return row, &record.InvalidError{What: "key", Path: strings.ToValidUTF8(path, "\uFFFD"), Reason: "key is not valid UTF-8"}
	}
	switch x := v.(type) {
	case nil:
		return row, nil
	case map[string]any:
		if len(x) == 0 {
			return append(row, cell{path, x}), nil
		}
		var err error
		for k, e := range x {
			if row, err = appendCells(row, path+"."+k, e); err != nil {
				return row, err
			}
		}
		return row, nil
	case string:
		if !utf8.ValidString(x) {
			return row, invalidString(path)
		}
	case []any:
		if err := validStrings(path, x); err != nil {
			return row, err
		}
	}
	return append(row, cell{path, v}), nil
}

// validStrings checks the strings and keys inside an array.
func validStrings(path string, v any) error {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return invalidString(path)
		}
	case []any:
		for _, e := range x {
			if err := validStrings(path, e); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) {
				return invalidString(path)
			}
			if err := validStrings(path+"."+k, e); err != nil {
				return err
			}
		}
	}
	return nil
}

func invalidString(path string) error {
	return &record.InvalidError{What: "value", Path: path, Reason: "string is not valid UTF-8"}
}
