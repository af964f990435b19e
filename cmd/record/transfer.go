package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

var exportCmd = &command{
	name:    "export",
	args:    "COLLECTION",
	summary: "write a collection's records with their series as JSON lines to stdout",
	help: `
Each line is one record, oldest first, in the exact JSON form of "record
show" (floats always with a '.', {"$float": "NaN"}, {"$time": "..."}), so
every value comes back bit for bit:

  {"id": ID, "doc": DOCUMENT, "series": {NAME: {"steps": [...], "values": [...], "times": [...]}}}

"series" holds the points of every metric series of the record (absent
when there is none). "record import" reads these lines back; exporting
again gives the same bytes.`,
	run: runExport,
}

func runExport(e *env, args []string) error {
	var dsn string
	var where strs
	fs := e.flags(&dsn)
	fs.Var(&where, "where", "export only records where `PATH OP VALUE` holds (repeatable)")
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
	s, err := e.open(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	snaps, err := s.ListAll(e.ctx, coll, opts...)
	if err != nil {
		return err
	}
	if len(snaps) == 0 && len(where) == 0 {
		return e.mustExist(s, coll, dsn)
	}
	bar := e.progress("export "+coll, len(snaps))
	defer bar.done()
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	for _, snap := range snaps {
		doc := snap.Doc()
		ser, err := readSeries(e, s.Backend_(), coll, snap.ID(), doc)
		if err != nil {
			return err
		}
		line, err := encodeLine(snap.ID(), doc, ser)
		if err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		bar.add(1)
	}
	return w.Flush()
}

// series are a record's metric points by metric name.
type series map[string][]backend.Point

// readSeries reads the points of every metric the document summarises.
// A backend without a series store keeps them in the document itself.
func readSeries(e *env, b backend.Backend, coll, id string, doc map[string]any) (series, error) {
	ss, ok := b.(backend.SeriesStore)
	if !ok {
		return nil, nil
	}
	m, _ := doc["metrics"].(map[string]any)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	out := series{}
	for _, name := range names {
		var pts []backend.Point
		for batch, err := range ss.ReadSeries(e.ctx, coll, id, name) {
			if err != nil {
				return nil, fmt.Errorf("read series %s of %s/%s: %w", name, coll, id, err)
			}
			pts = append(pts, batch...)
		}
		if len(pts) > 0 {
			out[name] = pts
		}
	}
	return out, nil
}

// encodeLine is one line of the export format.
func encodeLine(id string, doc map[string]any, ser series) ([]byte, error) {
	buf := []byte(`{"id":`)
	buf, err := docjson.Append(buf, id)
	if err != nil {
		return nil, err
	}
	buf = append(buf, `,"doc":`...)
	if buf, err = docjson.Append(buf, doc); err != nil {
		return nil, fmt.Errorf("encode %s: %w", id, err)
	}
	if len(ser) > 0 {
		m := make(map[string]any, len(ser))
		for name, pts := range ser {
			steps := make([]any, len(pts))
			values := make([]any, len(pts))
			times := make([]any, len(pts))
			for i, p := range pts {
				steps[i], values[i], times[i] = p.Step, p.Value, p.Time.UTC()
			}
			m[name] = map[string]any{"steps": steps, "values": values, "times": times}
		}
		buf = append(buf, `,"series":`...)
		if buf, err = docjson.Append(buf, m); err != nil {
			return nil, fmt.Errorf("encode series of %s: %w", id, err)
		}
	}
	return append(buf, "}\n"...), nil
}

// decodeLine reads one line of the export format.
func decodeLine(line []byte) (id string, doc map[string]any, ser series, err error) {
	top, err := docjson.Unmarshal(line)
	if err != nil {
		return "", nil, nil, err
	}
	for k := range top {
		if k != "id" && k != "doc" && k != "series" {
			return "", nil, nil, fmt.Errorf("unknown field %q (want id, doc, series)", k)
		}
	}
	id, ok := top["id"].(string)
	if !ok {
		return "", nil, nil, errors.New(`"id" is missing or not a string`)
	}
	if err := record.ValidID(id); err != nil {
		return "", nil, nil, fmt.Errorf("bad id %q", id)
	}
	doc, ok = top["doc"].(map[string]any)
	if !ok {
		return "", nil, nil, errors.New(`"doc" is missing or not an object`)
	}
	nv, err := record.Normalize(doc) // validates keys and values
	if err != nil {
		return "", nil, nil, err
	}
	doc = nv.(map[string]any)
	sm, ok := top["series"].(map[string]any)
	if !ok && top["series"] != nil {
		return "", nil, nil, errors.New(`"series" is not an object`)
	}
	ser = series{}
	for name, v := range sm {
		if _, err := record.ParsePath(name); err != nil || name == "" {
			return "", nil, nil, fmt.Errorf("bad metric name %q", name)
		}
		pts, err := decodePoints(v)
		if err != nil {
			return "", nil, nil, fmt.Errorf("series %s: %w", name, err)
		}
		ser[name] = pts
	}
	return id, doc, ser, nil
}

func decodePoints(v any) ([]backend.Point, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	steps, _ := m["steps"].([]any)
	values, _ := m["values"].([]any)
	times, hasTimes := m["times"].([]any)
	if len(values) != len(steps) || hasTimes && len(times) != len(steps) {
		return nil, errors.New("steps, values and times differ in length")
	}
	pts := make([]backend.Point, len(steps))
	for i := range steps {
		st, ok := steps[i].(int64)
		if !ok {
			return nil, fmt.Errorf("step %d is not an integer", i)
		}
		var val float64
		switch x := values[i].(type) {
		case float64:
			val = x
		case int64:
			val = float64(x)
		default:
			return nil, fmt.Errorf("value %d is not a number", i)
		}
		pts[i] = backend.Point{Step: st, Value: val}
		if hasTimes {
			t, ok := times[i].(time.Time)
			if !ok {
				return nil, fmt.Errorf("time %d is not a {\"$time\": ...}", i)
			}
			pts[i].Time = t
		}
	}
	return pts, nil
}

var importCmd = &command{
	name:    "import",
	args:    "COLLECTION",
	summary: `read JSON lines written by "record export" from stdin into a collection`,
	help: `
Each record is stored with its id, every value exactly as exported (the
document's "collection" field is set to COLLECTION), and its series.
Importing again is safe: a record already stored with the same document
is left alone (its series are completed if an earlier run stopped half
way). A record stored with another document, or other series points, is a
conflict: nothing of it is changed, the others are imported, and the exit
status is 4; --overwrite replaces such records instead.`,
	run: runImport,
}

func runImport(e *env, args []string) error {
	var dsn string
	var overwrite, verbose bool
	fs := e.flags(&dsn)
	fs.BoolVar(&overwrite, "overwrite", false, "replace records that exist with other content")
	fs.BoolVar(&verbose, "v", false, "print a summary on stderr even when it is not a terminal")
	pos, err := e.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	coll := pos[0]
	if err := checkColl(coll); err != nil {
		return err
	}
	s, err := e.open(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	t := transfer{e: e, dst: s.Backend_(), overwrite: overwrite}
	bar := e.progress("import "+coll, 0)
	r := bufio.NewReaderSize(e.stdin, 1<<16)
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			bar.done()
			return fmt.Errorf("read stdin: %w", rerr)
		}
		if len(trimSpace(line)) > 0 {
			id, doc, ser, err := decodeLine(line)
			if err != nil {
				bar.done()
				return fmt.Errorf("line %d: %v", n, err)
			}
			if _, ok := doc["collection"]; ok {
				doc["collection"] = coll
			}
			if err := t.put(coll, id, doc, ser); err != nil {
				bar.done()
				return err
			}
			bar.add(1)
		}
		if rerr == io.EOF {
			break
		}
		if err := e.ctx.Err(); err != nil {
			bar.done()
			return err
		}
	}
	bar.done()
	return t.finish("imported", verbose)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

var copyCmd = &command{
	name:    "copy",
	args:    "[COLLECTION...]",
	summary: "copy collections with their series from one store to another",
	help: `
Copies the named collections (all of them when none is named) from --from
(default: --dsn, $RECORD_DSN, else ` + record.DefaultDSN + `) to --to, for
example from the laptop's SQLite file to the team's PostgreSQL or MongoDB.
Every value is kept exactly: ids, ints and floats (NaN, ±Inf, -0), times,
and every series point. Copying again is safe, as with "record import": a
record present with the same document is skipped (its series completed if
an earlier copy stopped half way), a record present with other content is
a conflict (exit status 4) unless --overwrite replaces it. Nothing is
printed on stdout; a progress bar is drawn on stderr when it is a terminal.`,
	run: runCopy,
}

func runCopy(e *env, args []string) error {
	var from, to string
	var overwrite, verbose bool
	fs := e.flags(nil)
	fs.StringVar(&from, "from", "", "source store `DSN` (default --dsn, $RECORD_DSN, else "+record.DefaultDSN+")")
	fs.StringVar(&to, "to", "", "destination store `DSN` (required)")
	fs.BoolVar(&overwrite, "overwrite", false, "replace records that exist in the destination with other content")
	fs.BoolVar(&verbose, "v", false, "print a summary on stderr even when it is not a terminal")
	colls, err := e.parse(fs, args, 0, -1)
	if err != nil {
		return err
	}
	if to == "" {
		return usageErrorf("missing --to DSN")
	}
	for _, c := range colls {
		if err := checkColl(c); err != nil {
			return err
		}
	}
	src, err := e.open(from)
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	e.remember(to)
	dst, err := record.Open(e.ctx, to)
	if err != nil {
		return err
	}
	defer dst.Close(context.Background())
	if len(colls) == 0 {
		if colls, err = src.Collections(e.ctx); err != nil {
			return err
		}
	}
	t := transfer{e: e, dst: dst.Backend_(), overwrite: overwrite}
	for _, coll := range colls {
		snaps, err := src.ListAll(e.ctx, coll)
		if err != nil {
			return err
		}
		if len(snaps) == 0 {
			if err := e.mustExist(src, coll, from); err != nil {
				return err
			}
		}
		bar := e.progress("copy "+coll, len(snaps))
		for _, snap := range snaps {
			doc := snap.Doc()
			ser, err := readSeries(e, src.Backend_(), coll, snap.ID(), doc)
			if err != nil {
				bar.done()
				return err
			}
			if err := t.put(coll, snap.ID(), doc, ser); err != nil {
				bar.done()
				return err
			}
			bar.add(1)
		}
		bar.done()
	}
	return t.finish("copied", verbose)
}

// transfer stores whole records into a backend, idempotently.
type transfer struct {
	e         *env
	dst       backend.Backend
	overwrite bool

	added, same, resumed, replaced int
	conflicts                      []string
}

// put stores one record with its series: a new record is inserted; one
// with the same document is kept, and its series completed when they are
// a prefix of ser; anything else is a conflict, or replaced on overwrite.
func (t *transfer) put(coll, id string, doc map[string]any, ser series) error {
	ctx := t.e.ctx
	ss, hasSeries := t.dst.(backend.SeriesStore)
	if !hasSeries && len(ser) > 0 {
		// Without a series store, series live in the document, as record
		// keeps them for such backends.
		doc = docWithSeries(doc, ser)
		ser = nil
	}
	old, err := t.dst.Get(ctx, coll, id)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		if err := t.dst.Insert(ctx, coll, id, doc); err != nil {
			return err
		}
		t.added++
		return t.appendAll(ss, coll, id, ser, nil)
	case err != nil:
		return err
	}
	if same(old, doc) {
		have := series{}
		for name := range ser {
			for batch, err := range ss.ReadSeries(ctx, coll, id, name) {
				if err != nil {
					return err
				}
				have[name] = append(have[name], batch...)
			}
		}
		if prefixes(have, ser) {
			if complete(have, ser) {
				t.same++
			} else {
				t.resumed++
			}
			return t.appendAll(ss, coll, id, ser, have)
		}
	}
	if !t.overwrite {
		t.conflicts = append(t.conflicts, coll+"/"+id)
		return nil
	}
	d, ok := t.dst.(backend.Deleter)
	if !ok {
		return fmt.Errorf("%s/%s: the destination cannot delete records to overwrite them: %w", coll, id, record.ErrUnsupported)
	}
	if err := d.Delete(ctx, coll, id); err != nil {
		return err
	}
	if err := t.dst.Insert(ctx, coll, id, doc); err != nil {
		return err
	}
	t.replaced++
	return t.appendAll(ss, coll, id, ser, nil)
}

