package plot

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/recordlab/go-record/record"
)

// ModelLosses is the path of the arrays that Visualize and Losses plot:
// the losses of every model of a record, as the classic example stores
// them (models.<name>.losses, with models.<name>.color and
// models.<name>.label beside them).
const ModelLosses = "models.*.losses"

// Visualize writes the chart of the model losses of snap (see Losses) to
// file, as PNG, SVG or PDF by the file's extension: the classic
// visualize() in one call.
func Visualize(snap *record.Snapshot, file string) error {
	if _, err := FormatOf(file); err != nil {
		return err
	}
	c, err := Losses(snap)
	if err != nil {
		return err
	}
	return c.Save(file)
}

// VisualizeTo writes the chart of the model losses of snap (see Losses)
// to w in the given format.
func VisualizeTo(w io.Writer, format Format, snap *record.Snapshot) error {
	c, err := Losses(snap)
	if err != nil {
		return err
	}
	return c.Render(w, format)
}

// Losses returns the chart of the model losses of one or more records
// against the epoch: a line per array of numbers at ModelLosses, in the
// model's own color (models.<name>.color: [r, g, b] in 0..1 as matplotlib
// writes it, or anything ParseColor reads) and with its own label
// (models.<name>.label), else the next color of Palette and the model's
// name. Models are taken in natural order (model_2 before model_10). With
// several records each record gets its own dash pattern and its id in the
// labels. If no record has model losses, the error matches
// record.ErrNotFound.
func Losses(snaps ...*record.Snapshot) (*Chart, error) {
	if err := check(snaps); err != nil {
		return nil, err
	}
	per := make([][]source, len(snaps))
	for i, s := range snaps {
		lines, err := arraysAt(s, ModelLosses, false)
		if err != nil {
			return nil, err
		}
		per[i] = lines
	}
	c := assemble(snaps, per)
	if len(c.Lines) == 0 {
		return nil, fmt.Errorf("plot: %s: no model losses (%s) to plot: %w", recordsName(snaps), ModelLosses, record.ErrNotFound)
	}
	return c, nil
}

// readers is how many runs Metrics reads at once.
const readers = 4

// Metrics returns the chart of logged metric series of one or more runs
// against their steps: a line per named metric of each run, or without
// names, per metric of each run (record.Snapshot.MetricNames). Series are
// read batch by batch and long ones reduced while reading (see the package
// documentation), so memory does not grow with their length. A run without
// a named metric is skipped; a name that no run has is an error matching
// record.ErrNotFound.
func Metrics(ctx context.Context, snaps []*record.Snapshot, names ...string) (*Chart, error) {
	if err := check(snaps); err != nil {
		return nil, err
	}
	per := make([][]source, len(snaps))
	has := make([][]bool, len(snaps)) // has[i][j]: run i has names[j]
	errs := make([]error, len(snaps))
	// Runs are read a few at a time: each read waits mostly on the
	// database, which serves several readers at once.
	var wg sync.WaitGroup
	sem := make(chan struct{}, readers)
	for i, s := range snaps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			want := names
			if len(names) == 0 {
				want = s.MetricNames()
			}
			has[i] = make([]bool, len(want))
			for j, name := range want {
				name, ok := metricName(s, name)
				if !ok {
					continue
				}
				l, err := seriesOf(ctx, s, name)
				if err != nil {
					errs[i] = err
					return
				}
				has[i][j] = true
				per[i] = append(per[i], l)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first run's error, as a sequential read would give
		}
	}
	found := make([]int, len(names))
	for i := range snaps {
		for j := range names {
			if has[i][j] {
				found[j]++
			}
		}
	}
	for j, n := range found {
		if n == 0 {
			return nil, fmt.Errorf("plot: %s: no metric series %s: %w", recordsName(snaps), names[j], record.ErrNotFound)
		}
	}
	c := assemble(snaps, per)
	if len(c.Lines) == 0 {
		return nil, fmt.Errorf("plot: %s: no metric series to plot: %w", recordsName(snaps), record.ErrNotFound)
	}
	return c, nil
}

