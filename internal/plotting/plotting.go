// Package plotting draws line charts of records with gonum.org/v1/plot:
// the loss curves of a record's models (the classic visualize(): one line
// per models.<name>.losses in the model's own color and label), or its
// metric series against their steps. The record CLI (cmd/record plot) and
// examples/quickstart share it.
package plotting

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default size of a chart in pixels (at DPI dots per inch).
const (
	DefaultWidth  = 1000
	DefaultHeight = 600
	DPI           = 100
)

// Line is one curve of a chart.
type Line struct {
	// Label names the line in the legend.
	Label string
	// Color is the line's color; nil takes the next color of Palette.
	Color color.Color
	// Dashed draws the line with dash pattern Dashed (0 is solid), to tell
	// apart lines of different records that share a color.
	Dashed int
	// X and Y are the points. A NaN or infinite Y is a gap: the line is
	// split there.
	X, Y []float64
}

// Chart is a titled line chart.
type Chart struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	// Width and Height in pixels; 0 means DefaultWidth and DefaultHeight.
	Width, Height int
}

// Palette is the color cycle for lines without a color of their own
// (matplotlib's tab10, so uncolored records look like the classic plots).
var Palette = []color.Color{
	rgb(0x1f, 0x77, 0xb4), rgb(0xff, 0x7f, 0x0e), rgb(0x2c, 0xa0, 0x2c), rgb(0xd6, 0x27, 0x28),
	rgb(0x94, 0x67, 0xbd), rgb(0x8c, 0x56, 0x4b), rgb(0xe3, 0x77, 0xc2), rgb(0x7f, 0x7f, 0x7f),
	rgb(0xbc, 0xbd, 0x22), rgb(0x17, 0xbe, 0xcf),
}

func rgb(r, g, b uint8) color.Color { return color.NRGBA{R: r, G: g, B: b, A: 255} }

var dashes = [][]vg.Length{
	nil,
	{vg.Points(8), vg.Points(4)},
	{vg.Points(2), vg.Points(3)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

// Format returns the output format for a file name: "png" or "svg".
func Format(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png", ".svg":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("plotting: %s: unknown image format %q (want .png or .svg)", path, ext)
	}
}

// Save renders the chart into a file; the format follows the extension
// (.png or .svg). The file is written only if rendering succeeds.
func (c *Chart) Save(path string) error {
	format, err := Format(path)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := c.Render(&buf, format); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plotting: %w", err)
	}
	return nil
}

// Render writes the chart as "png" or "svg".
func (c *Chart) Render(w io.Writer, format string) error {
	p, err := c.plot()
	if err != nil {
		return err
	}
	wpx, hpx := c.Width, c.Height
	if wpx <= 0 || hpx <= 0 {
		wpx, hpx = DefaultWidth, DefaultHeight
	}
	width, height := vg.Length(wpx)*vg.Inch/DPI, vg.Length(hpx)*vg.Inch/DPI
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch format {
	case "png":
		img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))
		canvas = vgimg.PngCanvas{Canvas: img}
	case "svg":
		canvas = vgsvg.New(width, height)
	default:
		return fmt.Errorf("plotting: unknown image format %q (want png or svg)", format)
	}
	// A margin around the chart, so that the last tick label and the line
	// ends do not touch the image's edge.
	m := vg.Points(12)
	p.Draw(draw.Crop(draw.New(canvas), m/2, -m, m/2, -m/2))
	if _, err := canvas.WriteTo(w); err != nil {
		return fmt.Errorf("plotting: write %s: %w", format, err)
	}
	return nil
}

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func (c *Chart) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = c.Title
	p.Title.TextStyle.Font = font.From(sans, 18)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, 15)
		ax.Tick.Label.Font = font.From(sans, 13)
		ax.Padding = vg.Points(4)
	}
	p.Legend.TextStyle.Font = font.From(sans, 13)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(28)
	p.Legend.Padding = vg.Points(4)
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(10), -vg.Points(8)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 215}
	grid.Horizontal.Color = color.Gray{Y: 215}
	p.Add(grid)

	next := 0
	finite := 0
	for _, l := range c.Lines {
		col := l.Color
		if col == nil {
			col = Palette[next%len(Palette)]
			next++
		}
		style := draw.LineStyle{Color: col, Width: vg.Points(2.25), Dashes: dashes[l.Dashed%len(dashes)]}
		for _, seg := range segments(l.X, l.Y) {
			finite += len(seg)
			if len(seg) == 1 { // a lone point between gaps: a dot, or it would vanish
				s, err := plotter.NewScatter(seg)
				if err != nil {
					return nil, fmt.Errorf("plotting: %s: %w", l.Label, err)
				}
				s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
				p.Add(s)
				continue
			}
			pl, err := plotter.NewLine(seg)
			if err != nil {
				return nil, fmt.Errorf("plotting: %s: %w", l.Label, err)
			}
			pl.LineStyle = style
			p.Add(pl)
		}
		if l.Label != "" {
			p.Legend.Add(l.Label, &plotter.Line{LineStyle: style})
		}
	}
	if finite == 0 {
		// Nothing to scale the axes by: show an empty unit square rather
		// than gonum's degenerate range.
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	}
	return p, nil
}

// segments splits a line at its NaN and infinite points.
func segments(x, y []float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i := range min(len(x), len(y)) {
		if !finiteF(x[i]) || !finiteF(y[i]) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: x[i], Y: y[i]})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func finiteF(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
