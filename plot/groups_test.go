package plot_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

// sweepValue is the loss of the run with learning rate lr and seed at step.
func sweepValue(lr float64, seed, step int) float64 {
	return lr*float64(step) + float64(seed*seed)/10
}

// TestGroupsSweep draws 3 learning rates x 5 seeds; one run is shorter,
// one logs NaN and +Inf. The curves hold, at sampled steps, the mean and
// sample std computed here, the member counts, and the skipped points.
func TestGroupsSweep(t *testing.T) {
	store := openStore(t)
	lrs := []float64{0.1, 0.01, 0.001}
	var groups []plot.RunGroup
	for _, lr := range lrs {
		g := plot.RunGroup{Label: fmt.Sprintf("lr=%g", lr)}
		for seed := range 5 {
			steps := 50
			if lr == 0.01 && seed == 4 {
				steps = 30 // ends early: steps 30.. have 4 members
			}
			g.Runs = append(g.Runs, create(t, store, fmt.Sprintf("lr%g-s%d", lr, seed), func(rec *record.Record) {
				for i := range steps {
					v := sweepValue(lr, seed, i)
					if lr == 0.001 && seed == 2 && (i == 7 || i == 8) {
						v = []float64{nan, inf}[i-7] // skipped at steps 7 and 8
					}
					rec.Log(int64(i), record.Metrics{"loss": v})
				}
			}))
		}
		groups = append(groups, g)
	}
	groups = append(groups, plot.RunGroup{Label: "empty"})
	c, err := plot.Groups(t.Context(), "metrics.loss", groups)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Curves) != 3 {
		t.Fatalf("%d curves, want 3 (the empty group left out)", len(c.Curves))
	}
	for gi, lr := range lrs {
		cv := c.Curves[gi]
		if cv.Runs != 5 || cv.Width != 1 || len(cv.Steps) != 50 {
			t.Fatalf("%s: %d runs, width %d, %d steps; want 5, 1, 50", cv.Label, cv.Runs, cv.Width, len(cv.Steps))
		}
		for _, step := range []int{0, 7, 8, 29, 30, 49} {
			var vals []float64
			for seed := range 5 {
				if lr == 0.01 && seed == 4 && step >= 30 || lr == 0.001 && seed == 2 && (step == 7 || step == 8) {
					continue
				}
				vals = append(vals, sweepValue(lr, seed, step))
			}
			mean, sd := meanStd(vals)
			if cv.Steps[step] != float64(step) || cv.N[step] != len(vals) ||
				!approxEq(cv.Mean[step], mean) || !approxEq(cv.Std[step], sd) {
				t.Errorf("%s step %d: step %v n %d mean %v std %v; want n %d mean %v std %v",
					cv.Label, step, cv.Steps[step], cv.N[step], cv.Mean[step], cv.Std[step], len(vals), mean, sd)
			}
		}
	}
	if got := c.Curves[2].NonFinite; got != 2 {
		t.Errorf("lr=0.001 skipped %d points, want 2", got)
	}
	var svg bytes.Buffer
	if err := c.Render(&svg, plot.SVG); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lr=0.1 (n=5)", "lr=0.01 (n=5)", "lr=0.001 (n=5, 2 NaN/Inf skipped)"} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("the legend lacks %q", want)
		}
	}
	if err := c.Render(&bytes.Buffer{}, plot.PDF); err != nil {
		t.Error(err)
	}
	// The PNG shows each group's line and, lighter, its band.
	var buf bytes.Buffer
	if err := c.Render(&buf, plot.PNG); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, buf.Bytes())
	for i := range 3 {
		if n := count(img, plot.Palette[i].(color.NRGBA)); n < 200 {
			t.Errorf("group %d: %d pixels of its color", i, n)
		}
	}
	if n := bandPixels(img, plot.Palette[0].(color.NRGBA)); n < 1000 {
		t.Errorf("the band of lr=0.1 covers %d pixels", n)
	}
	file := t.TempDir() + "/g.png"
	if err := c.Save(file); err != nil {
		t.Fatal(err)
	}
	decode(t, file)
}

