package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

var collectionsCmd = &command{
	name:    "collections",
	args:    "",
	summary: "list the collections of the store, one per line",
	run:     runCollections,
}

func runCollections(e *env, args []string) error {
	var dsn string
	fs := e.flags(&dsn)
	if _, err := e.parse(fs, args, 0, 0); err != nil {
		return err
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	names, err := s.Collections(e.ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(e.stdout, n)
	}
	return nil
}

var lsCmd = &command{
	name:    "ls",
	args:    "COLLECTION",
	summary: "list the records of a collection as a table, or groups of them",
	help: `
The table has a row per record, oldest first: id, created (UTC), status
(a running record whose heartbeat stopped is "crashed"), duration, every
top-level parameter (scalar top-level fields of your own, such as flags),
and for each metric its last value (NAME.last) and its best (NAME.best:
the minimum, or the maximum when the run's goal for the metric is max,
see record.WithGoal). Long cells are cut at 40 characters.

--columns lr,batch,loss.min chooses the columns after the duration: each
is a path (lr, config.optim.beta) or, where a record has nothing at the
path, a metric summary (loss.min reads metrics.loss.min; loss.last shows
NaN or ±Inf when the last point was one).

--where keeps records whose value at a path compares with a value; give it
several times to require all: learning_rate=0.01, metrics.loss.last<0.3,
status!=failed, created>2026-11-26. OP is one of = != < <= > >=; the
value is an integer, a decimal, true, false, null, a time or a string. A
time is RFC 3339 (2026-11-26T10:00:00Z), a date and time without zone
(2026-11-26 10:00, UTC) or a date (2026-11-26, midnight UTC); quote a
value to compare it as a string. A condition whose path holds only values
of another kind, which it never matches, is an error (exit status 2).

--sort orders by the value at a path (metrics.loss.min, lr, created);
-PATH sorts descending. Numbers come first, then strings, then times;
records without such a value there come last, equal values in id order.

--best METRIC orders by a metric in the direction of its goal: ascending
for a minimised metric, descending where a record of the collection sets
goals.METRIC to max. METRIC is a name (loss: its min, or max for a
maximised one), NAME.FIELD (loss.last) or a full path (metrics.loss.last).

--group-by lr,batch prints a row per group of records with equal values at
those paths (int 1 and float 1.0 are equal) instead: the values, RUNS
(the group's size), and for each --metric (loss.min for metrics.loss.min,
loss for metrics.loss.last; repeatable, or comma-separated) N (members
with a finite value; NaN, ±Inf and missing values are counted beside it,
not averaged in), MEAN ± STD (sample standard deviation), STDERR and BEST
(the best member's id, by the metric's goal). Groups come in the order of
their values, or with --best by their mean; --limit keeps the first N
groups.

--json prints one record per line in the exact JSON form of "record show"
(floats always with a '.', {"$float": "NaN"}, {"$time": "..."}).`,
	run: runLs,
}

func runLs(e *env, args []string) error {
	var dsn, sortBy, groupBy, columns, best string
	var where, metricFlags strs
	var limit int
	var asJSON bool
	fs := e.flags(&dsn)
	fs.Var(&where, "where", "keep records where `PATH OP VALUE` holds (repeatable)")
	fs.StringVar(&sortBy, "sort", "", "sort by the value at `PATH`; -PATH sorts descending")
	fs.StringVar(&best, "best", "", "sort by `METRIC` in the direction of its goal (min, or max)")
	fs.IntVar(&limit, "limit", 0, "show at most `N` records, or groups (0: all)")
	fs.BoolVar(&asJSON, "json", false, "print JSON lines instead of a table")
	fs.StringVar(&columns, "columns", "", "show these `PATHS` (comma-separated params and metrics) after the duration")
	fs.StringVar(&groupBy, "group-by", "", "a row per group of records with equal values at these `PATHS` (comma-separated)")
	fs.Var(&metricFlags, "metric", "aggregate `METRIC` per group: loss.min, loss (its last), metrics.acc.max (repeatable)")
	pos, err := e.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	coll := pos[0]
	if err := checkColl(coll); err != nil {
		return err
	}
	opts, err := conds(where)
	if err != nil {
		return err
	}
	if limit < 0 {
		return usageErrorf("bad --limit %d: want 0 or more", limit)
	}
	if sortBy != "" && best != "" {
		return usageErrorf("--sort and --best both order the rows: give one")
	}
	var bestSpec metricSpec
	if best != "" {
		if bestSpec, err = metricPath(best, "--best"); err != nil {
			return err
		}
	}
	if groupBy != "" {
		switch {
		case asJSON:
			return usageErrorf("--json does not go with --group-by")
		case sortBy != "":
			return usageErrorf("--sort does not go with --group-by: groups come by their values, or by a metric's mean with --best")
		case columns != "":
			return usageErrorf("--columns does not go with --group-by: --metric chooses what groups show")
		}
		return lsGroups(e, dsn, coll, groupBy, metricFlags, bestSpec, limit, where, opts)
	}
	if len(metricFlags) > 0 {
		return usageErrorf("--metric goes with --group-by (--columns chooses the columns of records)")
	}
	var cols []column
	if columns != "" {
		if asJSON {
			return usageErrorf("--columns does not go with --json")
		}
		if cols, err = parseColumns(columns); err != nil {
			return err
		}
	}
	if sortBy != "" {
		o := record.OrderBy(strings.TrimPrefix(sortBy, "-"), strings.HasPrefix(sortBy, "-"))
		if err := o.Err(); err != nil {
			return usageErrorf("bad --sort %q: %v", sortBy, strings.TrimPrefix(err.Error(), "record: "))
		}
		opts = append(opts, o)
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	if bestSpec.path != "" {
		maximize, err := e.maximized(s, coll, bestSpec.path, opts)
		if err != nil {
			return err
		}
		field := "min"
		if maximize {
			field = "max"
		}
		opts = append(opts, record.OrderBy(bestSpec.withField(field).path, maximize))
	}
	if limit > 0 {
		opts = append(opts, record.Limit(limit))
	}
	switch {
	case cols != nil:
		// Only what the columns show leaves the server.
		fields := []string{"id", "created", "status", "duration"}
		for _, c := range cols {
			fields = append(fields, c.fields...)
		}
		opts = append(opts, record.Fields(fields...))
	case !asJSON:
		// The table shows top-level scalars and metric summaries, never
		// the machine facts: leave them on the server.
		opts = append(opts, record.Omit("host", "build", "run"))
	}
	n := 0
	var docs []map[string]any
	for snap, err := range s.List(e.ctx, coll, opts...) {
		if err != nil {
			return err
		}
		n++
		if !asJSON {
			d := snap.Doc()
			if _, ok := d["id"]; !ok {
				d["id"] = snap.ID() // a record written without its id field
			}
			docs = append(docs, d)
			continue
		}
		b, err := snap.MarshalJSON()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
	}
	if n == 0 {
		if err := e.mustExist(s, coll, dsn); err != nil {
			return err
		}
		if err := e.checkWhere(s, coll, where); err != nil {
			return err
		}
	}
	if asJSON {
		return nil
	}
	if cols != nil {
		return columnTable(e, docs, cols)
	}
	return table(e, docs)
}

// mustExist returns a not-found error when coll has no records at all.
func (e *env) mustExist(s *record.Store, coll, dsn string) error {
	for _, err := range s.List(e.ctx, coll, record.Limit(1), record.Fields("id")) {
		return err // there is a record, or an error
	}
	return e.notFound(coll, dsn)
}

// notFound is the error for a collection without records.
func (e *env) notFound(coll, dsn string) error {
	return fmt.Errorf("no collection %q in %s: %w", coll, e.storeName(dsn), record.ErrNotFound)
}

// table prints the ls table.
func table(e *env, docs []map[string]any) error {
	var paramNames, metricNames []string
	for _, d := range docs {
		for k := range params(d) {
			if !slices.Contains(paramNames, k) {
				paramNames = append(paramNames, k)
			}
		}
		m, _ := d["metrics"].(map[string]any)
		for k := range m {
			if !slices.Contains(metricNames, k) {
				metricNames = append(metricNames, k)
			}
		}
	}
	slices.Sort(paramNames)
	slices.Sort(metricNames)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	head := []string{"ID", "CREATED", "STATUS", "DURATION"}
	head = append(head, paramNames...)
	for _, m := range metricNames {
		head = append(head, m+".last", m+".best")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, d := range docs {
		row := []string{cellAt(d, "id"), cellAt(d, "created"), cellAt(d, "status")}
		v, ok := d["duration"]
		row = append(row, duration(v, ok))
		for _, p := range paramNames {
			row = append(row, cellAt(d, p))
		}
		for _, m := range metricNames {
			last, ok := metricLast(d, m)
			row = append(row, cell(last, ok), cellAt(d, "metrics", m, bestField(d, m)))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// metricLast is a metric's last value: metrics.NAME.last, or the name of
// a non-finite last value (NaN, +Inf, -Inf) that the summary keeps in
// last_nonfinite, its last being null so that queries can rank runs.
func metricLast(doc map[string]any, m string) (any, bool) {
	if nf, ok := lookup(doc, "metrics", m, "last_nonfinite"); ok {
		return nf, true
	}
	return lookup(doc, "metrics", m, "last")
}

// bestField is the summary field that holds a record's best value of
// metric m: max when the record's goal for m is max, else min.
func bestField(doc map[string]any, m string) string {
	if g, _ := lookup(doc, "goals", m); g == record.Maximize {
		return "max"
	}
	return "min"
}

func cellAt(doc map[string]any, path ...string) string {
	v, ok := lookup(doc, path...)
	return cell(v, ok)
}

// metricSpec is a metric path as the user typed it and as stored.
type metricSpec struct {
	name string // as typed: loss.min
	path string // metrics.loss.min
	bare bool   // a metric name alone: its field is still to choose
}

// metricPath reads a metric for --metric and --best: a name (loss, bare),
// NAME.FIELD (loss.min, for metrics.loss.min), metrics.NAME (bare) or
// any other path as it is (metrics.loss.min, duration).
func metricPath(text, flag string) (metricSpec, error) {
	keys, err := record.ParsePath(text)
	if err != nil {
		return metricSpec{}, usageErrorf("bad %s %q: %v", flag, text, strings.TrimPrefix(err.Error(), "record: "))
	}
	m := metricSpec{name: text, path: text}
	switch {
	case len(keys) == 1 && record.Managed(keys[0]):
		// duration and the like: a path of the record
	case len(keys) == 1:
		m.path, m.bare = "metrics."+keys[0], true
	case len(keys) == 2 && keys[0] == "metrics":
		m.bare = true
	case len(keys) == 2:
		m.path = "metrics." + text
	}
	return m, nil
}

// withField completes a bare metric with a summary field.
func (m metricSpec) withField(field string) metricSpec {
	if m.bare {
		m.path, m.bare = m.path+"."+field, false
		m.name = strings.TrimPrefix(m.path, "metrics.")
	}
	return m
}

// goalName is the metric whose goal ranks the values at path: NAME for
// metrics.NAME..., else the path's last key.
func goalName(path string) string {
	keys, _ := record.ParsePath(path)
	if len(keys) >= 2 && keys[0] == "metrics" {
		return keys[1]
	}
	return keys[len(keys)-1]
}

// maximized reports whether a record that opts select sets the goal of
// the metric at path to max (record.WithGoal).
func (e *env) maximized(s *record.Store, coll, path string, opts []record.ListOption) (bool, error) {
	q := append(slices.Clip(opts), record.Where("goals."+goalName(path), "=", record.Maximize),
		record.Fields("id"), record.Limit(1))
	for _, err := range s.List(e.ctx, coll, q...) {
		return err == nil, err
	}
	return false, nil
}

// lsGroups prints the table of groups of ls --group-by.
func lsGroups(e *env, dsn, coll, groupBy string, metricFlags []string, best metricSpec, limit int, where []string, opts []record.ListOption) error {
	var by []string
	for _, p := range strings.Split(groupBy, ",") {
		p = strings.TrimSpace(p)
		if _, err := record.ParsePath(p); err != nil {
			return usageErrorf("bad --group-by %q: %v", p, strings.TrimPrefix(err.Error(), "record: "))
		}
		by = append(by, p)
	}
	var metrics []metricSpec
	for _, f := range metricFlags {
		for _, t := range strings.Split(f, ",") {
			m, err := metricPath(strings.TrimSpace(t), "--metric")
			if err != nil {
				return err
			}
			m = m.withField("last")
			if !slices.ContainsFunc(metrics, func(o metricSpec) bool { return o.path == m.path }) {
				metrics = append(metrics, m)
			}
		}
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	maximize := false
	if best.path != "" {
		if maximize, err = e.maximized(s, coll, best.path, opts); err != nil {
			return err
		}
		field := "min"
		if maximize {
			field = "max"
		}
		best = best.withField(field)
		if !slices.ContainsFunc(metrics, func(m metricSpec) bool { return m.path == best.path }) {
			metrics = append(metrics, best)
		}
	}
	paths := make([]string, len(metrics))
	for i, m := range metrics {
		paths[i] = m.path
	}
	groups, err := s.Group(e.ctx, coll, by, paths, opts...)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		if err := e.mustExist(s, coll, dsn); err != nil {
			return err
		}
		if err := e.checkWhere(s, coll, where); err != nil {
			return err
		}
	}
	if best.path != "" {
		slices.SortStableFunc(groups, func(a, b record.Group) int {
			x, y := a.Stats[best.path].Mean, b.Stats[best.path].Mean
			switch {
			case math.IsNaN(x) || math.IsNaN(y):
				return cmp.Compare(boolInt(math.IsNaN(x)), boolInt(math.IsNaN(y)))
			case maximize:
				return cmp.Compare(y, x)
			}
			return cmp.Compare(x, y)
		})
	}
	if limit > 0 && len(groups) > limit {
		groups = groups[:limit]
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	head := make([]string, 0, len(by)+1+4*len(metrics))
	for _, p := range by {
		head = append(head, cell(p, true))
	}
	head = append(head, "RUNS")
	for _, m := range metrics {
		head = append(head, cell(m.name, true)+": N", "MEAN ± STD", "STDERR", "BEST")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, g := range groups {
		row := make([]string, 0, len(head))
		for _, v := range g.Values {
			row = append(row, cell(v, v != nil))
		}
		row = append(row, strconv.Itoa(len(g.IDs)))
		for _, m := range metrics {
			st := g.Stats[m.path]
			id, ok := g.Best[m.path]
			row = append(row, statN(st), meanStd(st), optNumber(st.Stderr), cell(id, ok))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// statN is N with the non-finite and missing values counted beside it:
// "4 (1 NaN/Inf, 2 missing)".
func statN(st record.Stat) string {
	var extra []string
	if st.NonFinite > 0 {
		extra = append(extra, strconv.Itoa(st.NonFinite)+" NaN/Inf")
	}
	if st.Missing > 0 {
		extra = append(extra, strconv.Itoa(st.Missing)+" missing")
	}
	if extra == nil {
		return strconv.Itoa(st.N)
	}
	return strconv.Itoa(st.N) + " (" + strings.Join(extra, ", ") + ")"
}

// meanStd is "mean ± std", the mean alone for one value, "-" for none.
func meanStd(st record.Stat) string {
	switch {
	case st.N == 0:
		return "-"
	case st.N == 1:
		return report.Number(st.Mean)
	}
	return report.Number(st.Mean) + " ± " + report.Number(st.Std)
}

// optNumber is a number, or "-" for NaN (no value).
func optNumber(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return report.Number(f)
}

// column is one --columns column.
type column struct {
	name   string
	keys   []string // the path as given
	metric []string // metrics.<path>, read where the record has nothing at keys
	fields []string // what to read for it
}

// parseColumns reads --columns.
func parseColumns(text string) ([]column, error) {
	var cols []column
	for _, t := range strings.Split(text, ",") {
		t = strings.TrimSpace(t)
		keys, err := record.ParsePath(t)
		if err != nil {
			return nil, usageErrorf("bad --columns %q: %v", t, strings.TrimPrefix(err.Error(), "record: "))
		}
		c := column{name: t, keys: keys, fields: []string{t}}
		if keys[0] != "metrics" {
			c.metric = append([]string{"metrics"}, keys...)
			c.fields = append(c.fields, "metrics."+t)
		}
		mk := c.keys
		if c.metric != nil {
			mk = c.metric
		}
		if len(mk) == 3 && mk[2] == "last" {
			c.fields = append(c.fields, strings.Join([]string{mk[0], mk[1], "last_nonfinite"}, "."))
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// value is the column's value in doc: at its path, else at the metric
// summary path; a last value that was NaN or ±Inf is named.
func (c column) value(doc map[string]any) (any, bool) {
	if v, ok := lookup(doc, c.keys...); ok && v != nil {
		return v, true
	}
	for _, k := range [][]string{c.keys, c.metric} {
		if len(k) == 3 && k[0] == "metrics" && k[2] == "last" {
			if v, ok := metricLast(doc, k[1]); ok {
				return v, true
			}
		}
	}
	if c.metric != nil {
		if v, ok := lookup(doc, c.metric...); ok {
			return v, true
		}
	}
	return lookup(doc, c.keys...)
}

// columnTable prints the ls table with the --columns columns.
func columnTable(e *env, docs []map[string]any, cols []column) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	head := []string{"ID", "CREATED", "STATUS", "DURATION"}
	for _, c := range cols {
		head = append(head, cell(c.name, true))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, d := range docs {
		row := []string{cellAt(d, "id"), cellAt(d, "created"), cellAt(d, "status")}
		v, ok := d["duration"]
		row = append(row, duration(v, ok))
		for _, c := range cols {
			row = append(row, cell(c.value(d)))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}
