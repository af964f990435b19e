// Package report writes a reproducibility report of a collection of runs:
// what a machine can answer of the ML Reproducibility Checklist, for a
// reviewer to attach to a paper.
//
// Build reads the collection once (record.Store.List) and groups it
// (record.Store.Group) into configurations: the hyperparameters and their
// ranges (the params that vary across runs, with their set of values or
// their min and max, and the constants once), the number of runs and
// seeds per configuration, mean ± std and the standard error of the final
// metrics (metrics.<m>.last, and metrics.<m>.min or .max by the metric's
// goal) per configuration, the runtime of each run and in total, the
// statuses (crashed and failed runs counted), the compute infrastructure
// from the host facts (CPU, GPUs with their memory, driver and CUDA
// versions, memory, OS), the code version (git commit and dirty flag, Go
// build info) and the dependency modules, and the curves of each metric
// per configuration (mean ± std, plot.Groups).
//
// Report.Markdown writes Markdown with the curves as PNG files beside it;
// Report.HTML one self-contained HTML file with the curves as SVG data:
// URIs. Every value from the records is escaped: by html/template in
// HTML; in Markdown, markup characters are backslash-escaped, '<', '>'
// and '&' are entities, and control characters (newlines too) are shown
// as \uXXXX, so that a value stays within its table cell. The store's DSN
// is shown with its password masked (record.RedactDSN).
package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

// Options select and shape a report.
type Options struct {
	// GroupBy are the paths whose values make a configuration ("lr",
	// "batch"). Empty means every param that varies across the runs,
	// except seeds (a key named seed anywhere in the path).
	GroupBy []string
	// Where selects the runs (record.Where, record.WhereText).
	Where []record.ListOption
	// Metrics are the metrics to report; empty means every metric any run
	// logged.
	Metrics []string
	// DSN, when set, is shown, its password masked.
	DSN string
	// Curves draws the curve of each metric per configuration; Width and
	// Height are their size in pixels (0: 800 x 450).
	Curves        bool
	Width, Height int
	// Now is the report's date; zero means time.Now.
	Now time.Time
}

// Report is what Build found: every field is ready to print.
type Report struct {
	Collection, DSN string
	Generated       time.Time
	GroupBy         []string
	Runs            int
	Statuses        []Count // by status, most first
	// Varying are the params that differ between runs, Constant those
	// that all runs share.
	Varying, Constant []Param
	// Columns name the metric fields of Config.Stats ("metrics.loss.last").
	Columns []string
	Configs []Config
	RunRows []RunRow
	// Runtime over the runs that stored a duration.
	TotalSeconds, MeanSeconds float64
	Timed                     int
	// Hosts, Code, Builds and Deps count the runs per distinct fact.
	Hosts, Code, Builds, Deps []Count
	Curves                    []Curve
}

// Count is a value and how many runs have it.
type Count struct {
	Text string
	Runs int
}

// Param is a hyperparameter: its path, and its range (the set of values,
// or min..max for more than 6 numbers) or its one value.
type Param struct {
	Path, Values string
	Distinct     int
}

// Config is one configuration: the runs with the same GroupBy values.
type Config struct {
	Label    string
	Runs     int
	Seeds    []string
	Statuses string
	// Stats and Best are per Columns.
	Stats []record.Stat
	Best  []string
}

// RunRow is one run.
type RunRow struct {
	ID, Config, Status, Seed string
	Seconds                  float64  // NaN without a duration
	Finals                   []string // metrics.<m>.last per Report metric, formatted
}

// Curve is the chart of one metric over the configurations.
type Curve struct {
	Metric   string
	PNG, SVG []byte
}

// facts are the top-level keys of host, build and run facts, not params.
var facts = []string{"host", "build", "run"}

