package plot

import (
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
)

// Limit is the largest magnitude drawn as it is. Values beyond it,
// infinities included, are clipped to the edge of the axis: gonum cannot
// lay out an axis whose span overflows float64 (from -1e308 to 1e308, say)
// and never returns from trying.
const Limit = 1e300

// span is an axis range.
type span struct{ min, max float64 }

// ranges returns the axis ranges of the chart's points: the span of the
// values within Limit, widened a little on a side where values are
// clipped, so that the clipped values on its edge stand apart.
func (c *Chart) ranges() (x, y span) {
	xs, ys := newExtent(), newExtent()
	for _, l := range c.Lines {
		for i := range min(len(l.X), len(l.Y)) {
			if math.IsNaN(l.X[i]) || math.IsNaN(l.Y[i]) {
				continue
			}
			xs.add(l.X[i])
			ys.add(l.Y[i])
		}
	}
	return xs.span(), ys.span()
}

type extent struct {
	lo, hi       float64 // of the values within Limit
	below, above bool    // values beyond -Limit, beyond Limit
}

func newExtent() extent { return extent{lo: math.Inf(1), hi: math.Inf(-1)} }

func (e *extent) add(v float64) {
	switch {
	case v > Limit:
		e.above = true
	case v < -Limit:
		e.below = true
	default:
		e.lo, e.hi = min(e.lo, v), max(e.hi, v)
	}
}

func (e *extent) span() span {
	lo, hi := e.lo, e.hi
	switch {
	case lo > hi: // nothing within Limit
		lo, hi = 0, 1
		if e.below && !e.above {
			lo, hi = -1, 0
		}
		return span{lo, hi}
	case lo == hi:
		pad := math.Abs(lo) / 20
		if !(pad > 1e-290) { // zero or too small to tell apart
			pad = 1
		}
		return span{lo - pad, hi + pad}
	}
	pad := (hi - lo) / 20
	if e.below {
		lo -= pad
	}
	if e.above {
		hi += pad
	}
	return span{lo, hi}
}

// clip returns v within the span, and whether it had to be moved.
func (s span) clip(v float64) (float64, bool) {
	switch {
	case v > Limit:
		return s.max, true
	case v < -Limit:
		return s.min, true
	}
	return v, false
}

var gap = plotter.XY{X: math.NaN(), Y: math.NaN()}

// prepare returns a line's points with NaN points as gaps and values
// beyond Limit clipped, the clipped points, and how many points were NaN
// and clipped.
func prepare(l Line, xr, yr span) (pts, marks plotter.XYs, nans, clipped int) {
	n := min(len(l.X), len(l.Y))
	pts = make(plotter.XYs, 0, n)
	for i := range n {
		x, y := l.X[i], l.Y[i]
		if math.IsNaN(x) || math.IsNaN(y) {
			nans++
			pts = append(pts, gap)
			continue
		}
		x, cx := xr.clip(x)
		y, cy := yr.clip(y)
		if cx || cy {
			clipped++
			marks = append(marks, plotter.XY{X: x, Y: y})
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
	}
	return pts, marks, nans, clipped
}

// thin returns at most n of pts, evenly spread.
func thin(pts plotter.XYs, n int) plotter.XYs {
	if len(pts) <= n || n <= 0 {
		return pts
	}
	out := make(plotter.XYs, n)
	for i := range out {
		out[i] = pts[i*len(pts)/n]
	}
	return out
}

// reduce thins a line of more than four points per pixel column, when its
// X never decreases: it keeps, for each of wpx columns, the first, lowest,
// highest and last point, then a gap if the column had one, so that the
// drawn line looks the same and spikes survive.
func reduce(pts plotter.XYs, wpx int) plotter.XYs {
	if len(pts) <= 4*wpx || wpx <= 0 {
		return pts
	}
	first, last := -1, -1
	for i, p := range pts {
		if math.IsNaN(p.X) {
			continue
		}
		if last >= 0 && p.X < pts[last].X {
			return pts // not ordered by X: drawn as it is
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 || pts[first].X == pts[last].X {
		return pts
	}
	x0, width := pts[first].X, pts[last].X-pts[first].X
	column := func(x float64) int { return min(int((x-x0)/width*float64(wpx)), wpx-1) }
	out := make(plotter.XYs, 0, 5*wpx)
	var b bucketIdx
	cur := -1
	for i, p := range pts {
		if math.IsNaN(p.X) {
			b.nan = true
			continue
		}
		if col := column(p.X); col != cur {
			out = b.flush(out, pts)
			b, cur = bucketIdx{first: i, last: i, lo: i, hi: i, has: true}, col
			continue
		}
		b.last = i
		if p.Y < pts[b.lo].Y {
			b.lo = i
		}
		if p.Y > pts[b.hi].Y {
			b.hi = i
		}
	}
	return b.flush(out, pts)
}

// bucketIdx is a pixel column of reduce: indexes of its points.
type bucketIdx struct {
	first, last, lo, hi int
	has                 bool // the column has points
	nan                 bool // a gap follows the column's points
}

func (b bucketIdx) flush(out, pts plotter.XYs) plotter.XYs {
	if b.has {
		idx := []int{b.first, b.lo, b.hi, b.last}
		slices.Sort(idx)
		prev := -1
		for _, i := range idx {
			if i != prev {
				out = append(out, pts[i])
				prev = i
			}
		}
	}
	if b.nan {
		out = append(out, gap)
	}
	return out
}

// segments splits a line at its gaps.
func segments(pts plotter.XYs) []plotter.XYs {
	var out []plotter.XYs
	start := 0
	for i, p := range pts {
		if math.IsNaN(p.X) {
			if i > start {
				out = append(out, pts[start:i])
			}
			start = i + 1
		}
	}
	if start < len(pts) {
		out = append(out, pts[start:])
	}
	return out
}
