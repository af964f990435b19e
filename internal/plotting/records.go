package plotting

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/recordlab/go-record/record"
)

// ModelLosses is the path Visualize plots when given no paths: the loss
// array of every model of a record, as the classic example stores them.
const ModelLosses = "models.*.losses"

// Visualize builds the chart of one or more records of a collection.
//
// Each path is either a path in the document to an array of numbers,
// plotted against its index (epochs), where a '*' key matches every key of
// an object ("models.*.losses"), or the name of a logged metric (also
// written metrics.<name>), whose series is read from the store and plotted
// against its steps. A plotted array whose parent object holds "color"
// ([r, g, b] in 0..1, [r, g, b] in 0..255, "#rrggbb" or a matplotlib name
// such as "tab:blue" or "C1") and "label" is drawn in that color with that
// label.
//
// Without paths it plots ModelLosses, and for a record with no model
// losses, every metric series it has. With several records each record
// gets its own dash pattern and its id in the labels. A record without
// anything to plot is skipped; if no record has anything, the error
// matches record.ErrNotFound.
func Visualize(ctx context.Context, snaps []*record.Snapshot, paths ...string) (*Chart, error) {
	if len(snaps) == 0 {
		return nil, fmt.Errorf("plotting: no records to plot: %w", record.ErrNotFound)
	}
	c := &Chart{}
	var arrays, series, lossy, total int
	found := make([]int, len(paths)) // lines each path gave, over all records
	for i, s := range snaps {
		var lines []source
		var err error
		if len(paths) == 0 {
			lines, err = arraysAt(s, ModelLosses, false)
			if err == nil && len(lines) == 0 {
				for _, name := range s.MetricNames() {
					l, err := seriesOf(ctx, s, name)
					if err != nil {
						return nil, err
					}
					lines = append(lines, l)
				}
			}
		} else {
			for j, p := range paths {
				l, err := resolve(ctx, s, p)
				if err != nil {
					return nil, err
				}
				found[j] += len(l)
				lines = append(lines, l...)
			}
		}
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			if len(snaps) > 1 {
				l.Label = s.ID() + " " + l.Label
				l.Dashed = i
			}
			if l.series {
				series++
			} else {
				arrays++
			}
			if strings.Contains(strings.ToLower(l.name), "loss") {
				lossy++
			}
			total++
			c.Lines = append(c.Lines, l.Line)
		}
	}
	for j, n := range found {
		if n == 0 {
			return nil, fmt.Errorf("plotting: %s: no array of numbers or metric series %s: %w", recordsName(snaps), paths[j], record.ErrNotFound)
		}
	}
	if total == 0 {
		what := "model losses (" + ModelLosses + ") or metric series"
		if len(paths) > 0 {
			what = strings.Join(paths, ", ")
		}
		return nil, fmt.Errorf("plotting: %s: no %s to plot: %w", recordsName(snaps), what, record.ErrNotFound)
	}
	c.Title = recordsName(snaps)
	switch {
	case series == 0:
		c.XLabel = "epoch"
	case arrays == 0:
		c.XLabel = "step"
	default:
		c.XLabel = "epoch / step"
	}
	c.YLabel = "value"
	if lossy == total {
		c.YLabel = "loss"
	}
	return c, nil
}

func recordsName(snaps []*record.Snapshot) string {
	if len(snaps) == 1 {
		return snaps[0].Collection() + " / " + snaps[0].ID()
	}
	return fmt.Sprintf("%s (%d records)", snaps[0].Collection(), len(snaps))
}

// source is a line with what it was read from.
type source struct {
	Line
	name   string // the array's key or the metric's name
	series bool
}

// resolve finds what a path names in one record, if anything.
func resolve(ctx context.Context, s *record.Snapshot, path string) ([]source, error) {
	if lines, err := arraysAt(s, path, true); err != nil || len(lines) > 0 {
		return lines, err
	}
	name := strings.TrimPrefix(path, "metrics.")
	if slices.Contains(s.MetricNames(), name) {
		l, err := seriesOf(ctx, s, name)
		return []source{l}, err
	}
	if slices.Contains(s.MetricNames(), path) {
		l, err := seriesOf(ctx, s, path)
		return []source{l}, err
	}
	return nil, nil // Visualize reports a path that no record has
}

func seriesOf(ctx context.Context, s *record.Snapshot, name string) (source, error) {
	ser, err := s.LoadSeries(ctx, name)
	if err != nil {
		return source{}, fmt.Errorf("plotting: read series %s of %s/%s: %w", name, s.Collection(), s.ID(), err)
	}
	x := make([]float64, len(ser.Steps))
	for i, st := range ser.Steps {
		x[i] = float64(st)
	}
	return source{Line: Line{Label: name, X: x, Y: ser.Values}, name: name, series: true}, nil
}