// appendAll appends the points of ser that have has not, in batches.
func (t *transfer) appendAll(ss backend.SeriesStore, coll, id string, ser, have series) error {
	names := make([]string, 0, len(ser))
	for name := range ser {
		names = append(names, name)
	}
	slices.Sort(names)
	const batch = 10000
	for _, name := range names {
		pts := ser[name][len(have[name]):]
		for len(pts) > 0 {
			n := min(batch, len(pts))
			if err := ss.AppendSeries(t.e.ctx, coll, id, name, pts[:n]); err != nil {
				return fmt.Errorf("append series %s of %s/%s: %w", name, coll, id, err)
			}
			pts = pts[n:]
		}
	}
	return nil
}

// prefixes reports whether every series in have is a prefix of the one in want.
func prefixes(have, want series) bool {
	for name, h := range have {
		w := want[name]
		if len(h) > len(w) {
			return false
		}
		for i := range h {
			if !samePoint(h[i], w[i]) {
				return false
			}
		}
	}
	return true
}

func complete(have, want series) bool {
	for name, w := range want {
		if len(have[name]) != len(w) {
			return false
		}
	}
	return true
}

func samePoint(a, b backend.Point) bool {
	return a.Step == b.Step && a.Time.Equal(b.Time) &&
		(math.Float64bits(a.Value) == math.Float64bits(b.Value) || math.IsNaN(a.Value) && math.IsNaN(b.Value))
}

