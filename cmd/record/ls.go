package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/recordlab/go-record/record"
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
	summary: "list the records of a collection as a table",
	help: `
The table has a row per record, oldest first: id, created (UTC), status,
duration, every top-level parameter (scalar top-level fields of your own,
such as flags), and for each metric its last value (NAME.last) and its
best, the minimum (NAME.best). Long cells are cut at 40 characters.

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

--json prints one record per line in the exact JSON form of "record show"
(floats always with a '.', {"$float": "NaN"}, {"$time": "..."}).`,
	run: runLs,
}

func runLs(e *env, args []string) error {
	var dsn, sortBy string
	var where strs
	var limit int
	var asJSON bool
	fs := e.flags(&dsn)
	fs.Var(&where, "where", "keep records where `PATH OP VALUE` holds (repeatable)")
	fs.StringVar(&sortBy, "sort", "", "sort by the value at `PATH`; -PATH sorts descending")
	fs.IntVar(&limit, "limit", 0, "show at most `N` records (0: all)")
	fs.BoolVar(&asJSON, "json", false, "print JSON lines instead of a table")
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
	if sortBy != "" {
		o := record.OrderBy(strings.TrimPrefix(sortBy, "-"), strings.HasPrefix(sortBy, "-"))
		if err := o.Err(); err != nil {
			return usageErrorf("bad --sort %q: %v", sortBy, strings.TrimPrefix(err.Error(), "record: "))
		}
		opts = append(opts, o)
	}
	if limit > 0 {
		opts = append(opts, record.Limit(limit))
	}
	if !asJSON {
		// The table shows top-level scalars and metric summaries, never
		// the machine facts: leave them on the server.
		opts = append(opts, record.Omit("host", "build", "run"))
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
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
			row = append(row, cell(last, ok), cellAt(d, "metrics", m, "min"))
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

func cellAt(doc map[string]any, path ...string) string {
	v, ok := lookup(doc, path...)
	return cell(v, ok)
}
