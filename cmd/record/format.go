package main

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

// machine holds the top-level fields of the host facts.
var machine = []string{"host", "build", "run"}

// params returns the scalar top-level user fields of a document.
func params(doc map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range doc {
		if record.Managed(k) || slices.Contains(machine, k) {
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			continue
		}
		out[k] = v
	}
	return out
}

const maxCell = 40

// cell formats a value for a table: short, one line.
func cell(v any, ok bool) string {
	if !ok {
		return "-"
	}
	var s string
	switch x := v.(type) {
	case nil:
		s = "null"
	case bool:
		s = strconv.FormatBool(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = report.Number(x)
	case string:
		s = x
	case time.Time:
		s = x.UTC().Format("2006-01-02 15:04:05")
	default:
		b, err := record.MarshalValue(v)
		if err != nil {
			s = "?"
		} else {
			s = string(b)
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxCell {
		s = string([]rune(s)[:maxCell-1]) + "…"
	}
	return s
}

// duration formats a duration in seconds.
func duration(v any, ok bool) string {
	var sec float64
	switch x := v.(type) {
	case float64:
		sec = x
	case int64:
		sec = float64(x)
	default:
		return cell(v, ok)
	}
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return report.Number(sec)
	}
	d := time.Duration(sec * float64(time.Second))
	if d < time.Minute {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// indent returns v in the exact JSON form, indented like the Mongo shell
// prints a record (see record.IndentValue).
func indent(v any) (string, error) {
	b, err := record.IndentValue(v)
	return string(b), err
}

// same reports whether two values are identical in the exact JSON form.
func same(a, b any) bool {
	x, err1 := record.MarshalValue(a)
	y, err2 := record.MarshalValue(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// lookup returns the value at path in doc.
func lookup(doc map[string]any, path ...string) (any, bool) {
	var v any = doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
