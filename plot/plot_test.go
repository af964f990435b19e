package plot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

var (
	red  = color.NRGBA{255, 0, 0, 255}
	blue = color.NRGBA{0, 0, 255, 255}
	nan  = math.NaN()
	inf  = math.Inf(1)
)

func TestParseColor(t *testing.T) {
	for _, c := range []struct {
		in   any
		want color.Color
	}{
		{[]any{1.0, 0.0, 0.0}, red},
		{[]any{int64(255), int64(0), int64(0)}, red},
		{[]any{1.0, 0.0, 0.0, 0.5}, color.NRGBA{255, 0, 0, 128}},
		{"#ff0000", red},
		{"#f00", red},
		{"red", red},
		{"C1", plot.Palette[1]},
		{"tab:blue", plot.Palette[0]},
		{[]any{1.0, 0.0}, nil},
		{[]any{"a", "b", "c"}, nil},
		{[]any{-1.0, 0.0, 0.0}, nil},
		{"#12345", nil},
		{"nope", nil},
		{nil, nil},
	} {
		got, ok := plot.ParseColor(c.in)
		if ok != (c.want != nil) || ok && got != c.want {
			t.Errorf("ParseColor(%v) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
}

func TestFormatOf(t *testing.T) {
	for in, want := range map[string]plot.Format{"a.png": plot.PNG, "b.SVG": plot.SVG, "dir/c.pdf": plot.PDF} {
		if got, err := plot.FormatOf(in); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"x.jpg", "x", "png"} {
		if _, err := plot.FormatOf(in); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("FormatOf(%q) = %v, want ErrInvalid", in, err)
		}
	}
	if err := (&plot.Chart{}).Render(&bytes.Buffer{}, "gif"); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Render(gif) = %v, want ErrInvalid", err)
	}
}

// TestRenderGaps checks that NaN, lone points and lines with no point at
// all render in every format.
func TestRenderGaps(t *testing.T) {
	c := &plot.Chart{Title: "t", XLabel: "x", YLabel: "y", Width: 300, Height: 200, Lines: []plot.Line{
		{Label: "gaps", X: []float64{0, 1, 2, 3, 4, 5}, Y: []float64{1, nan, 2, nan, 3, 4}},
		{Label: "all nan", X: []float64{0, 1}, Y: []float64{nan, nan}},
		{Label: "empty"},
		{Label: "short x", X: []float64{0}, Y: []float64{1, 2, 3}},
	}}
	img := renderPNG(t, c)
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 200 {
		t.Errorf("size %v, want 300x200", b)
	}
	for _, f := range []plot.Format{plot.SVG, plot.PDF} {
		var buf bytes.Buffer
		if err := c.Render(&buf, f); err != nil || buf.Len() < 100 {
			t.Errorf("Render(%s): %d bytes, %v", f, buf.Len(), err)
		}
	}
	if svg := renderSVG(t, &plot.Chart{Lines: []plot.Line{{Label: "nothing", X: []float64{0}, Y: []float64{nan}}}}); !strings.Contains(svg, "<svg") {
		t.Error("chart without drawable points: no svg")
	}
}

// extremes are the values that once made gonum lay out an axis forever.
var extremes = []float64{nan, inf, -inf, math.MaxFloat64, -math.MaxFloat64, -1e308, 1e308, 0.5, -math.SmallestNonzeroFloat64, 1e300, -1e300, 1e-320}

// TestExtremeValues renders, in every format, charts whose points take
// every awkward value, alone and together, on either axis. It asserts no
// time: finishing at all is the test (it hung before clipping).
func TestExtremeValues(t *testing.T) {
	mixed := []float64{0.5, nan, inf, -inf, math.MaxFloat64, -math.MaxFloat64, -1e308, 1e308, 0.25, 0.1}
	idx := make([]float64, len(mixed))
	for i := range idx {
		idx[i] = float64(i)
	}
	charts := map[string]*plot.Chart{
		"y mixed":  {Lines: []plot.Line{{Label: "mixed", X: idx, Y: mixed}}},
		"x mixed":  {Lines: []plot.Line{{Label: "mixed x", X: mixed, Y: idx}}},
		"xy mixed": {Lines: []plot.Line{{X: mixed, Y: mixed}, {Label: "flat", X: idx, Y: make([]float64, len(idx))}}},
	}
	for name, c := range charts {
		for _, f := range []plot.Format{plot.PNG, plot.SVG, plot.PDF} {
			if err := c.Render(&bytes.Buffer{}, f); err != nil {
				t.Errorf("%s as %s: %v", name, f, err)
			}
		}
	}
	// Every pair, alone, constant and single: the axis layout that hung
	// is the same in every format, so SVG, the quickest, is enough.
	for i, a := range extremes {
		for _, b := range extremes[i:] {
			c := &plot.Chart{Width: 200, Height: 150, Lines: []plot.Line{
				{Label: "y", X: []float64{0, 1}, Y: []float64{a, b}},
				{Label: "x", X: []float64{a, b}, Y: []float64{1, 2}},
			}}
			if err := c.Render(io.Discard, plot.SVG); err != nil {
				t.Errorf("%g and %g: %v", a, b, err)
			}
		}
		for _, c := range []*plot.Chart{
			{Width: 200, Height: 150, Lines: []plot.Line{{Label: "one", X: []float64{a}, Y: []float64{a}}}},
			{Width: 200, Height: 150, Lines: []plot.Line{{X: []float64{0, 1, 2}, Y: []float64{a, a, a}}}},
		} {
			if err := c.Render(io.Discard, plot.SVG); err != nil {
				t.Errorf("%g: %v", a, err)
			}
		}
	}
	svg := renderSVG(t, charts["y mixed"])
	if !strings.Contains(svg, "mixed (6 clipped, 1 NaN)") {
		t.Error(`the legend lacks "mixed (6 clipped, 1 NaN)"`)
	}
	if svg := renderSVG(t, charts["xy mixed"]); !strings.Contains(svg, ">(6 clipped, 1 NaN)<") {
		t.Error(`an unlabelled line with clipped values has no "(6 clipped, 1 NaN)" legend entry`)
	}
}

// TestClippedOnTheEdge checks that clipped values are drawn at the top and
// bottom of the chart while the axis fits the other values.
func TestClippedOnTheEdge(t *testing.T) {
	c := &plot.Chart{Width: 400, Height: 300, Lines: []plot.Line{
		{Color: red, X: []float64{0, 1, 2, 3, 4}, Y: []float64{1, 2, 1e308, 2, 1}},
		{Color: blue, X: []float64{0, 1, 2, 3, 4}, Y: []float64{1.5, 1.5, -inf, 1.5, 1.5}},
	}}
	img := renderPNG(t, c)
	top, bottom := rowsOf(img, red), rowsOf(img, blue)
	if len(top) == 0 || len(bottom) == 0 {
		t.Fatalf("red in %d rows, blue in %d", len(top), len(bottom))
	}
	// The spike to the top edge and the dip to the bottom edge span most
	// of the chart's height: the axis was not stretched to 1e308.
	if span := top[len(top)-1] - top[0]; span < 150 {
		t.Errorf("red spans %d rows, want a spike to the top edge", span)
	}
	if span := bottom[len(bottom)-1] - bottom[0]; span < 150 {
		t.Errorf("blue spans %d rows, want a dip to the bottom edge", span)
	}
}

// TestLongLineKeepsSpikes draws 200,000 points with one spike and one
// dip: thinned for drawing, the line still shows both.
func TestLongLineKeepsSpikes(t *testing.T) {
	const n = 200_000
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], y[i] = float64(i), math.Sin(float64(i)/1e4)
	}
	y[66_667], y[133_333] = 10, -10
	img := renderPNG(t, &plot.Chart{Width: 400, Height: 300, Lines: []plot.Line{{Color: red, X: x, Y: y}}})
	rows := rowsOf(img, red)
	if len(rows) == 0 || rows[len(rows)-1]-rows[0] < 200 {
		t.Errorf("red in rows %v, want the spike and the dip to reach the edges", rows)
	}
}