// TestGroupsLongSeries averages 200,000 steps over ranges of steps: the
// curve keeps a few thousand points, spans every step, and each point's
// mean is the members' mean over its range.
func TestGroupsLongSeries(t *testing.T) {
	const n = 200_000
	store := openStore(t)
	var g plot.RunGroup
	for k := range 2 {
		g.Runs = append(g.Runs, create(t, store, fmt.Sprintf("long%d", k), func(rec *record.Record) {
			for i := range n {
				rec.Log(int64(i), record.Metrics{"loss": float64(i + k)})
			}
		}))
	}
	c, err := plot.Groups(t.Context(), "loss", []plot.RunGroup{g})
	if err != nil {
		t.Fatal(err)
	}
	cv := c.Curves[0]
	if len(cv.Steps) > 4096 || len(cv.Steps) < 1000 || cv.Width < 2 {
		t.Fatalf("%d points of width %d for %d steps", len(cv.Steps), cv.Width, n)
	}
	for j := range cv.Steps {
		// Member k's mean over a range is its mean step + k; the steps'
		// mean is the same for both members.
		if want := cv.Steps[j] + 0.5; !approxEq(cv.Mean[j], want) || !approxEq(cv.Std[j], math.Sqrt(0.5)) {
			t.Fatalf("point %d at %v: mean %v std %v, want %v, %v", j, cv.Steps[j], cv.Mean[j], cv.Std[j], want, math.Sqrt(0.5))
		}
	}
	if first, last := cv.Steps[0], cv.Steps[len(cv.Steps)-1]; first > float64(cv.Width) || last < n-1-float64(cv.Width) {
		t.Errorf("steps %v..%v, want about 0..%d", first, last, n-1)
	}
}

// TestGroupsHostile draws groups of extreme values and labels: every
// format renders, the means stay finite where the values are, and a
// label with quotes and markup comes out escaped in SVG.
func TestGroupsHostile(t *testing.T) {
	store := openStore(t)
	vals := [][]float64{
		{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 0, nan, math.Inf(-1)},
		{math.MaxFloat64, -math.MaxFloat64, -math.SmallestNonzeroFloat64, 1e-300, 1, 2},
	}
	var g plot.RunGroup
	g.Label = "<script>alert(\"x\")</script> \\ \x01"
	for k, vs := range vals {
		g.Runs = append(g.Runs, create(t, store, fmt.Sprintf("odd%d", k), func(rec *record.Record) {
			for i, v := range vs {
				rec.Log(int64(i)-2, record.Metrics{"loss": v}) // negative steps too
			}
		}))
	}
	c, err := plot.Groups(t.Context(), "loss", []plot.RunGroup{g})
	if err != nil {
		t.Fatal(err)
	}
	cv := c.Curves[0]
	if len(cv.Steps) != 6 || cv.Steps[0] != -2 || cv.NonFinite != 2 {
		t.Fatalf("steps %v, %d skipped", cv.Steps, cv.NonFinite)
	}
	if cv.Mean[0] != math.MaxFloat64 || cv.Mean[1] != -math.MaxFloat64 || cv.Std[0] != 0 || cv.N[4] != 1 || !math.IsNaN(cv.Std[4]) {
		t.Errorf("means %v, stds %v, n %v", cv.Mean, cv.Std, cv.N)
	}
	for _, f := range []plot.Format{plot.PNG, plot.SVG, plot.PDF} {
		var buf bytes.Buffer
		if err := c.Render(&buf, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if f == plot.SVG && strings.Contains(buf.String(), "<script>") {
			t.Error("the SVG holds the label's markup unescaped")
		}
	}
	if _, err := plot.Groups(t.Context(), "nope", []plot.RunGroup{g}); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("Groups(nope) = %v, want ErrNotFound", err)
	}
	if _, err := plot.Groups(t.Context(), "", []plot.RunGroup{g}); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Groups(\"\") = %v, want ErrInvalid", err)
	}
	if err := c.Render(&bytes.Buffer{}, "gif"); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Render(gif) = %v, want ErrInvalid", err)
	}
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func meanStd(vals []float64) (mean, sd float64) {
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(vals)-1))
}

func approxEq(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*max(1, math.Abs(b))
}

// bandPixels counts pixels tinted by c over white: lighter than c, of
// its hue.
func bandPixels(img image.Image, c color.NRGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if p != (color.NRGBA{255, 255, 255, 255}) && p.B > p.R+20 && p.R > c.R+60 {
				n++
			}
		}
	}
	return n
}
