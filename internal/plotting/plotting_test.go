package plotting_test

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/recordlab/go-record/internal/plotting"
)

func TestParseColor(t *testing.T) {
	red := color.NRGBA{255, 0, 0, 255}
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
		{"C1", plotting.Palette[1]},
		{"tab:blue", plotting.Palette[0]},
		{[]any{1.0, 0.0}, nil},
		{[]any{"a", "b", "c"}, nil},
		{[]any{-1.0, 0.0, 0.0}, nil},
		{"#12345", nil},
		{"nope", nil},
		{nil, nil},
	} {
		got, ok := plotting.ParseColor(c.in)
		if ok != (c.want != nil) || ok && got != c.want {
			t.Errorf("ParseColor(%v) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
}

// TestRenderGaps checks that NaN, infinities, lone points and lines with
// no finite point at all render without error.
func TestRenderGaps(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	c := &plotting.Chart{Title: "t", XLabel: "x", YLabel: "y", Width: 300, Height: 200, Lines: []plotting.Line{
		{Label: "gaps", X: []float64{0, 1, 2, 3, 4, 5}, Y: []float64{1, nan, 2, inf, 3, 4}},
		{Label: "all nan", X: []float64{0, 1}, Y: []float64{nan, nan}},
		{Label: "empty"},
	}}
	var buf bytes.Buffer
	if err := c.Render(&buf, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 300 || b.Dy() != 200 {
		t.Errorf("size %v, want 300x200", b)
	}
	empty := &plotting.Chart{Lines: []plotting.Line{{Label: "nothing", Y: []float64{nan}, X: []float64{0}}}}
	buf.Reset()
	if err := empty.Render(&buf, "svg"); err != nil || !strings.Contains(buf.String(), "<svg") {
		t.Errorf("chart without finite points: %v", err)
	}
	if err := c.Render(&buf, "gif"); err == nil {
		t.Error("Render(gif) succeeded")
	}
	if _, err := plotting.Format("x.jpg"); err == nil {
		t.Error(`Format("x.jpg") succeeded`)
	}
}