func TestVisualize(t *testing.T) {
	store := openStore(t)
	snap := create(t, store, "run-a", func(rec *record.Record) {
		model(t, rec, "model_0", "small", []any{1.0, 0.0, 0.0}, []float64{1, 0.8, 0.5, 0.4})
		model(t, rec, "model_1", "big", "#0000ff", []float64{0.9, 0.6, nan, 0.2, 0.1})
	})
	dir := t.TempDir()
	for _, name := range []string{"l.png", "l.svg", "l.pdf"} {
		file := filepath.Join(dir, name)
		if err := plot.Visualize(snap, file); err != nil {
			t.Fatalf("Visualize(%s): %v", name, err)
		}
		if fi, err := os.Stat(file); err != nil || fi.Size() < 500 {
			t.Errorf("%s: %v", name, err)
		}
	}
	img := decode(t, filepath.Join(dir, "l.png"))
	for _, c := range []color.NRGBA{red, blue} {
		if n := count(img, c); n < 300 {
			t.Errorf("color %v: %d pixels, want the model's line", c, n)
		}
	}
	var buf bytes.Buffer
	if err := plot.VisualizeTo(&buf, plot.SVG, snap); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"small", "big (1 NaN)", "epoch", "loss", snap.Collection() + " / run-a"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if err := plot.Visualize(snap, filepath.Join(dir, "x.jpg")); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Visualize(x.jpg) = %v, want ErrInvalid", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.jpg")); err == nil {
		t.Error("Visualize(x.jpg) wrote a file")
	}

	bare := create(t, store, "run-b", func(rec *record.Record) { rec.Log(0, record.Metrics{"loss": 1}) })
	if err := plot.Visualize(bare, filepath.Join(dir, "bare.png")); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("Visualize(no models) = %v, want ErrNotFound", err)
	}
	if _, err := plot.Losses(); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("Losses() = %v, want ErrNotFound", err)
	}

	c, err := plot.Losses(snap, bare, snap)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, l := range c.Lines {
		labels = append(labels, fmt.Sprintf("%s/%d", l.Label, l.Dashed))
	}
	if got, want := strings.Join(labels, ","), "run-a small/0,run-a big/0,run-a small/2,run-a big/2"; got != want {
		t.Errorf("lines %s, want %s", got, want)
	}
}

