package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Markdown writes the report as Markdown to w. Each curve is written as a
// PNG file in dir named <prefix><metric>.png and linked relative to the
// report (dir is where the report itself goes).
func (r *Report) Markdown(w io.Writer, dir, prefix string) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	row := func(cells ...string) {
		for i := range cells {
			cells[i] = Cell(cells[i])
		}
		p("| %s |\n", strings.Join(cells, " | "))
	}
	head := func(cells ...string) {
		row(cells...)
		p("|%s\n", strings.Repeat(" --- |", len(cells)))
	}
	p("# Reproducibility report: %s\n\n", Cell(r.Collection))
	p("Generated %s", r.Generated.UTC().Format("2006-01-02 15:04 UTC"))
	if r.DSN != "" {
		p(" from `%s`", strings.ReplaceAll(Cell(r.DSN), "`", "'"))
	}
	p(". %d runs", r.Runs)
	if len(r.GroupBy) > 0 {
		p(", configurations by %s", Cell(strings.Join(r.GroupBy, ", ")))
	}
	p(".\n\n## Runs and statuses\n\n")
	head("status", "runs")
	for _, c := range r.Statuses {
		row(c.Text, fmt.Sprint(c.Runs))
	}
	p("\n## Hyperparameters\n\n")
	if len(r.Varying) > 0 {
		p("Varying across runs:\n\n")
		head("param", "values", "distinct")
		for _, prm := range r.Varying {
			row(prm.Path, prm.Values, fmt.Sprint(prm.Distinct))
		}
		p("\n")
	}
	if len(r.Constant) > 0 {
		p("The same in every run:\n\n")
		head("param", "value")
		for _, prm := range r.Constant {
			row(prm.Path, prm.Values)
		}
		p("\n")
	}
	p("## Results per configuration\n\n")
	p("Mean ± sample standard deviation over the runs of a configuration (stderr = std/√n); ")
	p("NaN/Inf and missing values are counted, not averaged in.\n\n")
	head("configuration", "runs", "seeds", "statuses")
	for _, c := range r.Configs {
		row(c.Label, fmt.Sprint(c.Runs), seedsText(c.Seeds), c.Statuses)
	}
	for i, col := range r.Columns {
		p("\n### %s\n\n", Cell(col))
		head("configuration", "mean ± std", "stderr", "n", "min .. max", "left out", "best run")
		for _, c := range r.Configs {
			st := c.Stats[i]
			row(c.Label, MeanStd(st), Number(st.Stderr), fmt.Sprint(st.N), Range(st), Notes(st), c.Best[i])
		}
	}
	p("\n")
	p("\n## Runtime\n\n")
	p("Total %s over %d runs with a duration, %s per run on average.\n\n", Seconds(r.TotalSeconds), r.Timed, Seconds(r.MeanSeconds))
	cols := []string{"run", "configuration", "seed", "status", "duration"}
	for i := 0; i < len(r.Columns); i += 2 {
		cols = append(cols, strings.TrimPrefix(r.Columns[i], "metrics."))
	}
	head(cols...)
	for _, rr := range r.RunRows {
		row(append([]string{rr.ID, rr.Config, rr.Seed, rr.Status, Seconds(rr.Seconds)}, rr.Finals...)...)
	}
	p("\n## Compute infrastructure\n\n")
	head("machine", "runs")
	for _, c := range r.Hosts {
		row(c.Text, fmt.Sprint(c.Runs))
	}
	p("\n## Code version\n\n")
	head("git", "runs")
	for _, c := range r.Code {
		row(c.Text, fmt.Sprint(c.Runs))
	}
	p("\n")
	head("Go build", "runs")
	for _, c := range r.Builds {
		row(c.Text, fmt.Sprint(c.Runs))
	}
	p("\n## Dependencies\n\n")
	if len(r.Deps) == 0 {
		p("No dependency list was recorded.\n")
	} else {
		p("<details><summary>%d modules</summary>\n\n", len(r.Deps))
		head("module", "runs")
		for _, c := range r.Deps {
			row(c.Text, fmt.Sprint(c.Runs))
		}
		p("\n</details>\n")
	}
	if len(r.Curves) > 0 {
		p("\n## Curves\n\nMean per step over the runs of each configuration, with a band of ± one standard deviation.\n\n")
		for _, c := range r.Curves {
			name := prefix + fileName(c.Metric) + ".png"
			if err := os.WriteFile(filepath.Join(dir, name), c.PNG, 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			p("![%s](%s)\n\n", Cell(c.Metric), name)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func fileName(s string) string { return unsafeName.ReplaceAllString(s, "_") }

func seedsText(seeds []string) string {
	if len(seeds) == 0 {
		return "—"
	}
	return fmt.Sprintf("%d (%s)", len(seeds), strings.Join(seeds, ", "))
}

// Cell escapes text for a Markdown table cell or line: markup characters
// are backslash-escaped, '<', '>' and '&' become entities (no HTML gets
// through), and control characters, newlines included, are written as
// \uXXXX, so that the text stays on its line and in its cell.
func Cell(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case strings.ContainsRune("\\`*_[]|~", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, "\\\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HTML writes the report as one self-contained HTML page, the curves as
// SVG images in data: URIs.
func (r *Report) HTML(w io.Writer) error {
	return page.Execute(w, r)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"meanstd": MeanStd, "notes": Notes, "range_": Range, "num": Number, "secs": Seconds, "seeds": seedsText,
	"metric": func(s string) string { return strings.TrimPrefix(s, "metrics.") },
	"even":   func(i int) bool { return i%2 == 0 },
	"utc":    func(r *Report) string { return r.Generated.UTC().Format("2006-01-02 15:04 UTC") },
	"join":   strings.Join,
	"svg": func(b []byte) template.URL {
		return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Reproducibility report: {{.Collection}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%}
</style></head><body>
<h1>Reproducibility report: {{.Collection}}</h1>
<p>Generated {{utc .}}{{if .DSN}} from <code>{{.DSN}}</code>{{end}}. {{.Runs}} runs{{if .GroupBy}}, configurations by {{join .GroupBy ", "}}{{end}}.</p>
<h2>Runs and statuses</h2>
<table><tr><th>status</th><th>runs</th></tr>{{range .Statuses}}<tr><td>{{.Text}}</td><td class="n">{{.Runs}}</td></tr>{{end}}</table>
<h2>Hyperparameters</h2>
{{if .Varying}}<p>Varying across runs:</p>
<table><tr><th>param</th><th>values</th><th>distinct</th></tr>{{range .Varying}}<tr><td>{{.Path}}</td><td>{{.Values}}</td><td class="n">{{.Distinct}}</td></tr>{{end}}</table>{{end}}
{{if .Constant}}<p>The same in every run:</p>
<table><tr><th>param</th><th>value</th></tr>{{range .Constant}}<tr><td>{{.Path}}</td><td>{{.Values}}</td></tr>{{end}}</table>{{end}}
<h2>Results per configuration</h2>
<p>Mean ± sample standard deviation over the runs of a configuration (stderr = std/√n); NaN/Inf and missing values are counted, not averaged in.</p>
<table><tr><th>configuration</th><th>runs</th><th>seeds</th><th>statuses</th></tr>
{{range .Configs}}<tr><td>{{.Label}}</td><td class="n">{{.Runs}}</td><td>{{seeds .Seeds}}</td><td>{{.Statuses}}</td></tr>
{{end}}</table>
{{range $i, $col := .Columns}}<h3>{{$col}}</h3>
<table><tr><th>configuration</th><th>mean ± std</th><th>stderr</th><th>n</th><th>min .. max</th><th>left out</th><th>best run</th></tr>
{{range $.Configs}}{{$s := index .Stats $i}}<tr><td>{{.Label}}</td><td class="n">{{meanstd $s}}</td><td class="n">{{num $s.Stderr}}</td><td class="n">{{$s.N}}</td><td class="n">{{range_ $s}}</td><td>{{notes $s}}</td><td>{{index .Best $i}}</td></tr>
{{end}}</table>
{{end}}<h2>Runtime</h2>
<p>Total {{secs .TotalSeconds}} over {{.Timed}} runs with a duration, {{secs .MeanSeconds}} per run on average.</p>
<table><tr><th>run</th><th>configuration</th><th>seed</th><th>status</th><th>duration</th>{{range $i, $c := .Columns}}{{if even $i}}<th>{{metric $c}}</th>{{end}}{{end}}</tr>
{{range .RunRows}}<tr><td>{{.ID}}</td><td>{{.Config}}</td><td>{{.Seed}}</td><td>{{.Status}}</td><td class="n">{{secs .Seconds}}</td>{{range .Finals}}<td class="n">{{.}}</td>{{end}}</tr>
{{end}}</table>
<h2>Compute infrastructure</h2>
<table><tr><th>machine</th><th>runs</th></tr>{{range .Hosts}}<tr><td>{{.Text}}</td><td class="n">{{.Runs}}</td></tr>{{end}}</table>
<h2>Code version</h2>
<table><tr><th>git</th><th>runs</th></tr>{{range .Code}}<tr><td>{{.Text}}</td><td class="n">{{.Runs}}</td></tr>{{end}}</table>
<table><tr><th>Go build</th><th>runs</th></tr>{{range .Builds}}<tr><td>{{.Text}}</td><td class="n">{{.Runs}}</td></tr>{{end}}</table>
<h2>Dependencies</h2>
{{if .Deps}}<details><summary>{{len .Deps}} modules</summary>
<table><tr><th>module</th><th>runs</th></tr>{{range .Deps}}<tr><td>{{.Text}}</td><td class="n">{{.Runs}}</td></tr>{{end}}</table></details>{{else}}<p>No dependency list was recorded.</p>{{end}}
{{if .Curves}}<h2>Curves</h2>
<p>Mean per step over the runs of each configuration, with a band of ± one standard deviation.</p>
{{range .Curves}}<figure><img alt="{{.Metric}}" src="{{svg .SVG}}"><figcaption>{{.Metric}}</figcaption></figure>
{{end}}{{end}}</body></html>
`))
