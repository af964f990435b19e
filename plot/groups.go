package plot

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/recordlab/go-record/record"
)

// RunGroup is a group of runs to draw as one curve: runs that share a
// configuration and differ, say, by seed.
type RunGroup struct {
	// Label names the group in the legend ("lr=0.1"); Groups adds the
	// number of members.
	Label string
	// Runs are the members.
	Runs []*record.Snapshot
}

// GroupCurve is the mean curve of a group's runs with its spread: at each
// step (or, for long series, each range of steps) the mean over the
// members of their value there, and the sample standard deviation.
type GroupCurve struct {
	// Label is the group's label as given.
	Label string
	// Runs counts the members that have the metric; NonFinite counts the
	// NaN and infinite points of the members, skipped for the mean.
	Runs, NonFinite int
	// Steps are the steps (for a range of steps, the mean of the steps
	// its points were logged at), in order; Mean, Std and N are, at each,
	// the mean over the members, their sample standard deviation (NaN
	// with fewer than 2 members) and how many members had a finite point
	// there.
	Steps, Mean, Std []float64
	N                []int
	// Width is how many steps each point spans: 1 when every step is its
	// own point, more when a long series was averaged over ranges of
	// steps.
	Width int64
}

// GroupChart is the chart of group curves: a line per group for its mean
// and a translucent band for mean ± std, one color per group (Palette).
type GroupChart struct {
	Title, XLabel, YLabel string
	Curves                []GroupCurve
	// Width and Height in pixels; 0 means DefaultWidth and DefaultHeight.
	Width, Height int
}

// groupBuckets bounds the points of a group curve: a series over more
// steps is averaged over equal ranges of steps.
const groupBuckets = seriesBuckets

// Groups returns the chart of the named metric over groups of runs: for
// each group, the mean over its members at each step (members aligned by
// step) with a band of ± one sample standard deviation, in the group's
// color, labelled "lr=0.1 (n=5)". Series are streamed batch by batch
// (record.Snapshot.Series), never held whole: a curve over more than a
// few thousand steps is computed over equal ranges of steps (each
// member's mean over the range, then the mean and spread of those over
// the members), so memory is a few thousand numbers per group whatever
// the series' length; the drawn line is then thinned per pixel column as
// every line of a Chart is. NaN and infinite points are skipped for the
// mean and counted in the legend ("(n=5, 3 NaN/Inf skipped)").
//
// A group without any member that has the metric is left out; if no
// group has it, the error matches record.ErrNotFound.
func Groups(ctx context.Context, metric string, groups []RunGroup) (*GroupChart, error) {
	name := strings.TrimPrefix(metric, "metrics.")
	if name == "" {
		return nil, fmt.Errorf("plot: %w: no metric to plot", record.ErrInvalid)
	}
	c := &GroupChart{XLabel: "step", YLabel: name}
	var coll string
	for _, g := range groups {
		if len(g.Runs) > 0 && coll == "" && g.Runs[0] != nil {
			coll = g.Runs[0].Collection()
		}
		curve, err := groupCurve(ctx, name, g)
		if err != nil {
			return nil, err
		}
		if curve.Runs > 0 {
			c.Curves = append(c.Curves, curve)
		}
	}
	if len(c.Curves) == 0 {
		return nil, fmt.Errorf("plot: %s: no run of %d groups has metric series %s: %w", coll, len(groups), name, record.ErrNotFound)
	}
	c.Title = fmt.Sprintf("%s: %s, mean ± std over %d groups", coll, name, len(c.Curves))
	if len(c.Curves) == 1 {
		c.Title = fmt.Sprintf("%s: %s, mean ± std", coll, name)
	}
	return c, nil
}