// docWithSeries puts series into the document at series.NAME.{steps,values,times}.
func docWithSeries(doc map[string]any, ser series) map[string]any {
	out := make(map[string]any, len(doc)+1)
	for k, v := range doc {
		out[k] = v
	}
	sm, _ := out["series"].(map[string]any)
	if sm == nil {
		sm = map[string]any{}
	}
	for name, pts := range ser {
		steps, values, times := make([]any, len(pts)), make([]any, len(pts)), make([]any, len(pts))
		for i, p := range pts {
			steps[i], values[i], times[i] = p.Step, p.Value, p.Time
		}
		sm[name] = map[string]any{"steps": steps, "values": values, "times": times}
	}
	out["series"] = sm
	return out
}

// finish reports the counts and the conflicts.
func (t *transfer) finish(verb string, verbose bool) error {
	if verbose || isTerminal(t.e.stderr) {
		fmt.Fprintf(t.e.stderr, "%s %d records: %d added, %d unchanged, %d completed, %d replaced, %d conflicting\n",
			verb, t.added+t.same+t.resumed+t.replaced+len(t.conflicts), t.added, t.same, t.resumed, t.replaced, len(t.conflicts))
	}
	if len(t.conflicts) > 0 {
		return &conflictError{msg: fmt.Sprintf("%d records exist with other content and were left unchanged (first: %s); --overwrite replaces them",
			len(t.conflicts), t.conflicts[0])}
	}
	return nil
}
