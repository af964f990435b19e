package serve

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

type runView struct {
	Coll, ID, Status string
	Facts            []field
	Parent           string // link to the parent run, if any
	Desc             string
	Params           []field
	Models           []section
	Metrics          []metricRow
	Chart            template.HTML
	ChartNote        string
	Details          []section
	Compare          string
}

type section struct {
	Name   string
	Fields []field
}

type metricRow struct {
	Name    string
	Values  []string
	Compare string
}

// summaryFields are the columns of a run's metric summaries.
var summaryFields = []string{"count", "min", "max", "mean", "last", "last_step", "nans"}

func (s *server) run(w http.ResponseWriter, r *http.Request) {
	coll, ok := s.collection(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := record.ValidID(id); err != nil {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no record %q in %s: not a valid record id", id, coll))
		return
	}
	snap, err := s.store.Get(r.Context(), coll, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	doc := snap.Doc()
	v := runView{Coll: coll, ID: id, Status: snap.Status(), Compare: link("/c/"+coll+"/compare", url.Values{"ids": {id}})}
	for _, k := range []string{"created", "ended", "duration", "updated", "error"} {
		if x, ok := doc[k]; ok {
			v.Facts = append(v.Facts, field{k, format(x)})
		}
	}
	if p, ok := doc["parent"].(string); ok && record.ValidID(p) == nil {
		v.Parent = "/c/" + coll + "/" + p
		v.Facts = append(v.Facts, field{"parent", p})
	}
	if g, ok := doc["goals"]; ok {
		v.Facts = flatten("goals", g, v.Facts)
	}
	if d, ok := doc["desc"]; ok {
		if ds, ok := d.(string); ok {
			v.Desc = formatString(ds)
		} else {
			v.Desc = format(d)
		}
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range doc {
			if isParam(k) && !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		v.Params = flatten(k, doc[k], v.Params)
	}
	if models, ok := doc["models"].(map[string]any); ok {
		names := slices.SortedFunc(func(yield func(string) bool) {
			for k := range models {
				if !yield(k) {
					return
				}
			}
		}, plot.NaturalCompare)
		for _, name := range names {
			sec := section{Name: name}
			m, ok := models[name].(map[string]any)
			if !ok {
				sec.Fields = []field{{"", format(models[name])}}
				v.Models = append(v.Models, sec)
				continue
			}
			for _, k := range slices.Sorted(mapKeys(m)) {
				if arr, ok := m[k].([]any); ok && len(arr) > 8 {
					sec.Fields = append(sec.Fields, field{k, format(arr) + ", last " + format(arr[len(arr)-1])})
					continue
				}
				sec.Fields = flatten(k, m[k], sec.Fields)
			}
			v.Models = append(v.Models, sec)
		}
	}
	metrics, _ := doc["metrics"].(map[string]any)
	for _, name := range snap.MetricNames() {
		row := metricRow{Name: name, Compare: link("/c/"+coll+"/compare", url.Values{"ids": {id}, "metric": {name}})}
		sum, _ := metrics[name].(map[string]any)
		for _, f := range summaryFields {
			if x, ok := sum[f]; ok {
				row.Values = append(row.Values, format(x))
			} else {
				row.Values = append(row.Values, "-")
			}
		}
		v.Metrics = append(v.Metrics, row)
	}
	chart, err := plot.Losses(snap)
	switch {
	case errors.Is(err, record.ErrNotFound):
		v.ChartNote = "This run has no model losses (" + plot.ModelLosses + ")."
	case err != nil:
		v.ChartNote = cleanErr(err)
	default:
		chart.Width, chart.Height = 900, 500
		v.Chart, err = svg(chart)
		if err != nil {
			v.ChartNote = cleanErr(err)
		}
	}
	for _, k := range facts {
		if x, ok := doc[k]; ok {
			v.Details = append(v.Details, section{Name: k, Fields: flatten("", x, nil)})
		}
	}
	s.render(w, r, http.StatusOK, "run", page{Title: coll + " / " + id, Coll: coll, Data: v})
}

// svg renders a chart as SVG markup to put inline in a page. The markup
// is safe: gonum/plot escapes every text it writes into the SVG.
func svg(c *plot.Chart) (template.HTML, error) {
	var buf bytes.Buffer
	if err := c.Render(&buf, plot.SVG); err != nil {
		return "", err
	}
	out := buf.String()
	if i := strings.Index(out, "<svg"); i >= 0 {
		out = out[i:] // no XML declaration inside HTML
	}
	return template.HTML(out), nil
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