func TestMetrics(t *testing.T) {
	ctx := t.Context()
	store := openStore(t)
	var runs []*record.Snapshot
	for i := range 3 {
		runs = append(runs, create(t, store, fmt.Sprintf("run-%d", i), func(rec *record.Record) {
			for step := range 50 {
				m := record.Metrics{"loss": 1 / float64(step+1+i)}
				if i != 1 {
					m["acc"] = float64(step) / 50
				}
				rec.Log(int64(step), m)
			}
		}))
	}
	c, err := plot.Metrics(ctx, runs, "acc")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Lines) != 2 || c.Lines[0].Label != "run-0 acc" || c.Lines[1].Label != "run-2 acc" || c.XLabel != "step" || c.YLabel != "value" {
		t.Errorf("acc of 3 runs: %d lines %+v, x %q, y %q", len(c.Lines), c.Lines, c.XLabel, c.YLabel)
	}
	if got := c.Lines[1].Y; len(got) != 50 || got[49] != 49.0/50 {
		t.Errorf("run-2 acc: %v", got)
	}
	c, err = plot.Metrics(ctx, runs[:1])
	if err != nil || len(c.Lines) != 2 || c.Title != runs[0].Collection()+" / run-0" {
		t.Errorf("every metric of one run: %+v, %v", c, err)
	}
	c, err = plot.Metrics(ctx, runs, "metrics.loss")
	if err != nil || len(c.Lines) != 3 || c.YLabel != "loss" {
		t.Errorf("metrics.loss of 3 runs: %+v, %v", c, err)
	}
	if _, err := plot.Metrics(ctx, runs, "acc", "nope"); !errors.Is(err, record.ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Metrics(nope) = %v, want ErrNotFound naming it", err)
	}
	if err := c.Render(&bytes.Buffer{}, plot.PNG); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsStepOrder checks that a series logged out of step order, with
// negative and repeated steps, is drawn in step order.
func TestMetricsStepOrder(t *testing.T) {
	store := openStore(t)
	snap := create(t, store, "resumed", func(rec *record.Record) {
		for _, step := range []int64{3, 1, 2, -1, 2} {
			rec.Log(step, record.Metrics{"loss": float64(step)})
		}
	})
	c, err := plot.Metrics(t.Context(), []*record.Snapshot{snap})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(c.Lines[0].X), "[-1 1 2 3]"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
}

