package serve

import (
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

// cellMax is how many characters of a value a table cell shows.
const cellMax = 80

var funcs = template.FuncMap{
	"statusClass": statusClass,
}

// statusClass is the CSS class of a status; unknown ones get none.
func statusClass(st string) string {
	switch st {
	case record.StatusRunning, record.StatusCompleted, record.StatusFailed, record.StatusInterrupted, record.StatusCrashed:
		return "st-" + st
	}
	return "st-other"
}

// format writes a value for a person: numbers in short form with NaN and
// ±Inf spelled out, times in UTC, strings with control characters quoted,
// short arrays of scalars inline.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return report.Number(x)
	case float32:
		return report.Number(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return formatString(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05Z07:00")
	case []any:
		if len(x) <= 8 && !slices.ContainsFunc(x, isComposite) {
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = format(e)
			}
			return "[" + strings.Join(parts, ", ") + "]"
		}
		return fmt.Sprintf("[%d values]", len(x))
	case map[string]any:
		return fmt.Sprintf("{%d keys}", len(x))
	}
	return fmt.Sprint(v)
}

func isComposite(v any) bool {
	switch v.(type) {
	case []any, map[string]any:
		return true
	}
	return false
}

// formatString shows a string as it is unless it holds control or
// invalid characters, then quoted with Go escapes so they can be seen.
func formatString(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}

// cut shortens text to cellMax characters.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= cellMax {
		return s
	}
	r := []rune(s)
	return string(r[:cellMax-1]) + "…"
}

// field is one flattened value: its dotted path and its text.
type field struct {
	Path, Value string
}

// flatten lists the scalar leaves of v below prefix in path order;
// arrays of scalars stay whole.
func flatten(prefix string, v any, out []field) []field {
	m, ok := v.(map[string]any)
	if !ok {
		return append(out, field{prefix, format(v)})
	}
	if len(m) == 0 {
		return append(out, field{prefix, "{}"})
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out = flatten(p, m[k], out)
	}
	return out
}

// facts are the top-level fields the library captures about the machine
// and the program; they are not parameters.
var facts = []string{"host", "build", "run"}

// isParam reports whether a top-level field is one of the run's own.
func isParam(key string) bool {
	return !record.Managed(key) && !slices.Contains(facts, key) && key != "desc" && key != "models"
}

func isScalar(v any) bool {
	switch v.(type) {
	case nil, []any, map[string]any:
		return false
	}
	return true
}

// splitList splits a comma-separated parameter, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// link is a path with query parameters; empty values are left out so
// that links stay short.
func link(path string, q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}