// stepRange returns the steps the members' series span, from their
// summaries (metrics.<name>.last_step; steps start at 0) or, where a
// member has none, by reading its series once.
func stepRange(ctx context.Context, name string, runs []*record.Snapshot) (lo, hi int64, found bool, err error) {
	lo, hi = 0, 0
	for _, s := range runs {
		if last, err := s.Int64("metrics." + name + ".last_step"); err == nil {
			if c, _ := s.Int64("metrics." + name + ".count"); c > 0 {
				hi, found = max(hi, last), true
				continue
			}
		}
		if !hasMetric(s, name) {
			continue
		}
		for pts, err := range s.Series(ctx, name) {
			if err != nil {
				return 0, 0, false, err
			}
			for _, p := range pts {
				lo, hi, found = min(lo, p.Step), max(hi, p.Step), true
			}
		}
	}
	return lo, hi, found, nil
}

func hasMetric(s *record.Snapshot, name string) bool {
	_, ok := metricName(s, name)
	return ok
}

// groupCurve computes the curve of one group.
func groupCurve(ctx context.Context, name string, g RunGroup) (GroupCurve, error) {
	out := GroupCurve{Label: g.Label}
	if len(g.Runs) == 0 {
		return out, nil
	}
	if err := check(g.Runs); err != nil {
		return out, err
	}
	lo, hi, ok, err := stepRange(ctx, name, g.Runs)
	if err != nil || !ok {
		return out, err
	}
	for {
		curve, outside, err := bucketed(ctx, name, g, lo, hi)
		if err != nil || !outside {
			return curve, err
		}
		// A step outside the range the summaries gave (a negative step,
		// a summary behind its points): measure the range and start over.
		if lo, hi, err = measure(ctx, name, g.Runs); err != nil {
			return out, err
		}
	}
}

// measure reads the members' series once for their step range.
func measure(ctx context.Context, name string, runs []*record.Snapshot) (lo, hi int64, err error) {
	lo, hi = math.MaxInt64, math.MinInt64
	for _, s := range runs {
		if !hasMetric(s, name) {
			continue
		}
		for pts, err := range s.Series(ctx, name) {
			if err != nil {
				return 0, 0, err
			}
			for _, p := range pts {
				lo, hi = min(lo, p.Step), max(hi, p.Step)
			}
		}
	}
	if lo > hi {
		lo, hi = 0, 0
	}
	return lo, hi, nil
}

// bucketed computes the curve over steps lo..hi in at most groupBuckets
// equal ranges. outside reports a point beyond them.
func bucketed(ctx context.Context, name string, g RunGroup, lo, hi int64) (_ GroupCurve, outside bool, _ error) {
	out := GroupCurve{Label: g.Label}
	span := uint64(hi-lo) + 1
	width := max(1, (span+groupBuckets-1)/groupBuckets)
	nb := int((span + width - 1) / width)
	out.Width = int64(width)
	// Per member: its mean value and mean step in each range.
	mMean, mStep := make([]float64, nb), make([]float64, nb)
	mCount := make([]int, nb)
	// Over members: Welford's mean and sum of squares of the member means.
	n, mean, m2, step := make([]int, nb), make([]float64, nb), make([]float64, nb), make([]float64, nb)
	for _, s := range g.Runs {
		if !hasMetric(s, name) {
			continue
		}
		clear(mMean)
		clear(mStep)
		clear(mCount)
		points := 0
		done, outside, err := memberBuckets(ctx, s, name, lo, hi, width, mMean, mStep, mCount)
		if err != nil || outside {
			return out, outside, err
		}
		if done {
			points = 1
			out.NonFinite += int(metricInt(s, name, "nans"))
		}
		for pts, err := range s.Series(ctx, name) {
			if done {
				break
			}
			if err != nil {
				return out, false, err
			}
			for _, p := range pts {
				points++
				if p.Step < lo || p.Step > hi {
					return out, true, nil
				}
				if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
					out.NonFinite++
					continue
				}
				b := int(uint64(p.Step-lo) / width)
				mCount[b]++
				k := float64(mCount[b])
				// Running means that do not overflow for values near
				// ±MaxFloat64.
				mMean[b] += p.Value/k - mMean[b]/k
				mStep[b] += float64(p.Step)/k - mStep[b]/k
			}
		}
		if points == 0 {
			continue
		}
		out.Runs++
		for b := range nb {
			if mCount[b] == 0 {
				continue
			}
			n[b]++
			k := float64(n[b])
			v := mMean[b]
			d := v - mean[b]
			mean[b] += v/k - mean[b]/k // no overflow near ±MaxFloat64
			if sq := d * (v - mean[b]); !math.IsNaN(sq) {
				m2[b] += sq
			} else { // an infinite difference times zero
				m2[b] = math.Inf(1)
			}
			step[b] += mStep[b]/k - step[b]/k
		}
	}
	for b := range nb {
		if n[b] == 0 {
			continue
		}
		sd := math.NaN()
		if n[b] > 1 {
			sd = math.Sqrt(m2[b] / float64(n[b]-1))
		}
		out.Steps = append(out.Steps, step[b])
		out.Mean = append(out.Mean, mean[b])
		out.Std = append(out.Std, sd)
		out.N = append(out.N, n[b])
	}
	return out, false, nil
}

