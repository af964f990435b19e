package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/recordlab/go-record/record"
)

// managed are the fields the library keeps in every record (see
// record.Managed), printed after the run's own fields in this order; host,
// build and run (the machine) come last.
var managed = []string{"id", "collection", "created", "status", "ended", "duration", "error", "updated", "series", "parent", "goals", "heartbeat", "alive_until", "batches"}

// machine are the facts about the machine, printed last: build.deps alone
// is a line per dependency.
var machine = []string{"run", "host", "build"}

// printRecord writes snap as indented JSON in its exact form
// (Snapshot.MarshalJSON: ints and floats apart, NaN as {"$float": "NaN"}),
// in the order a reader wants it: the run's own scalar fields (its flags),
// then desc, models and its other fields, then metrics, then the fields
// the library manages, then run, host and build. Nested objects have their
// keys sorted, and arrays of plain values sit on one line, as
// Snapshot.JSON prints them.
func printRecord(w io.Writer, snap *record.Snapshot) error {
	raw, err := snap.MarshalJSON()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers keep their exact text: 10 and 10.0 stay apart
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	var scalars, others, tail []string
	for k, v := range doc {
		switch {
		case record.Managed(k), slices.Contains(machine, k):
		case isPlain(v) && k != "desc": // flags and other scalars
			scalars = append(scalars, k)
		default:
			others = append(others, k)
		}
	}
	slices.Sort(scalars)
	slices.SortFunc(others, func(a, b string) int { // desc first, then models, then the rest
		return strings.Compare(rank(a), rank(b))
	})
	for _, k := range append(append([]string{"metrics"}, managed...), machine...) {
		if _, ok := doc[k]; ok {
			tail = append(tail, k)
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("{\n")
	for i, k := range slices.Concat(scalars, others, tail) {
		bw.WriteString("  ")
		writePretty(bw, k, "")
		bw.WriteString(": ")
		writePretty(bw, doc[k], "  ")
		if i < len(doc)-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// rank orders the run's non-scalar fields: desc, models, then by name.
func rank(k string) string {
	switch k {
	case "desc":
		return "0"
	case "models":
		return "1"
	}
	return "2" + k
}

// isPlain reports whether v is a JSON scalar, or a one-key tagged value
// such as {"$float": "NaN"} or {"$time": "..."}, printed on one line.
func isPlain(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return tagged(x)
	case []any:
		return false
	}
	return true
}

// tagged reports whether m is the exact form's one-key tagged value.
func tagged(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k, v := range m {
		_, isMap := v.(map[string]any)
		_, isSlice := v.([]any)
		return strings.HasPrefix(k, "$") && !isMap && !isSlice
	}
	return false
}

// writePretty writes v, decoded with UseNumber, indented under prefix.
func writePretty(w *bufio.Writer, v any, prefix string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			w.WriteString("{}")
			return
		}
		if tagged(x) {
			for k, v := range x {
				w.WriteByte('{')
				writePretty(w, k, "")
				w.WriteString(": ")
				writePretty(w, v, "")
				w.WriteByte('}')
			}
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.WriteString("{\n")
		for i, k := range keys {
			w.WriteString(prefix + "  ")
			writePretty(w, k, "")
			w.WriteString(": ")
			writePretty(w, x[k], prefix+"  ")
			if i < len(keys)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(prefix + "}")
	case []any:
		flat := !slices.ContainsFunc(x, func(e any) bool { return !isPlain(e) })
		if flat {
			w.WriteByte('[')
			for i, e := range x {
				if i > 0 {
					w.WriteString(", ")
				}
				writePretty(w, e, "")
			}
			w.WriteByte(']')
			return
		}
		w.WriteString("[\n")
		for i, e := range x {
			w.WriteString(prefix + "  ")
			writePretty(w, e, prefix+"  ")
			if i < len(x)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(prefix + "]")
	case json.Number:
		w.WriteString(string(x))
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil { // strings, bools, null: cannot fail
			b.Reset()
			b.WriteString("null\n")
		}
		w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
}
