package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/recordlab/go-record/record"
)

var compareCmd = &command{
	name:    "compare",
	args:    "COLLECTION ID1 ID2 [ID...]",
	summary: "compare several records side by side: what differs, final metrics",
	help: `
Prints a column per record: its status ("crashed" for a running record
whose heartbeat stopped), created time, duration and error; the
parameters (fields of your own, nested objects dotted: config.optim.lr;
not arrays, nor the models object) that differ between the records ("-"
where one lacks it); and each
metric's last, min and max value. The parameters all the records share
are folded into one line at the end: "same: epochs=10, optimizer=adam".

--host adds the host facts (host.*, nested keys dotted, gpus[0].name)
that differ, and a line "same host: ..." with those they share; without
it the machine is left out.`,
	run: runCompare,
}

func runCompare(e *env, args []string) error {
	var dsn string
	var host bool
	fs := e.flags(&dsn)
	fs.BoolVar(&host, "host", false, "show the host facts that differ, and those the records share")
	pos, err := e.parse(fs, args, 3, -1)
	if err != nil {
		return err
	}
	coll, ids := pos[0], pos[1:]
	if err := checkRefs(coll, ids...); err != nil {
		return err
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	docs := make([]map[string]any, len(ids))
	for i, id := range ids {
		snap, err := s.Get(e.ctx, coll, id)
		if err != nil {
			return err
		}
		docs[i] = snap.Doc()
	}

	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	head := []string{""}
	for _, id := range ids {
		head = append(head, cell(id, true))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	// row prints a row: the value get gives for each record, by index.
	row := func(name string, format func(any, bool) string, get func(i int) (any, bool)) {
		r := []string{"  " + cell(name, true)}
		for i := range docs {
			r = append(r, format(get(i)))
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	section := func(title string) { fmt.Fprintln(tw, title+strings.Repeat("\t", len(ids))) }
	field := func(k string) func(int) (any, bool) {
		return func(i int) (any, bool) { v, ok := docs[i][k]; return v, ok }
	}
	at := func(flat []map[string]any, k string) func(int) (any, bool) {
		return func(i int) (any, bool) { v, ok := flat[i][k]; return v, ok }
	}

	section("record")
	row("status", cell, field("status"))
	row("created", cell, field("created"))
	row("duration", duration, field("duration"))
	if slices.ContainsFunc(docs, func(d map[string]any) bool { _, ok := d["error"]; return ok }) {
		row("error", cell, field("error"))
	}

	flat := make([]map[string]any, len(docs))
	for i, d := range docs {
		flat[i] = userFields(d)
	}
	differ, same := split(flat)
	if len(differ) > 0 {
		section("params")
		for _, k := range differ {
			row(k, cell, at(flat, k))
		}
	}

	var names []string
	for _, d := range docs {
		m, _ := d["metrics"].(map[string]any)
		for k := range m {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		section("metrics")
		for _, m := range names {
			row(m+".last", cell, func(i int) (any, bool) { return metricLast(docs[i], m) })
			for _, f := range []string{"min", "max"} {
				row(m+"."+f, cell, func(i int) (any, bool) { return lookup(docs[i], "metrics", m, f) })
			}
		}
	}

	var hostSame []string
	var hosts []map[string]any
	if host {
		hosts = make([]map[string]any, len(docs))
		for i, d := range docs {
			hosts[i] = flatten(d["host"])
		}
		var hostDiffer []string
		hostDiffer, hostSame = split(hosts)
		if len(hostDiffer) > 0 {
			section("host")
			for _, k := range hostDiffer {
				row(k, cell, at(hosts, k))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "same: "+joinSame(flat[0], same))
	if host {
		fmt.Fprintln(e.stdout, "same host: "+joinSame(hosts[0], hostSame))
	}
	return nil
}

// userFields returns the fields a run wrote itself, nested objects
// flattened to dotted names (config.optim.lr); arrays (losses, weights)
// and the models object (the classic per-model data) are data, not
// parameters, and are left out.
func userFields(doc map[string]any) map[string]any {
	user := map[string]any{}
	for k, v := range doc {
		if record.Managed(k) || slices.Contains(machine, k) || k == "models" {
			continue
		}
		user[k] = v
	}
	out := flatten(user)
	maps.DeleteFunc(out, func(_ string, v any) bool { _, isArray := v.([]any); return isArray })
	return out
}

// split returns the keys of the maps whose values differ between them (or
// that some lack) and those all share with the same value, each sorted.
func split(flat []map[string]any) (differ, shared []string) {
	var keys []string
	for _, m := range flat {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v0, ok0 := flat[0][k]
		eq := true
		for _, m := range flat[1:] {
			v, ok := m[k]
			if ok != ok0 || !same(v, v0) {
				eq = false
				break
			}
		}
		if eq {
			shared = append(shared, k)
		} else {
			differ = append(differ, k)
		}
	}
	return differ, shared
}

// joinSame writes the shared keys and values: "epochs=10, optimizer=adam",
// or "-" when there are none.
func joinSame(m map[string]any, keys []string) string {
	if len(keys) == 0 {
		return "-"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = cell(k, true) + "=" + cell(m[k], true)
	}
	return strings.Join(parts, ", ")
}