// Records returns the chart of what paths name in one or more records:
// what "record plot" draws.
//
// Each path is either a path in the document to an array of numbers,
// plotted against its index (epochs), where a '*' key matches every key of
// an object ("models.*.losses"), or the name of a logged metric (also
// written metrics.<name>), whose series is read from the store as Metrics
// reads it and plotted against its steps. An array whose parent object
// holds "color" and "label" is drawn in that color with that label, as in
// Losses.
//
// Without paths it plots ModelLosses, and for a record with no model
// losses, every metric series it has. With several records each record
// gets its own dash pattern and its id in the labels. A record without
// anything to plot is skipped; a path that no record has, or nothing to
// plot at all, is an error matching record.ErrNotFound; a path to an array
// that is not numbers, one matching record.ErrInvalid.
func Records(ctx context.Context, snaps []*record.Snapshot, paths ...string) (*Chart, error) {
	if err := check(snaps); err != nil {
		return nil, err
	}
	per := make([][]source, len(snaps))
	found := make([]int, len(paths)) // lines each path gave, over all records
	for i, s := range snaps {
		if len(paths) == 0 {
			lines, err := arraysAt(s, ModelLosses, false)
			if err != nil {
				return nil, err
			}
			if len(lines) == 0 {
				for _, name := range s.MetricNames() {
					l, err := seriesOf(ctx, s, name)
					if err != nil {
						return nil, err
					}
					lines = append(lines, l)
				}
			}
			per[i] = lines
			continue
		}
		for j, p := range paths {
			lines, err := resolve(ctx, s, p)
			if err != nil {
				return nil, err
			}
			found[j] += len(lines)
			per[i] = append(per[i], lines...)
		}
	}
	for j, n := range found {
		if n == 0 {
			return nil, fmt.Errorf("plot: %s: no array of numbers or metric series %s: %w", recordsName(snaps), paths[j], record.ErrNotFound)
		}
	}
	c := assemble(snaps, per)
	if len(c.Lines) == 0 {
		what := "model losses (" + ModelLosses + ") or metric series"
		if len(paths) > 0 {
			what = strings.Join(paths, ", ")
		}
		return nil, fmt.Errorf("plot: %s: no %s to plot: %w", recordsName(snaps), what, record.ErrNotFound)
	}
	return c, nil
}

func check(snaps []*record.Snapshot) error {
	if len(snaps) == 0 {
		return fmt.Errorf("plot: no records to plot: %w", record.ErrNotFound)
	}
	if slices.Contains(snaps, nil) {
		return fmt.Errorf("plot: %w: a nil snapshot", record.ErrInvalid)
	}
	return nil
}

// source is a line with what it was read from.
type source struct {
	Line
	name   string // the array's key or the metric's name
	series bool
}

// assemble makes the chart of the lines of each record: titles, axis
// labels, and with several records, ids in the labels and a dash pattern
// per record.
func assemble(snaps []*record.Snapshot, per [][]source) *Chart {
	c := &Chart{Title: recordsName(snaps)}
	var arrays, series, lossy int
	for i, lines := range per {
		for _, l := range lines {
			if len(snaps) > 1 {
				l.Label = snaps[i].ID() + " " + l.Label
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
			c.Lines = append(c.Lines, l.Line)
		}
	}
	switch {
	case series == 0:
		c.XLabel = "epoch"
	case arrays == 0:
		c.XLabel = "step"
	default:
		c.XLabel = "epoch / step"
	}
	c.YLabel = "value"
	if len(c.Lines) > 0 && lossy == len(c.Lines) {
		c.YLabel = "loss"
	}
	return c
}

func recordsName(snaps []*record.Snapshot) string {
	if len(snaps) == 1 {
		return snaps[0].Collection() + " / " + snaps[0].ID()
	}
	return fmt.Sprintf("%s (%d records)", snaps[0].Collection(), len(snaps))
}

// resolve finds what a path names in one record, if anything.
func resolve(ctx context.Context, s *record.Snapshot, path string) ([]source, error) {
	if lines, err := arraysAt(s, path, true); err != nil || len(lines) > 0 {
		return lines, err
	}
	if name, ok := metricName(s, path); ok {
		l, err := seriesOf(ctx, s, name)
		return []source{l}, err
	}
	return nil, nil // the caller reports a path that no record has
}

// metricName returns the metric of s that name names: the metric itself,
// or metrics.<metric>.
func metricName(s *record.Snapshot, name string) (string, bool) {
	have := s.MetricNames()
	if slices.Contains(have, name) {
		return name, true
	}
	if m, ok := strings.CutPrefix(name, "metrics."); ok && slices.Contains(have, m) {
		return m, true
	}
	return "", false
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
					return fmt.Errorf("plot: %s/%s: %s is not an array of numbers: %w", s.Collection(), s.ID(), path, record.ErrInvalid)
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
			if l, ok := parent["label"].(string); ok && l != "" {
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
		slices.SortFunc(names, NaturalCompare)
		for _, k := range names {
			if err := walk(m[k], m, i+1, append(slices.Clip(matched), k)); err != nil {
				return err
			}
		}
		return nil
	}
	// Only the object the walk starts from is copied out of the record:
	// the part of the path before its first '*', or the parent of the
	// array it names.
	start := slices.Index(keys, "*")
	if start < 0 {
		start = len(keys) - 1
	}
	var root any
	if start == 0 {
		root = s.Doc()
	} else if v, ok := s.Get(strings.Join(keys[:start], ".")); ok {
		root = v
	}
	err := walk(root, nil, start, nil)
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

// NaturalCompare orders names as a person reads them, runs of digits by
// their value: "model_2" before "model_10". Losses draws models in this
// order; a page that lists them can follow it.
func NaturalCompare(a, b string) int {
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
