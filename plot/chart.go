package plot

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/recordlab/go-record/record"
)

// Default size of a chart in pixels, at DPI dots per inch.
const (
	DefaultWidth  = 1000
	DefaultHeight = 600
	DPI           = 100
)

// Format is an output format of a chart.
type Format string

// The formats a chart renders to.
const (
	PNG Format = "png"
	SVG Format = "svg"
	PDF Format = "pdf"
)

// FormatOf returns the format a file name asks for by its extension
// (.png, .svg or .pdf, in any case). Other names are an error matching
// record.ErrInvalid.
func FormatOf(file string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(file)); ext {
	case ".png", ".svg", ".pdf":
		return Format(ext[1:]), nil
	default:
		return "", fmt.Errorf("plot: %s: %w: unknown image format %q (want .png, .svg or .pdf)", file, record.ErrInvalid, ext)
	}
}

// Line is one curve of a chart.
type Line struct {
	// Label names the line in the legend; a line without a label has no
	// legend entry unless some of its values were clipped.
	Label string
	// Color is the line's color; nil takes the next color of Palette.
	Color color.Color
	// Dashed draws the line with the dash pattern numbered Dashed (0 is
	// solid), to tell apart lines of different records that share a color.
	Dashed int
	// X and Y are the points; a point past the shorter of the two is
	// ignored. A point with a NaN coordinate is a gap in the line; values
	// of magnitude above Limit, infinities included, are drawn at the edge
	// of the axis.
	X, Y []float64

	// counted is set by the readers that reduced a long series while
	// reading it: nans and clipped then count the values read, not the
	// points kept.
	counted       bool
	nans, clipped int
}

// Chart is a titled line chart.
type Chart struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	// Width and Height in pixels; 0 means DefaultWidth and DefaultHeight.
	Width, Height int
}

// Save renders the chart into a file in the format its extension names
// (see FormatOf). The file is written only if rendering succeeds.
func (c *Chart) Save(file string) error { return save(file, c.Render) }

// save renders into file, in the format its extension names, with render;
// the file is written only if rendering succeeds.
func save(file string, render func(io.Writer, Format) error) error {
	format, err := FormatOf(file)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, format); err != nil {
		return err
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// renderPlot draws the plot that build returns on a canvas of wpx × hpx
// pixels in the given format, with a margin so that the last tick label
// and the line ends do not touch the edge, and writes it to w.
func renderPlot(w io.Writer, format Format, wpx, hpx int, build func() (*gplot.Plot, error)) error {
	width, height := vg.Length(wpx)*vg.Inch/DPI, vg.Length(hpx)*vg.Inch/DPI
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch format {
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))}
	case SVG:
		canvas = vgsvg.New(width, height)
	case PDF:
		canvas = vgpdf.New(width, height)
	default:
		return fmt.Errorf("plot: %w: unknown image format %q (want png, svg or pdf)", record.ErrInvalid, format)
	}
	p, err := build()
	if err != nil {
		return err
	}
	m := vg.Points(12)
	p.Draw(draw.Crop(draw.New(canvas), m/2, -m, m/2, -m/2))
	if _, err := canvas.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write %s: %w", format, err)
	}
	return nil
}

// Render writes the chart to w in the given format.
func (c *Chart) Render(w io.Writer, format Format) error {
	wpx, hpx := c.size()
	return renderPlot(w, format, wpx, hpx, func() (*gplot.Plot, error) { return c.plot(wpx) })
}

func (c *Chart) size() (int, int) {
	if c.Width <= 0 || c.Height <= 0 {
		return DefaultWidth, DefaultHeight
	}
	return c.Width, c.Height
}

var dashes = [][]vg.Length{
	nil,
	{vg.Points(8), vg.Points(4)},
	{vg.Points(2), vg.Points(3)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// plot builds the gonum plot of the chart, wpx pixels wide.
func (c *Chart) plot(wpx int) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = c.Title
	p.Title.TextStyle.Font = font.From(sans, 18)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	for _, ax := range []*gplot.Axis{&p.X, &p.Y} {
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

	xr, yr := c.ranges()
	next := 0
	for _, l := range c.Lines {
		col := l.Color
		if col == nil {
			col = Palette[next%len(Palette)]
			next++
		}
		style := draw.LineStyle{Color: col, Width: vg.Points(2.25), Dashes: dashes[abs(l.Dashed)%len(dashes)]}
		pts, marks, nans, clipped := prepare(l, xr, yr)
		if l.counted {
			nans, clipped = l.nans, l.clipped
		}
		pts = reduce(pts, wpx)
		if len(marks) > 0 { // clipped values: a triangle on the edge
			s, err := plotter.NewScatter(thin(marks, wpx/4))
			if err != nil {
				return nil, fmt.Errorf("plot: %s: %w", l.Label, err)
			}
			s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: draw.TriangleGlyph{}}
			p.Add(s)
		}
		for _, seg := range segments(pts) {
			if len(seg) == 1 { // a lone point between gaps: a dot, or it would vanish
				s, err := plotter.NewScatter(seg)
				if err != nil {
					return nil, fmt.Errorf("plot: %s: %w", l.Label, err)
				}
				s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
				p.Add(s)
				continue
			}
			pl, err := plotter.NewLine(seg)
			if err != nil {
				return nil, fmt.Errorf("plot: %s: %w", l.Label, err)
			}
			pl.LineStyle = style
			p.Add(pl)
		}
		if label := legend(l.Label, nans, clipped); label != "" {
			p.Legend.Add(label, &plotter.Line{LineStyle: style})
		}
	}
	// The ranges are set, not left to gonum, so that clipped values sit
	// exactly on the edges and a chart without points has unit axes.
	p.X.Min, p.X.Max = xr.min, xr.max
	p.Y.Min, p.Y.Max = yr.min, yr.max
	return p, nil
}

// legend returns a line's legend entry: its label, and what of it could
// not be drawn as it is.
func legend(label string, nans, clipped int) string {
	var notes []string
	if clipped > 0 {
		notes = append(notes, fmt.Sprintf("%d clipped", clipped))
	}
	if nans > 0 && (clipped > 0 || label != "") {
		notes = append(notes, fmt.Sprintf("%d NaN", nans))
	}
	if len(notes) == 0 {
		return label
	}
	note := "(" + strings.Join(notes, ", ") + ")"
	if label == "" {
		return note
	}
	return label + " " + note
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