// TestMetricsLongSeries reads a long series with a spike, a dip, NaN and
// clipped values: the line keeps few points, the spike, the dip, the
// first and last steps, and counts what it could not draw.
func TestMetricsLongSeries(t *testing.T) {
	const n = 100_000
	store := openStore(t)
	snap := create(t, store, "long", func(rec *record.Record) {
		for i := range n {
			v := math.Sin(float64(i) / 3e3)
			switch i {
			case 33_001:
				v = 5
			case 66_001:
				v = -5
			case 50_000:
				v = nan
			case 80_000:
				v = inf
			case 80_001:
				v = -1e308
			}
			rec.Log(int64(i), record.Metrics{"loss": v})
		}
	})
	c, err := plot.Metrics(t.Context(), []*record.Snapshot{snap}, "loss")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Lines[0]
	if len(l.X) > 4*4096+4096 || len(l.X) < 2000 {
		t.Errorf("the line kept %d points of %d", len(l.X), n)
	}
	lo, hi, gaps := math.Inf(1), math.Inf(-1), 0
	for _, v := range l.Y {
		if math.IsNaN(v) {
			gaps++
			continue
		}
		if math.Abs(v) <= plot.Limit {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if lo != -5 || hi != 5 || gaps != 1 || l.X[0] != 0 || l.X[len(l.X)-1] != n-1 {
		t.Errorf("kept min %v, max %v, %d gaps, steps %v..%v; want -5, 5, 1, 0..%d", lo, hi, gaps, l.X[0], l.X[len(l.X)-1], n-1)
	}
	if svg := renderSVG(t, c); !strings.Contains(svg, "loss (2 clipped, 1 NaN)") {
		t.Error(`the legend lacks "loss (2 clipped, 1 NaN)"`)
	}
}

// TestRecordsExtremes plots arrays and series holding the awkward values
// through Records, as the CLI does.
func TestRecordsExtremes(t *testing.T) {
	store := openStore(t)
	snap := create(t, store, "odd", func(rec *record.Record) {
		model(t, rec, "model_0", "odd", nil, extremes)
		for i, v := range extremes {
			rec.Log(int64(i), record.Metrics{"loss": v})
		}
	})
	c, err := plot.Records(t.Context(), []*record.Snapshot{snap}, "models.*.losses", "loss")
	if err != nil {
		t.Fatal(err)
	}
	if c.XLabel != "epoch / step" || len(c.Lines) != 2 {
		t.Errorf("%d lines, x label %q", len(c.Lines), c.XLabel)
	}
	for _, f := range []plot.Format{plot.PNG, plot.SVG, plot.PDF} {
		if err := c.Render(&bytes.Buffer{}, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := plot.Records(t.Context(), []*record.Snapshot{snap}, "nope"); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("Records(nope) = %v, want ErrNotFound", err)
	}
	if _, err := plot.Records(t.Context(), []*record.Snapshot{snap}, "models.model_0.label"); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("Records(a string) = %v, want ErrNotFound", err)
	}
}

func openStore(t *testing.T) *record.Store {
	t.Helper()
	s, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// create records a run with id in a collection, filled by fill.
func create(t *testing.T, s *record.Store, id string, fill func(*record.Record)) *record.Snapshot {
	t.Helper()
	rec, err := s.Create(t.Context(), "runs", record.WithID(id), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	fill(rec)
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Get(t.Context(), "runs", id)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func model(t *testing.T, rec *record.Record, name, label string, col any, losses []float64) {
	t.Helper()
	m := map[string]any{"label": label, "losses": losses}
	if col != nil {
		m["color"] = col
	}
	if err := rec.UpdateAt(t.Context(), "models", map[string]any{name: m}); err != nil {
		t.Fatal(err)
	}
}

func renderPNG(t *testing.T, c *plot.Chart) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(&buf, plot.PNG); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func renderSVG(t *testing.T, c *plot.Chart) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(&buf, plot.SVG); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func decode(t *testing.T, file string) image.Image {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// count returns the number of pixels of color c.
func count(img image.Image, c color.NRGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}

// rowsOf returns the rows, top to bottom, that hold a pixel of color c.
func rowsOf(img image.Image, c color.NRGBA) []int {
	var rows []int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == c {
				rows = append(rows, y)
				break
			}
		}
	}
	return rows
}