// Build reads the runs of coll and makes their report.
func Build(ctx context.Context, s *record.Store, coll string, opts Options) (*Report, error) {
	r := &Report{Collection: coll, Generated: opts.Now, GroupBy: opts.GroupBy}
	if r.Generated.IsZero() {
		r.Generated = time.Now().UTC()
	}
	if opts.DSN != "" {
		r.DSN = record.RedactDSN(opts.DSN)
	}
	var snaps []*record.Snapshot
	byID := map[string]*record.Snapshot{}
	params := map[string][]any{} // path -> value per run (nil: absent)
	metricSet := map[string]bool{}
	statuses := map[string]int{}
	hosts, code, builds, deps := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for snap, err := range s.List(ctx, coll, opts.Where...) {
		if err != nil {
			return nil, err
		}
		i := len(snaps)
		snaps = append(snaps, snap)
		byID[snap.ID()] = snap
		doc := snap.Doc()
		for path, v := range flatParams(doc) {
			if params[path] == nil {
				params[path] = make([]any, i, i+1)
				for j := range params[path] {
					params[path][j] = absent{}
				}
			}
			params[path] = append(params[path], v)
		}
		for path := range params {
			if len(params[path]) == i { // absent in this run
				params[path] = append(params[path], absent{})
			}
		}
		for _, m := range snap.MetricNames() {
			metricSet[m] = true
		}
		statuses[cmp.Or(snap.Status(), "unknown")]++
		hosts[hostText(snap)]++
		code[codeText(snap)]++
		builds[buildText(snap)]++
		if list, err := snap.Slice("build.deps"); err == nil {
			for _, d := range list {
				if m, ok := d.(map[string]any); ok {
					deps[strings.TrimSpace(text(m["path"])+" "+text(m["version"]))]++
				}
			}
		}
	}
	r.Runs = len(snaps)
	if r.Runs == 0 {
		return nil, fmt.Errorf("report: %s: no runs: %w", coll, record.ErrNotFound)
	}
	r.Statuses, r.Hosts, r.Code, r.Builds, r.Deps = counts(statuses), counts(hosts), counts(code), counts(builds), counts(deps)
	r.Deps = slices.DeleteFunc(r.Deps, func(c Count) bool { return c.Text == "" })
	slices.SortFunc(r.Deps, func(a, b Count) int { return strings.Compare(a.Text, b.Text) })

	paths := make([]string, 0, len(params))
	for p := range params {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var varying []string
	for _, p := range paths {
		prm := paramOf(p, params[p])
		if prm.Distinct > 1 {
			r.Varying = append(r.Varying, prm)
			varying = append(varying, p)
		} else {
			r.Constant = append(r.Constant, prm)
		}
	}
	if len(r.GroupBy) == 0 {
		for _, p := range varying {
			if !slices.Contains(strings.Split(p, "."), "seed") {
				r.GroupBy = append(r.GroupBy, p)
			}
		}
	}

	metrics := opts.Metrics
	if len(metrics) == 0 {
		for m := range metricSet {
			metrics = append(metrics, m)
		}
		slices.Sort(metrics)
	}
	for i, m := range metrics {
		metrics[i] = strings.TrimPrefix(m, "metrics.")
		best := "min"
		if goalOf(snaps, metrics[i]) == record.Maximize {
			best = "max"
		}
		r.Columns = append(r.Columns, "metrics."+metrics[i]+".last", "metrics."+metrics[i]+"."+best)
	}
	groups, err := s.Group(ctx, coll, r.GroupBy, r.Columns, opts.Where...)
	if err != nil {
		return nil, err
	}
	configOf := map[string]string{}
	var runGroups []plot.RunGroup
	for _, g := range groups {
		c := Config{Label: GroupLabel(r.GroupBy, g.Values), Runs: len(g.IDs)}
		if c.Label == "" {
			c.Label = "all runs"
		}
		seeds, sts := map[string]bool{}, map[string]int{}
		rg := plot.RunGroup{Label: c.Label}
		for _, id := range g.IDs {
			configOf[id] = c.Label
			snap := byID[id]
			if snap == nil { // written between List and Group
				continue
			}
			rg.Runs = append(rg.Runs, snap)
			if sd := seedOf(snap); sd != "" {
				seeds[sd] = true
			}
			sts[cmp.Or(snap.Status(), "unknown")]++
		}
		for sd := range seeds {
			c.Seeds = append(c.Seeds, sd)
		}
		slices.SortFunc(c.Seeds, naturalCompare)
		var parts []string
		for _, st := range counts(sts) {
			parts = append(parts, fmt.Sprintf("%d %s", st.Runs, st.Text))
		}
		c.Statuses = strings.Join(parts, ", ")
		for _, col := range r.Columns {
			c.Stats = append(c.Stats, g.Stats[col])
			c.Best = append(c.Best, g.Best[col])
		}
		r.Configs = append(r.Configs, c)
		runGroups = append(runGroups, rg)
	}

	for _, snap := range snaps {
		row := RunRow{ID: snap.ID(), Config: configOf[snap.ID()], Status: snap.Status(), Seed: seedOf(snap), Seconds: math.NaN()}
		if d, err := snap.Float64("duration"); err == nil {
			row.Seconds = d
			if !math.IsNaN(d) && !math.IsInf(d, 0) {
				r.TotalSeconds += d
				r.Timed++
			}
		}
		for _, m := range metrics {
			row.Finals = append(row.Finals, finalText(snap, m))
		}
		r.RunRows = append(r.RunRows, row)
	}
	if r.Timed > 0 {
		r.MeanSeconds = r.TotalSeconds / float64(r.Timed)
	}

	if opts.Curves {
		for _, m := range metrics {
			chart, err := plot.Groups(ctx, m, runGroups)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				continue // no series for this metric (summaries only)
			}
			chart.Width, chart.Height = cmp.Or(opts.Width, 800), cmp.Or(opts.Height, 450)
			chart.Title = coll + ": " + m + " (mean ± std)"
			var png, svg strings.Builder
			if err := chart.Render(&png, plot.PNG); err != nil {
				return nil, fmt.Errorf("report: %w", err)
			}
			if err := chart.Render(&svg, plot.SVG); err != nil {
				return nil, fmt.Errorf("report: %w", err)
			}
			r.Curves = append(r.Curves, Curve{Metric: m, PNG: []byte(png.String()), SVG: []byte(svg.String())})
		}
	}
	return r, nil
}

