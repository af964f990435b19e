package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/recordlab/go-record/record"
)

var showCmd = &command{
	name:    "show",
	args:    "COLLECTION ID",
	summary: "print a record as indented JSON",
	help: `
The JSON is the exact form of the record (Snapshot.MarshalJSON): keys
sorted, floats always with a '.', and one-key objects for what JSON cannot
hold: {"$float": "NaN"}, {"$float": "+Inf"}, {"$time": "2026-11-25T10:00:00.000Z"}.
--path prints one subtree instead, such as models.model_0 or metrics.loss.`,
	run: runShow,
}

func runShow(e *env, args []string) error {
	var dsn, path string
	fs := e.flags(&dsn)
	fs.StringVar(&path, "path", "", "print only the value at the dotted `PATH`")
	pos, err := e.parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	coll, id := pos[0], pos[1]
	if err := checkRefs(coll, id); err != nil {
		return err
	}
	if path != "" {
		if _, err := record.ParsePath(path); err != nil {
			return usageErrorf("bad --path %q: %v", path, strings.TrimPrefix(err.Error(), "record: "))
		}
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	snap, err := s.Get(e.ctx, coll, id)
	if err != nil {
		return err
	}
	var v any = snap.Doc()
	if path != "" {
		var ok bool
		if v, ok = snap.Get(path); !ok {
			return fmt.Errorf("%s/%s has no %s: %w", coll, id, path, record.ErrNotFound)
		}
	}
	out, err := indent(v)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, out)
	return nil
}

var diffCmd = &command{
	name:    "diff",
	args:    "COLLECTION ID1 ID2",
	summary: "compare two records side by side",
	help: `
Prints the two records' status, created time and duration, their
parameters (scalar top-level fields of your own), their host facts
(host.*) and the final value (NAME.last) and best value (NAME.best, the
minimum) of each metric, one row per field. Rows that differ start with
'*'; a field one record lacks shows as '-'. The exit status is 0 whether
or not they differ.`,
	run: runDiff,
}

func runDiff(e *env, args []string) error {
	var dsn string
	fs := e.flags(&dsn)
	pos, err := e.parse(fs, args, 3, 3)
	if err != nil {
		return err
	}
	coll := pos[0]
	if err := checkRefs(coll, pos[1:]...); err != nil {
		return err
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	var docs [2]map[string]any
	for i, id := range pos[1:] {
		snap, err := s.Get(e.ctx, coll, id)
		if err != nil {
			return err
		}
		docs[i] = snap.Doc()
	}
	a, b := docs[0], docs[1]

	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\t\t%s\t%s\n", cell(pos[1], true), cell(pos[2], true))
	differ, fields := 0, 0
	row := func(name string, va, vb any, oka, okb bool, format func(any, bool) string) {
		mark := " "
		if oka != okb || !same(va, vb) {
			mark = "*"
			differ++
		}
		fields++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, name, format(va, oka), format(vb, okb))
	}
	section := func(title string) { fmt.Fprintf(tw, "\t%s\t\t\n", title) }

	section("record")
	for _, k := range []string{"status", "created", "duration"} {
		va, oka := a[k]
		vb, okb := b[k]
		f := cell
		if k == "duration" {
			f = duration
		}
		row(k, va, vb, oka, okb, f)
	}
	pa, pb := params(a), params(b)
	if names := union(pa, pb); len(names) > 0 {
		section("params")
		for _, k := range names {
			va, oka := pa[k]
			vb, okb := pb[k]
			row(k, va, vb, oka, okb, cell)
		}
	}
	ha, hb := flatten(a["host"]), flatten(b["host"])
	if names := union(ha, hb); len(names) > 0 {
		section("host")
		for _, k := range names {
			va, oka := ha[k]
			vb, okb := hb[k]
			row(k, va, vb, oka, okb, cell)
		}
	}
	ma, _ := a["metrics"].(map[string]any)
	mb, _ := b["metrics"].(map[string]any)
	if names := union(ma, mb); len(names) > 0 {
		section("metrics")
		for _, m := range names {
			va, oka := metricLast(a, m)
			vb, okb := metricLast(b, m)
			row(m+".last", va, vb, oka, okb, cell)
			va, oka = lookup(a, "metrics", m, "min")
			vb, okb = lookup(b, "metrics", m, "min")
			row(m+".best", va, vb, oka, okb, cell)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%d of %d fields differ\n", differ, fields)
	return err
}

// union returns the keys of two maps, sorted.
func union(a, b map[string]any) []string {
	var out []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// flatten turns nested objects into dotted leaves: {"cpu": {"model": "x"}}
// becomes {"cpu.model": "x"}; arrays of objects get an index,
// "gpus[0].name"; arrays of scalars stay whole.
func flatten(v any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, e)
			}
			return
		case []any:
			objects := false
			for _, e := range x {
				switch e.(type) {
				case map[string]any, []any:
					objects = true
				}
			}
			if objects {
				for i, e := range x {
					walk(prefix+"["+strconv.Itoa(i)+"]", e)
				}
				return
			}
		}
		if prefix != "" {
			out[prefix] = v
		}
	}
	walk("", v)
	return out
}