// arraysAt returns a line per array of numbers matched by a dotted path
// whose keys may be '*'. strict makes a matched array that is not numbers
// an error; otherwise it is skipped.
func arraysAt(s *record.Snapshot, path string, strict bool) ([]source, error) {
	keys := strings.Split(path, ".")
	var out []source
	var walk func(v any, parent map[string]any, i int, matched []string) error
	walk = func(v any, parent map[string]any, i int, matched []string) error {
		if i == len(keys) {
			arr, ok := v.([]any)
			if !ok {
				return nil
			}
			ys, ok := numbers(arr)
			if !ok {
				if strict {
					return fmt.Errorf("plotting: %s/%s: %s is not an array of numbers: %w", s.Collection(), s.ID(), path, record.ErrInvalid)
				}
				return nil
			}
			xs := make([]float64, len(ys))
			for j := range xs {
				xs[j] = float64(j)
			}
			name := keys[len(keys)-1]
			label := path
			if len(matched) > 0 {
				label = strings.Join(matched, " ")
			}
			if l, ok := parent["label"].(string); ok && l != "" && parent[name] != nil {
				label = l
			}
			var col color.Color
			if parent != nil {
				col, _ = ParseColor(parent["color"])
			}
			out = append(out, source{Line: Line{Label: label, Color: col, X: xs, Y: ys}, name: name})
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if keys[i] != "*" {
			next, ok := m[keys[i]]
			if !ok {
				return nil
			}
			return walk(next, m, i+1, matched)
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		slices.SortFunc(names, naturalCompare)
		for _, k := range names {
			if err := walk(m[k], m, i+1, append(slices.Clip(matched), k)); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(s.Doc(), nil, 0, nil)
	return out, err
}

// numbers converts an array of numbers (null is NaN).
func numbers(arr []any) ([]float64, bool) {
	out := make([]float64, len(arr))
	for i, e := range arr {
		switch x := e.(type) {
		case float64:
			out[i] = x
		case int64:
			out[i] = float64(x)
		case nil:
			out[i] = math.NaN()
		default:
			return nil, false
		}
	}
	return out, true
}

// naturalCompare orders "model_2" before "model_10".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.ParseUint(strings.TrimLeft(a[:da], "0")+"0", 10, 64)
			nb, _ := strconv.ParseUint(strings.TrimLeft(b[:db], "0")+"0", 10, 64)
			if da < 19 && db < 19 && na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			if c := strings.Compare(a[:da], b[:db]); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// ParseColor reads a color as records store it: [r, g, b] or [r, g, b, a]
// with components in 0..1 (matplotlib's form) or 0..255, "#rgb",
// "#rrggbb", a basic color name ("red", "k"), or a matplotlib tab10 name
// ("tab:blue", "C0").
func ParseColor(v any) (color.Color, bool) {
	switch x := v.(type) {
	case []any:
		if len(x) != 3 && len(x) != 4 {
			return nil, false
		}
		f, ok := numbers(x)
		if !ok {
			return nil, false
		}
		scale := 255.0
		for _, c := range f {
			if !(c >= 0 && c <= 255) {
				return nil, false
			}
			if c > 1 {
				scale = 1
			}
		}
		ch := func(c float64) uint8 { return uint8(math.Round(c * scale)) }
		out := color.NRGBA{R: ch(f[0]), G: ch(f[1]), B: ch(f[2]), A: 255}
		if len(f) == 4 {
			out.A = ch(f[3])
		}
		return out, true
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		if c, ok := named[s]; ok {
			return c, true
		}
		if len(s) == 2 && s[0] == 'c' && s[1] >= '0' && s[1] <= '9' {
			return Palette[s[1]-'0'], true
		}
		if strings.HasPrefix(s, "#") {
			h := s[1:]
			if len(h) == 3 {
				h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
			}
			if len(h) != 6 {
				return nil, false
			}
			n, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				return nil, false
			}
			return rgb(uint8(n>>16), uint8(n>>8), uint8(n)), true
		}
	}
	return nil, false
}

var named = map[string]color.Color{
	"b": rgb(0, 0, 255), "blue": rgb(0, 0, 255),
	"g": rgb(0, 128, 0), "green": rgb(0, 128, 0),
	"r": rgb(255, 0, 0), "red": rgb(255, 0, 0),
	"c": rgb(0, 191, 191), "cyan": rgb(0, 255, 255),
	"m": rgb(191, 0, 191), "magenta": rgb(255, 0, 255),
	"y": rgb(191, 191, 0), "yellow": rgb(255, 255, 0),
	"k": rgb(0, 0, 0), "black": rgb(0, 0, 0),
	"w": rgb(255, 255, 255), "white": rgb(255, 255, 255),
	"orange": rgb(255, 165, 0), "purple": rgb(128, 0, 128), "gray": rgb(128, 128, 128), "grey": rgb(128, 128, 128),
	"brown": rgb(165, 42, 42), "pink": rgb(255, 192, 203),
	"tab:blue": Palette[0], "tab:orange": Palette[1], "tab:green": Palette[2], "tab:red": Palette[3],
	"tab:purple": Palette[4], "tab:brown": Palette[5], "tab:pink": Palette[6], "tab:gray": Palette[7],
	"tab:grey": Palette[7], "tab:olive": Palette[8], "tab:cyan": Palette[9],
}