// absent marks a param a run does not have.
type absent struct{}

// flatParams returns the params of a record: the scalar values (strings,
// numbers, bools, times, null) at the paths of its own fields, outside the
// library's fields and the host, build and run facts. Arrays (losses)
// are not params.
func flatParams(doc map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(prefix+"."+k, e)
			}
		case []any:
		default:
			out[prefix] = x
		}
	}
	for k, v := range doc {
		if record.Managed(k) || slices.Contains(facts, k) || k == "alive_until" || k == "heartbeat" || k == "batches" {
			continue
		}
		walk(k, v)
	}
	return out
}

// paramOf summarises the values of one param over the runs.
func paramOf(path string, vals []any) Param {
	distinct := map[string]any{}
	allNum, nan := true, false
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		distinct[valueKey(v)] = v
		switch f, ok := number(v); {
		case !ok:
			allNum = false
		case math.IsNaN(f):
			nan = true
		default:
			lo, hi = min(lo, f), max(hi, f)
		}
	}
	p := Param{Path: path, Distinct: len(distinct)}
	keys := make([]string, 0, len(distinct))
	for k := range distinct {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		fa, oka := number(distinct[a])
		fb, okb := number(distinct[b])
		if oka && okb {
			return cmp.Compare(fa, fb)
		}
		return naturalCompare(a, b)
	})
	switch {
	case allNum && len(keys) > 6:
		p.Values = fmt.Sprintf("%s .. %s (%d values)", Number(lo), Number(hi), len(keys))
		if nan {
			p.Values = fmt.Sprintf("%s .. %s and NaN (%d values)", Number(lo), Number(hi), len(keys))
		}
	default:
		var parts []string
		for _, k := range keys {
			parts = append(parts, valueText(distinct[k]))
		}
		p.Values = strings.Join(parts, ", ")
	}
	return p
}

