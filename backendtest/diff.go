package backendtest

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Diff compares two values of the record value model exactly: floats by
// their bits (so -0 differs from 0; every NaN equals every NaN, as NaN
// payloads are not part of the contract), times by instant and location
// (both must be UTC), and an int64 never equals a float64. It returns ""
// when they match, else every difference as "path: want W (T), got G (T)"
// lines. Unlike cmp.Diff it stays linear on deeply nested arrays.
func Diff(want, got any) string {
	var d differ
	d.walk("", want, got)
	return d.out
}

type differ struct {
	out string
	n   int
}

func (d *differ) report(path string, want, got any) {
	d.n++
	if d.n > 20 {
		return
	}
	if path == "" {
		path = "(top)"
	}
	d.out += fmt.Sprintf("%s: -want %s +got %s\n", path, show(want), show(got))
}

func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%s (%T)", s, v)
}

func (d *differ) walk(path string, want, got any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			d.report(path, want, got)
			return
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			wv, wok := w[k]
			gv, gok := g[k]
			p := path + "." + k
			switch {
			case !wok:
				d.report(p, "(absent)", gv)
			case !gok:
				d.report(p, wv, "(absent)")
			default:
				d.walk(p, wv, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			d.report(path, want, got)
			return
		}
		for i := range w {
			d.walk(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	case float64:
		g, ok := got.(float64)
		if !ok || !(math.Float64bits(w) == math.Float64bits(g) || math.IsNaN(w) && math.IsNaN(g)) {
			d.report(path, want, got)
		}
	case time.Time:
		g, ok := got.(time.Time)
		if !ok || !w.Equal(g) || w.Location() != g.Location() {
			d.report(path, want, got)
		}
	default:
		if want != got {
			d.report(path, want, got)
		}
	}
}

// exact makes cmp compare floats and times as Diff does, for flat values
// such as slices of points.
var exact = cmp.Options{
	cmp.Comparer(func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
	}),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
}
