package serve

import (
	"context"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

// maxCompare bounds the runs of one compare page.
const maxCompare = 50

type compareView struct {
	Coll    string
	IDsText string
	Metric  string
	Metrics []string
	Log     bool
	Smooth  string
	X       string
	Chart   template.HTML
	Legend  []legendRow
	Notes   []string
	Problem string
	Back    string
}

type legendRow struct {
	ID, Link string
	Color    template.CSS
	Last     string
	Status   string
	Params   string // the run's scalar parameters, to tell runs apart
}

func (s *server) compare(w http.ResponseWriter, r *http.Request) {
	coll, ok := s.collection(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	v := &compareView{Coll: coll, Metric: strings.TrimSpace(q.Get("metric")), Log: q.Get("log") == "1",
		Smooth: q.Get("smooth"), X: q.Get("x"), Back: "/c/" + coll}
	status := http.StatusOK
	problem := func(code int, format string, args ...any) {
		if v.Problem == "" {
			v.Problem, status = fmt.Sprintf(format, args...), code
		}
	}
	var ids []string
	for _, id := range append(splitList(q.Get("ids")), q["id"]...) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	v.IDsText = strings.Join(ids, ",")
	smooth := 0.0
	if v.Smooth != "" {
		f, err := strconv.ParseFloat(v.Smooth, 64)
		if err != nil || !(f >= 0 && f < 1) {
			problem(http.StatusBadRequest, "bad smooth %q: want a weight from 0 (none) to below 1, e.g. 0.6", v.Smooth)
		}
		smooth = f
	}
	if v.X == "" {
		v.X = "step"
	}
	if v.X != "step" && v.X != "time" {
		problem(http.StatusBadRequest, "bad x %q: want step or time", v.X)
	}
	switch {
	case len(ids) == 0:
		problem(http.StatusBadRequest, "no runs to compare: tick some in the runs table, or add ids=ID,ID to the address")
	case len(ids) > maxCompare:
		problem(http.StatusBadRequest, "too many runs (%d): compare at most %d at a time", len(ids), maxCompare)
	}
	for _, id := range ids {
		if err := record.ValidID(id); err != nil {
			problem(http.StatusBadRequest, "bad run id %q: want [A-Za-z0-9_.-]{1,128}", id)
		}
	}
	if v.Problem != "" {
		s.render(w, r, status, "compare", page{Title: "compare", Coll: coll, Data: v})
		return
	}
	snaps := make([]*record.Snapshot, len(ids))
	for i, id := range ids {
		snap, err := s.store.Get(r.Context(), coll, id)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		snaps[i] = snap
	}
	for _, snap := range snaps {
		for _, m := range snap.MetricNames() {
			if !slices.Contains(v.Metrics, m) {
				v.Metrics = append(v.Metrics, m)
			}
		}
	}
	slices.Sort(v.Metrics)
	if v.Metric == "" && len(v.Metrics) > 0 {
		v.Metric = v.Metrics[0]
		if slices.Contains(v.Metrics, "loss") {
			v.Metric = "loss"
		}
	}
	v.Metric = strings.TrimPrefix(v.Metric, "metrics.")
	if !slices.Contains(v.Metrics, v.Metric) {
		if v.Metric == "" {
			problem(http.StatusNotFound, "these runs logged no metric series")
		} else {
			problem(http.StatusNotFound, "none of these runs logged a metric %q (they have: %s)", v.Metric, strings.Join(v.Metrics, ", "))
		}
		s.render(w, r, status, "compare", page{Title: "compare", Coll: coll, Data: v})
		return
	}
	if err := s.chart(r.Context(), v, snaps, smooth); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, status, "compare", page{Title: "compare " + v.Metric, Coll: coll, Data: v})
}

// chart draws the metric of every run into v: one color per run.
func (s *server) chart(ctx context.Context, v *compareView, snaps []*record.Snapshot, smooth float64) error {
	c := &plot.Chart{Title: v.Metric, XLabel: "step", YLabel: v.Metric, Width: 1000, Height: 560}
	if v.X == "time" {
		c.XLabel = "seconds since the run's first point"
	}
	if v.Log {
		c.YLabel = "log10(" + v.Metric + ")"
	}
	if smooth > 0 {
		c.YLabel += fmt.Sprintf(" (EMA %g)", smooth)
	}
	n := len(plot.Palette)
	for i, snap := range snaps {
		if !slices.Contains(snap.MetricNames(), v.Metric) {
			v.Notes = append(v.Notes, fmt.Sprintf("run %s logged no %s", snap.ID(), v.Metric))
			continue
		}
		// Each run on its own: plot reads the series batch by batch and
		// keeps the first, lowest, highest and last point of each range.
		one, err := plot.Metrics(ctx, []*record.Snapshot{snap}, v.Metric)
		if err != nil {
			return err
		}
		l := one.Lines[0]
		l.Label, l.Color, l.Dashed = snap.ID(), plot.Palette[i%n], i/n
		if v.X == "time" {
			if l.X, err = elapsed(ctx, snap, v.Metric, l.X); err != nil {
				return err
			}
		}
		if smooth > 0 {
			l.Y = ema(l.Y, smooth)
		}
		if v.Log {
			if k := logScale(l.Y); k > 0 {
				v.Notes = append(v.Notes, fmt.Sprintf("run %s: %d points ≤ 0 left out of the log scale", snap.ID(), k))
			}
		}
		c.Lines = append(c.Lines, l)
		row := legendRow{ID: snap.ID(), Link: "/c/" + v.Coll + "/" + snap.ID(), Color: css(l.Color), Status: snap.Status(), Last: "-"}
		row.Params = cut(params(snap))
		if x, ok := snap.Get("metrics." + v.Metric + ".last"); ok {
			row.Last = format(x)
		}
		v.Legend = append(v.Legend, row)
	}
	var err error
	v.Chart, err = svg(c)
	return err
}

// ema smooths ys with an exponential moving average of weight w,
// debiased like TensorBoard's so that the start is not pulled to zero.
// NaN and infinite values stay as they are and do not enter the average.
func ema(ys []float64, w float64) []float64 {
	out := make([]float64, len(ys))
	last, n := 0.0, 0
	for i, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) || math.Abs(y) > plot.Limit {
			out[i] = y
			continue
		}
		n++
		last = last*w + (1-w)*y
		out[i] = last / (1 - math.Pow(w, float64(n)))
	}
	return out
}