// memberBuckets fills a member's mean value and mean step per range of
// steps from a downsampled read (Snapshot.DownsampleRange: per-chunk
// summaries where the store keeps them) instead of its points, when its
// series is long and holds no infinite value (infinities would swamp a
// bucket's sum, where the point-by-point mean skips them). A bucket's
// step is the middle of its first and last steps. done is false when the
// member must be read point by point; outside reports a point beyond
// lo..hi.
func memberBuckets(ctx context.Context, s *record.Snapshot, name string, lo, hi int64, width uint64, mMean, mStep []float64, mCount []int) (done, outside bool, err error) {
	count := metricInt(s, name, "count")
	if count <= downsampleAbove || metricInt(s, name, "infs") != 0 || metricInt(s, name, "neg_infs") != 0 {
		return false, false, nil
	}
	buckets, err := s.DownsampleRange(ctx, name, lo, hi, len(mMean))
	if err != nil {
		return false, false, err
	}
	var seen int64
	for _, bk := range buckets {
		seen += bk.Count
		b := int(uint64(bk.From-lo) / width)
		finite := bk.Count - bk.NaNs
		if b >= len(mMean) || bk.From != lo+int64(uint64(b)*width) || math.IsInf(bk.Sum, 0) {
			clear(mMean)
			clear(mStep)
			clear(mCount)
			return false, false, nil // not the layout or the sums expected: read the points
		}
		if finite == 0 {
			continue
		}
		mMean[b] = bk.Sum / float64(finite)
		mStep[b] = float64(bk.First.Step) + (float64(bk.Last.Step)-float64(bk.First.Step))/2
		mCount[b] = int(finite)
	}
	return true, seen != count, nil
}

// metricInt is the integer at metrics.<name>.<field>, 0 when absent.
func metricInt(s *record.Snapshot, name, field string) int64 {
	v, _ := s.Int64("metrics." + name + "." + field)
	return v
}

// Save renders the chart into a file in the format its extension names
// (see FormatOf). The file is written only if rendering succeeds.
func (c *GroupChart) Save(file string) error { return save(file, c.Render) }

// Render writes the chart to w in the given format.
func (c *GroupChart) Render(w io.Writer, format Format) error {
	base := c.chart()
	wpx, hpx := base.size()
	return renderPlot(w, format, wpx, hpx, func() (*gplot.Plot, error) {
		p, err := base.plot(wpx)
		if err != nil {
			return nil, err
		}
		xr, yr := base.ranges()
		for i, cv := range c.Curves {
			col := Palette[i%len(Palette)]
			r, g, b, _ := col.RGBA()
			fill := color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 56}
			for _, poly := range bands(cv, xr, yr, wpx) {
				pg, err := plotter.NewPolygon(poly)
				if err != nil {
					return nil, fmt.Errorf("plot: %s: %w", cv.Label, err)
				}
				pg.Color = fill
				pg.LineStyle.Width = 0
				p.Add(pg)
			}
		}
		// The means again, over the bands.
		for _, l := range base.Lines[2*len(c.Curves):] {
			pts, _, _, _ := prepare(l, xr, yr)
			for _, seg := range segments(reduce(pts, wpx)) {
				if len(seg) < 2 {
					continue // drawn as a dot by Chart.plot
				}
				pl, err := plotter.NewLine(seg)
				if err != nil {
					return nil, fmt.Errorf("plot: %s: %w", l.Label, err)
				}
				pl.LineStyle = draw.LineStyle{Color: l.Color, Width: vg.Points(2.25)}
				p.Add(pl)
			}
		}
		return p, nil
	})
}

