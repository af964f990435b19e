package serve

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

// maxGroupLinks bounds the members a group's compare link names.
const maxGroupLinks = 20

type groupView struct {
	By      []string
	Metrics []string
	Rows    []groupRow
}

type groupRow struct {
	Values  []string
	N       int
	Stats   []statCell
	Compare string // the members' curves overlaid
	Filter  string // the runs table of the members
}

type statCell struct {
	Text, Detail   string
	Best, BestLink string
}

// groups computes the group table, or reports a problem through bad.
func (s *server) groups(r *http.Request, coll string, q url.Values, conds []record.ListOption, metrics []string, bad func(string, ...any)) *groupView {
	g := &groupView{By: splitList(q.Get("group")), Metrics: splitList(q.Get("metric"))}
	for _, p := range append(append([]string{}, g.By...), g.Metrics...) {
		if _, err := record.ParsePath(p); err != nil {
			bad("bad group or metric path %q: %s", p, cleanErr(err))
			return g
		}
	}
	if len(g.Metrics) == 0 {
		for _, m := range metrics {
			g.Metrics = append(g.Metrics, "metrics."+m+".last")
		}
	}
	groups, err := s.store.Group(r.Context(), coll, g.By, g.Metrics, conds...)
	if err != nil {
		bad("cannot group: %s", cleanErr(err))
		return g
	}
	compareMetric := ""
	if len(g.Metrics) > 0 {
		compareMetric = metricOf(g.Metrics[0])
	}
	for _, gr := range groups {
		row := groupRow{N: len(gr.IDs)}
		var where []string
		for i, x := range gr.Values {
			row.Values = append(row.Values, cut(format(x)))
			if x != nil && isScalar(x) {
				where = append(where, g.By[i]+"="+condValue(x))
			}
		}
		ids := gr.IDs
		if len(ids) > maxGroupLinks {
			ids = ids[:maxGroupLinks]
		}
		row.Compare = link("/c/"+coll+"/compare", url.Values{"ids": {strings.Join(ids, ",")}, "metric": {compareMetric}})
		row.Filter = link("/c/"+coll, url.Values{"where": where})
		for _, m := range g.Metrics {
			st := gr.Stats[m]
			c := statCell{Text: "-"}
			if st.N > 0 {
				c.Text = report.Number(st.Mean)
				if !math.IsNaN(st.Std) {
					c.Text += " ± " + report.Number(st.Std)
				}
			}
			c.Detail = "n=" + report.Number(float64(st.N))
			if !math.IsNaN(st.Stderr) {
				c.Detail += " stderr=" + report.Number(st.Stderr)
			}
			if st.N > 0 {
				c.Detail += " min=" + report.Number(st.Min) + " max=" + report.Number(st.Max)
			}
			if st.NonFinite > 0 {
				c.Detail += " non-finite=" + report.Number(float64(st.NonFinite))
			}
			if st.Missing > 0 {
				c.Detail += " missing=" + report.Number(float64(st.Missing))
			}
			if b, ok := gr.Best[m]; ok {
				c.Best, c.BestLink = b, "/c/"+coll+"/"+b
			}
			row.Stats = append(row.Stats, c)
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

// metricOf is the metric a summary path names: loss for metrics.loss.min.
func metricOf(path string) string {
	if rest, ok := strings.CutPrefix(path, "metrics."); ok {
		if i := strings.LastIndexByte(rest, '.'); i > 0 {
			return rest[:i]
		}
		return rest
	}
	return path
}

// condValue writes a value for a WhereText condition: strings quoted, so
// that any text stays a string.
func condValue(x any) string {
	switch v := x.(type) {
	case string:
		return strconv.Quote(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return format(x)
}