// logScale replaces ys by their base-10 logarithms in place; values at
// or below zero become gaps, and their number is returned.
func logScale(ys []float64) int {
	k := 0
	for i, y := range ys {
		switch {
		case math.IsNaN(y):
		case y <= 0:
			ys[i] = math.NaN()
			k++
		default:
			ys[i] = math.Log10(y)
		}
	}
	return k
}

// elapsed maps the steps of a drawn line to the seconds since the run's
// first point of the metric, reading the series once more in batches and
// keeping only the times of the steps drawn.
func elapsed(ctx context.Context, snap *record.Snapshot, metric string, steps []float64) ([]float64, error) {
	at := make(map[int64][]int, len(steps))
	for i, x := range steps {
		at[int64(x)] = append(at[int64(x)], i)
	}
	out := make([]float64, len(steps))
	for i := range out {
		out[i] = math.NaN()
	}
	first := true
	var t0 = snap.Created()
	for pts, err := range snap.Series(ctx, metric) {
		if err != nil {
			return nil, err
		}
		for _, p := range pts {
			if first {
				t0, first = p.Time, false
			}
			if idx, ok := at[p.Step]; ok {
				for _, i := range idx {
					out[i] = p.Time.Sub(t0).Seconds()
				}
				delete(at, p.Step)
			}
		}
	}
	return out, nil
}

func css(c color.Color) template.CSS {
	r, g, b, _ := c.RGBA()
	return template.CSS(fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, b>>8))
}

// params writes a run's scalar parameters as k=v pairs, in key order.
func params(snap *record.Snapshot) string {
	doc := snap.Doc()
	var parts []string
	for _, k := range slices.Sorted(mapKeys(doc)) {
		if isParam(k) && isScalar(doc[k]) {
			parts = append(parts, k+"="+format(doc[k]))
		}
	}
	return strings.Join(parts, " ")
}