// chart is the line chart of the means: a line per group in its color
// and, without a color (transparent, unlabelled), the band edges, so that
// the axes span the bands.
func (c *GroupChart) chart() *Chart {
	out := &Chart{Title: c.Title, XLabel: c.XLabel, YLabel: c.YLabel, Width: c.Width, Height: c.Height}
	clearLine := color.NRGBA{}
	for _, cv := range c.Curves {
		lo, hi := make([]float64, len(cv.Mean)), make([]float64, len(cv.Mean))
		for j, m := range cv.Mean {
			lo[j], hi[j] = math.NaN(), math.NaN()
			if sd := cv.Std[j]; !math.IsNaN(sd) {
				lo[j], hi[j] = m-sd, m+sd
			}
		}
		out.Lines = append(out.Lines,
			Line{Color: clearLine, X: cv.Steps, Y: lo, counted: true},
			Line{Color: clearLine, X: cv.Steps, Y: hi, counted: true})
	}
	for i, cv := range c.Curves {
		out.Lines = append(out.Lines, Line{
			Label: groupLegend(cv), Color: Palette[i%len(Palette)],
			X: cv.Steps, Y: cv.Mean, counted: true,
		})
	}
	return out
}

// groupLegend is a curve's legend entry: "lr=0.1 (n=5)", with the points
// skipped.
func groupLegend(cv GroupCurve) string {
	note := fmt.Sprintf("n=%d", cv.Runs)
	if cv.NonFinite > 0 {
		note += fmt.Sprintf(", %d NaN/Inf skipped", cv.NonFinite)
	}
	if cv.Label == "" {
		return "(" + note + ")"
	}
	return cv.Label + " (" + note + ")"
}

// bands returns the polygons of a curve's ± std band, split where the
// band is undefined (fewer than 2 members), clipped to the axes, with at
// most two points per pixel column on each edge (the column's widest).
func bands(cv GroupCurve, xr, yr span, wpx int) []plotter.XYs {
	type edge struct{ x, lo, hi float64 }
	var out []plotter.XYs
	var run []edge
	flush := func() {
		if len(run) >= 2 {
			poly := make(plotter.XYs, 0, 2*len(run))
			for _, e := range run {
				poly = append(poly, plotter.XY{X: e.x, Y: e.hi})
			}
			for i := len(run) - 1; i >= 0; i-- {
				poly = append(poly, plotter.XY{X: run[i].x, Y: run[i].lo})
			}
			out = append(out, poly)
		}
		run = run[:0]
	}
	colOf := func(x float64) int {
		if xr.max <= xr.min {
			return 0
		}
		return int((x - xr.min) / (xr.max - xr.min) * float64(wpx))
	}
	lastCol := math.MinInt
	for i, x := range cv.Steps {
		m, sd := cv.Mean[i], cv.Std[i]
		if math.IsNaN(sd) || math.IsNaN(m) || math.IsNaN(x) {
			flush()
			lastCol = math.MinInt
			continue
		}
		lo, _ := yr.clip(m - sd)
		hi, _ := yr.clip(m + sd)
		if col := colOf(x); col == lastCol && len(run) > 0 {
			e := &run[len(run)-1] // the column's widest band
			e.lo, e.hi = min(e.lo, lo), max(e.hi, hi)
			continue
		} else {
			lastCol = col
		}
		run = append(run, edge{x, lo, hi})
	}
	flush()
	return out
}