func valueKey(v any) string {
	if f, ok := number(v); ok {
		return "n" + strconv.FormatFloat(f, 'g', -1, 64)
	}
	switch v.(type) {
	case absent:
		return "absent"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T:%v", v, v)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// valueText prints a param value.
func valueText(v any) string {
	switch x := v.(type) {
	case absent:
		return "(absent)"
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	if f, ok := number(v); ok {
		return Number(f)
	}
	return fmt.Sprint(v)
}

// GroupLabel names a configuration by its values at the by paths:
// "lr=0.1, batch=32"; a value the members lack is "none".
func GroupLabel(by []string, values []any) string {
	parts := make([]string, len(by))
	for i, p := range by {
		var v any
		if i < len(values) {
			v = values[i]
		}
		s := "none"
		if v != nil {
			s = valueText(v)
			if str, ok := v.(string); ok {
				s = str
			}
		}
		parts[i] = p + "=" + s
	}
	return strings.Join(parts, ", ")
}

// Number prints a number in 6 significant digits, "NaN", "+Inf", "-Inf".
func Number(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

// MeanStd prints a Stat as "mean ± std" ("mean" alone with one number,
// "—" with none).
func MeanStd(s record.Stat) string {
	switch {
	case s.N == 0:
		return "—"
	case s.N == 1:
		return Number(s.Mean)
	}
	return Number(s.Mean) + " ± " + Number(s.Std)
}

// Range prints a Stat's "min .. max" ("—" with no number).
func Range(s record.Stat) string {
	switch s.N {
	case 0:
		return "—"
	case 1:
		return Number(s.Min)
	}
	return Number(s.Min) + " .. " + Number(s.Max)
}

// Notes prints what a Stat left out: "2 NaN/Inf, 1 missing".
func Notes(s record.Stat) string {
	var parts []string
	if s.NonFinite > 0 {
		parts = append(parts, fmt.Sprintf("%d NaN/Inf", s.NonFinite))
	}
	if s.Missing > 0 {
		parts = append(parts, fmt.Sprintf("%d missing", s.Missing))
	}
	return strings.Join(parts, ", ")
}

// Seconds prints a duration in seconds ("1h2m3s", "4.2s", "0.153s";
// "NaN" when there is none).
func Seconds(sec float64) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) || math.Abs(sec) > 1e12 {
		return Number(sec)
	}
	if math.Abs(sec) < 1 {
		return strconv.FormatFloat(sec, 'f', 3, 64) + "s"
	}
	if math.Abs(sec) < 60 {
		return strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}

func finalText(s *record.Snapshot, m string) string {
	if nf, err := s.Text("metrics." + m + ".last_nonfinite"); err == nil && nf != "" {
		return nf
	}
	if f, err := s.Float64("metrics." + m + ".last"); err == nil {
		return Number(f)
	}
	return "—"
}

func goalOf(snaps []*record.Snapshot, m string) string {
	for _, s := range snaps {
		if g, err := s.Text("goals." + m); err == nil && g != "" {
			return g
		}
	}
	return record.Minimize
}

// seedOf is the run's seed: run.seed (record.WithSeed), else a top-level
// seed param.
func seedOf(s *record.Snapshot) string {
	for _, p := range []string{"run.seed", "seed"} {
		if v, ok := s.Get(p); ok && v != nil {
			return valueText(v)
		}
	}
	return ""
}

func text(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func get(s *record.Snapshot, path string) string {
	v, _ := s.Get(path)
	return text(v)
}

// hostText describes the machine of a run: CPU, GPUs, memory, OS.
func hostText(s *record.Snapshot) string {
	var parts []string
	if m := get(s, "host.cpu.model"); m != "" {
		cores := get(s, "host.cpu.physical_cores")
		threads := get(s, "host.cpu.logical_cores")
		c := "CPU " + m
		if cores != "" || threads != "" {
			c += fmt.Sprintf(" (%s cores, %s threads)", cmp.Or(cores, "?"), cmp.Or(threads, "?"))
		}
		parts = append(parts, c)
	} else if n := get(s, "host.num_cpu"); n != "" {
		parts = append(parts, n+" CPUs")
	}
	if gpus, err := s.Slice("host.gpus"); err == nil && len(gpus) > 0 {
		kinds := map[string]int{}
		for _, g := range gpus {
			m, _ := g.(map[string]any)
			desc := text(m["name"])
			if b, ok := number(m["memory_total"]); ok {
				desc += fmt.Sprintf(" %.0f GiB", b/(1<<30))
			}
			if d := text(m["driver_version"]); d != "" {
				desc += ", driver " + d
			}
			if c := text(m["cuda_driver_version"]); c != "" {
				desc += ", CUDA " + c
			}
			kinds[desc]++
		}
		for _, k := range counts(kinds) {
			parts = append(parts, fmt.Sprintf("%d x GPU %s", k.Runs, k.Text))
		}
	}
	if b, err := s.Float64("host.memory.total"); err == nil {
		parts = append(parts, fmt.Sprintf("memory %.1f GiB", b/(1<<30)))
	}
	osText := strings.TrimSpace(strings.Join([]string{get(s, "host.platform"), get(s, "host.platform_version"), get(s, "host.os") + "/" + get(s, "host.arch")}, " "))
	if k := get(s, "host.kernel_version"); k != "" {
		osText += ", kernel " + k
	}
	if osText != "/" {
		parts = append(parts, "OS "+osText)
	}
	if c := get(s, "host.container"); c != "" {
		parts = append(parts, "container "+c)
	}
	if len(parts) == 0 {
		return "(no host facts)"
	}
	return strings.Join(parts, "; ")
}

// codeText is the run's code version from git.
func codeText(s *record.Snapshot) string {
	commit := get(s, "build.git.commit")
	if commit == "" {
		commit = get(s, "build.vcs.revision")
	}
	if commit == "" {
		return "(no git facts)"
	}
	out := "commit " + commit
	if b := get(s, "build.git.branch"); b != "" {
		out += " (" + b + ")"
	}
	switch dirty := get(s, "build.git.dirty") + get(s, "build.vcs.modified"); {
	case strings.Contains(dirty, "true"):
		out += ", dirty"
		if d := get(s, "build.git.diff_sha256"); d != "" {
			out += " (diff sha256 " + d + ")"
		}
	case dirty != "":
		out += ", clean"
	}
	return out
}

// buildText is the Go toolchain and main module of the run.
func buildText(s *record.Snapshot) string {
	var parts []string
	if v := get(s, "build.go_version"); v != "" {
		parts = append(parts, v)
	}
	if m := get(s, "build.module.path"); m != "" {
		parts = append(parts, "module "+strings.TrimSpace(m+" "+get(s, "build.module.version")))
	} else if p := get(s, "build.path"); p != "" {
		parts = append(parts, "main "+p)
	}
	if len(parts) == 0 {
		return "(no build facts)"
	}
	return strings.Join(parts, ", ")
}

// counts orders a tally most first, then by text.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Runs, a.Runs), strings.Compare(a.Text, b.Text))
	})
	return out
}

// naturalCompare orders "seed2" before "seed10".
func naturalCompare(a, b string) int {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return cmp.Compare(fa, fb)
	}
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}
