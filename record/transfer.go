package record

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// TransferReport says what Import or Copy did with each record it read.
type TransferReport struct {
	// Added counts records that the destination did not have.
	Added int
	// Unchanged counts records that the destination had with the same
	// document and every series point.
	Unchanged int
	// Completed counts records that the destination had with the same
	// document and the first part of each series (an earlier transfer
	// stopped half way): the missing points were appended.
	Completed int
	// Replaced counts records that the destination had with other content
	// and that Overwrite replaced.
	Replaced int
	// Conflicts names ("collection/id") the records that the destination
	// has with another document or other series points, left unchanged.
	Conflicts []string
}

// Records returns the number of records read: the sum of every count.
func (r TransferReport) Records() int {
	return r.Added + r.Unchanged + r.Completed + r.Replaced + len(r.Conflicts)
}

// ConflictError is the error Import and Copy return, beside their report,
// when the destination holds some of the records with other content; those
// were left unchanged and every other record was transferred. It matches
// ErrExists with errors.Is.
type ConflictError struct {
	// Conflicts names the records left unchanged, as "collection/id".
	Conflicts []string
}

func (e *ConflictError) Error() string {
	if len(e.Conflicts) == 1 {
		return "record: " + e.Conflicts[0] + " exists with other content and was left unchanged"
	}
	return fmt.Sprintf("record: %d records exist with other content and were left unchanged (first: %s)",
		len(e.Conflicts), e.Conflicts[0])
}

// Unwrap returns ErrExists.
func (e *ConflictError) Unwrap() error { return ErrExists }

// A TransferOption changes how Import and Copy store records.
type TransferOption func(*transferConfig)

type transferConfig struct {
	overwrite bool
	progress  func(TransferReport)
}

// Overwrite replaces records that the destination holds with another
// document or other series points (deleting the old record and its
// series first), instead of reporting them as conflicts. The old record,
// series included, is held in memory meanwhile and put back when the
// destination refuses the new one (ErrInvalid, ErrTooLarge).
func Overwrite() TransferOption { return func(c *transferConfig) { c.overwrite = true } }

// Progress calls f after each record with the report so far, for example
// to draw a progress bar. f must not keep or change the report's slice.
func Progress(f func(TransferReport)) TransferOption {
	return func(c *transferConfig) { c.progress = f }
}

// Import reads records written by Export from r and stores them in coll
// with their series, every value exactly; a document's "collection" field
// is set to coll (records move into the collection they are imported
// into). It refuses what it could not store as written, rather than
// store something else:
//
//   - a reserved field of the wrong type: "id" other than the line's id,
//     "collection" or "error" not a string, "created" or "ended" not a
//     time, "status" not one of the Status values, "duration" not a
//     finite number, "metrics" not an object of metric summary objects
//     whose known fields (count, last, last_step, last_time, min, ...)
//     have their types; "_id", and "series" beside the line's series;
//   - an integer beyond int64, anywhere in the line (never a float);
//   - a series whose points lack times (Import never invents a time), or
//     with unknown fields, steps that are not integers, values that are
//     not numbers, or arrays of different lengths;
//   - text that is not valid UTF-8.
//
// A metric with points but no summary at metrics.<name> gets the summary
// that Record.Log keeps, built from the points, so that it is listed and
// exported like any other. Every check runs before anything is written,
// so a refused line changes nothing in the store.
//
// It is idempotent: a record the store has with the same
// document is left alone, and its series are completed when they hold
// only the first part of the exported points (an earlier import stopped
// half way). A record the store has with another document or other points
// is a conflict: it is left unchanged, the others are imported, and Import
// returns a *ConflictError; with Overwrite it is replaced instead.
//
// Import reads both forms of Export's lines: a record on one line, and
// a record whose points continue on lines with "part" 1, 2, ..., which
// must follow its line in order. It holds one record at a time in memory
// (its line and continuation lines: a record's points are compared with
// the store's before anything is written) and writes its series in
// batches. A line that
// cannot be imported ends the import with an error naming the line and
// the field (an *InvalidError inside), which matches ErrInvalid; the
// records before it stay imported, the one it would continue with the
// points of its lines before it.
func (s *Store) Import(ctx context.Context, coll string, r io.Reader, opts ...TransferOption) (TransferReport, error) {
	if err := ValidCollection(coll); err != nil {
		return TransferReport{}, err
	}
	t := newTransfer(s, coll, opts)
	br := bufio.NewReaderSize(r, 1<<16)
	var (
		cur   *decoded // the record read, waiting for its continuation lines
		first int      // the number of its first line
	)
	// flush stores cur, the lines of one whole record.
	flush := func() error {
		if cur == nil {
			return nil
		}
		in, err := t.prepare(ctx, cur.incoming)
		cur = nil
		if err != nil {
			return &Error{Op: "import", Collection: coll, err: &lineError{line: first, err: err}}
		}
		return t.put(ctx, in)
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return t.rep, s.fail(ctx, "import", coll, "", err)
		}
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return t.rep, &Error{Op: "import", Collection: coll, err: rerr}
		}
		if len(bytes.TrimSpace(line)) > 0 {
			d, err := decodeLine(line)
			if err == nil && d.part > 0 {
				err = cur.extend(d)
			}
			if err != nil {
				// The record before the line is stored with the points
				// of its lines so far, as the records before it are: an
				// import of the whole export completes it.
				if ferr := flush(); ferr != nil {
					return t.rep, ferr
				}
				return t.rep, &Error{Op: "import", Collection: coll, err: &lineError{line: n, err: err}}
			}
			if d.part == 0 {
				if err := flush(); err != nil {
					return t.rep, err
				}
				cur, first = d, n
			}
		}
		if rerr == io.EOF {
			if err := flush(); err != nil {
				return t.rep, err
			}
			return t.finish()
		}
	}
}

// lineError is a line of an export that cannot be imported.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string {
	return "line " + strconv.Itoa(e.line) + ": " + trimPrefix(e.err.Error())
}

func (e *lineError) Unwrap() []error { return []error{ErrInvalid, e.err} }

func trimPrefix(msg string) string {
	if len(msg) > 8 && msg[:8] == "record: " {
		return msg[8:]
	}
	return msg
}

// Copy copies the records of coll from one store to another with their
// series, every value exactly, idempotently: with the same rules as
// Import, a record the destination has with the same content is left
// alone (its series completed when only their first part is there), and
// one with other content is a conflict (a *ConflictError) unless
// Overwrite replaces it. It checks each document as Import does and ends
// with an *InvalidError naming the record and the field at the first it
// would not store as it is (a status of the wrong type, say); a metric
// series without a summary gets one built from its points. Records
// stream from the source one at a time and
// series one batch at a time, so memory does not grow with the collection
// or the series.
func Copy(ctx context.Context, from, to *Store, coll string, opts ...TransferOption) (TransferReport, error) {
	if err := ValidCollection(coll); err != nil {
		return TransferReport{}, err
	}
	t := newTransfer(to, coll, opts)
	for snap, err := range from.List(ctx, coll) {
		if err != nil {
			return t.rep, err
		}
		doc, names := snap.transferable()
		in := incoming{id: snap.id, doc: doc, names: names, series: func(name string) iter.Seq2[[]Point, error] {
			return snap.Series(ctx, name)
		}}
		in, err := t.prepare(ctx, in)
		if err != nil {
			var re *Error
			if !errors.As(err, &re) {
				err = &Error{Op: "copy", Collection: coll, ID: snap.id, err: err}
			}
			return t.rep, err
		}
		if err := t.put(ctx, in); err != nil {
			return t.rep, err
		}
	}
	return t.finish()
}

// transferable returns what Export and Copy transfer of a snapshot: the
// document without the series a backend without SeriesStore keeps in it,
// and the names of the metrics whose series may have points.
func (s *Snapshot) transferable() (map[string]any, []string) {
	names := s.MetricNames()
	if _, ok := s.store.b.(backend.SeriesStore); ok {
		return s.doc, names
	}
	sm, ok := s.doc[fallbackKey].(map[string]any)
	if !ok {
		return s.doc, names
	}
	for name := range sm {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return without(s.doc, fallbackKey), names
}

// without returns a shallow copy of doc without the top-level key.
func without(doc map[string]any, key string) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// incoming is one record on its way into a store.
type incoming struct {
	id    string
	doc   map[string]any
	names []string // metrics that may have points, sorted
	// series yields the points of one metric; it may be called more than
	// once and yields the same points each time.
	series func(name string) iter.Seq2[[]Point, error]
}

// transfer stores whole records into one collection of a store,
// idempotently, and counts what it did.
type transfer struct {
	to   *Store
	coll string
	ss   backend.SeriesStore // nil: series go into the document
	cfg  transferConfig
	rep  TransferReport
}

func newTransfer(to *Store, coll string, opts []TransferOption) *transfer {
	t := &transfer{to: to, coll: coll}
	t.ss, _ = to.b.(backend.SeriesStore)
	for _, o := range opts {
		o(&t.cfg)
	}
	return t
}

func (t *transfer) finish() (TransferReport, error) {
	if len(t.rep.Conflicts) > 0 {
		return t.rep, &ConflictError{Conflicts: slices.Clone(t.rep.Conflicts)}
	}
	return t.rep, nil
}

// prepare checks a record on its way in and completes it; it never
// changes in.doc, only a copy. The reserved fields that are present must
// have their types: "id" the record's id, "collection" a string (set to
// the destination's collection), "created" and "ended" times, "status"
// one of the statuses, "duration" a finite number, "error" a string and
// "metrics" an object of metric summaries; "_id" and "series" are
// refused. A metric with points but no summary gets one built from its
// points, as Record.Log would have kept it.
func (t *transfer) prepare(ctx context.Context, in incoming) (incoming, error) {
	if err := checkReserved(in.id, in.doc); err != nil {
		return in, err
	}
	doc, copied := in.doc, false
	edit := func() {
		if !copied {
			doc, copied = maps.Clone(in.doc), true
		}
	}
	if c, ok := doc["collection"]; ok && c != t.coll {
		edit()
		doc["collection"] = t.coll
	}
	metrics, _ := doc["metrics"].(map[string]any)
	var built map[string]any
	for _, name := range in.names {
		if _, ok := metrics[name]; ok {
			continue
		}
		sum := newSummary()
		for pts, err := range in.series(name) {
			if err != nil {
				return in, err
			}
			sum.add(pts)
		}
		if sum.Count == 0 {
			continue // no points: nothing to summarize
		}
		if built == nil {
			built = maps.Clone(metrics)
			if built == nil {
				built = map[string]any{}
			}
		}
		built[name] = sum.doc()
	}
	if built != nil {
		edit()
		doc["metrics"] = built
	}
	in.doc = doc
	return in, nil
}

// checkReserved checks the types of the reserved fields of a document on
// its way into the record id; see prepare.
func checkReserved(id string, doc map[string]any) error {
	for _, k := range []string{"_id", fallbackKey} {
		if _, ok := doc[k]; ok {
			return invalid("value", k, "reserved for the store")
		}
	}
	if v, ok := doc["id"]; ok && v != id {
		if _, isStr := v.(string); !isStr {
			return wrongType("id", v, "a string")
		}
		return invalid("value", "id", fmt.Sprintf("is %q, not the record's id %q", v, id))
	}
	for _, k := range []string{"collection", "error"} {
		if v, ok := doc[k]; ok {
			if _, isStr := v.(string); !isStr {
				return wrongType(k, v, "a string")
			}
		}
	}
	for _, k := range []string{"created", "ended"} {
		if v, ok := doc[k]; ok {
			if _, isTime := v.(time.Time); !isTime {
				return wrongType(k, v, "a time")
			}
		}
	}
	if v, ok := doc["status"]; ok {
		switch v {
		case StatusRunning, StatusCompleted, StatusFailed, StatusInterrupted:
		default:
			return invalid("value", "status", fmt.Sprintf("is %s, not one of %s, %s, %s, %s", shortValue(v),
				StatusRunning, StatusCompleted, StatusFailed, StatusInterrupted))
		}
	}
	if v, ok := doc["duration"]; ok {
		f, isFloat := v.(float64)
		if _, isInt := v.(int64); !isInt && (!isFloat || math.IsNaN(f) || math.IsInf(f, 0)) {
			return invalid("value", "duration", "is "+shortValue(v)+", not a finite number of seconds")
		}
	}
	if v, ok := doc["metrics"]; ok {
		m, isMap := v.(map[string]any)
		if !isMap {
			return wrongType("metrics", v, "an object of metric summaries")
		}
		for name, sv := range m {
			if err := checkSummary(name, sv); err != nil {
				return err
			}
		}
	}
	return nil
}

// summaryTypes are the types of the fields of a metric summary (see
// summary.op): 'c' a count, 'i' a step, 'n' a number, 'f' a number or
// null, 's' a string, 't' a time. Summaries written before the ranking
// fields became finite-or-null hold tagged ±Inf/NaN there: numbers too.
var summaryTypes = map[string]byte{
	"count": 'c', "finite": 'c', "nans": 'c', "infs": 'c', "neg_infs": 'c',
	"last_step": 'i', "min_step": 'i', "max_step": 'i',
	"last": 'f', "min": 'n', "max": 'n', "mean": 'f', "sum": 'f',
	"last_time": 't', "last_nonfinite": 's',
}

// checkSummary checks metrics.<name>: an object whose known fields have
// their types; other fields are kept as they are.
func checkSummary(name string, v any) error {
	path := joinPath("metrics", name)
	if err := validMetric(name); err != nil {
		return invalid("key", path, "not a metric name: "+err.(*InvalidError).Reason)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return wrongType(path, v, "a metric summary object")
	}
	for k, f := range m {
		at := joinPath(path, k)
		switch summaryTypes[k] {
		case 'c':
			if n, ok := f.(int64); !ok || n < 0 {
				return invalid("value", at, "is "+shortValue(f)+", not a count")
			}
		case 'i':
			if _, ok := f.(int64); !ok {
				return wrongType(at, f, "an integer step")
			}
		case 'n':
			switch f.(type) {
			case float64, int64:
			default:
				return wrongType(at, f, "a number")
			}
		case 'f':
			switch f.(type) {
			case float64, int64, nil:
			default:
				return wrongType(at, f, "a number or null")
			}
		case 's':
			if _, ok := f.(string); !ok {
				return wrongType(at, f, "a string")
			}
		case 't':
			if _, ok := f.(time.Time); !ok {
				return wrongType(at, f, "a time")
			}
		}
	}
	return nil
}

// shortValue is v in JSON, cut short, for an error message.
func shortValue(v any) string {
	b, err := docjson.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	if r := []rune(string(b)); len(r) > 40 {
		return string(r[:37]) + "..."
	}
	return string(b)
}

// put stores one record with its series: a new record is inserted; one
// with the same document is kept, and its series completed when what is
// stored is a prefix of each incoming series; anything else is a
// conflict, or replaced with Overwrite.
func (t *transfer) put(ctx context.Context, in incoming) error {
	dst, coll := t.to, t.coll
	var old map[string]any
	err := dst.do(ctx, "get", coll, in.id, func() (err error) {
		old, err = dst.b.Get(ctx, coll, in.id)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		if err := t.insert(ctx, in); err != nil {
			return err
		}
		t.rep.Added++
		return t.done()
	case err != nil:
		return err
	}
	cur := old
	if t.ss == nil {
		cur = without(old, fallbackKey)
	}
	if sameValue(cur, in.doc) {
		have := newSnapshot(dst, coll, in.id, old)
		stored := make([]int, len(in.names)) // points stored, when fewer than incoming
		prefix, more := true, false
		for i, name := range in.names {
			n, p, m, err := comparePrefix(have.Series(ctx, name), in.series(name))
			if err != nil {
				return err
			}
			if prefix = p; !prefix {
				break
			}
			stored[i] = -1
			if m {
				stored[i], more = n, true
			}
		}
		if prefix {
			for i, name := range in.names {
				if stored[i] < 0 {
					continue
				}
				if err := t.appendSeries(ctx, in.id, name, in.series(name), stored[i]); err != nil {
					return err
				}
			}
			if more {
				t.rep.Completed++
			} else {
				t.rep.Unchanged++
			}
			return t.done()
		}
	}
	if !t.cfg.overwrite {
		t.rep.Conflicts = append(t.rep.Conflicts, coll+"/"+in.id)
		return t.done()
	}
	d, ok := dst.b.(backend.Deleter)
	if !ok {
		return &Error{Op: "overwrite", Collection: coll, ID: in.id,
			err: fmt.Errorf("the destination cannot delete records: %w", ErrUnsupported)}
	}
	// Hold the old record, to put it back if the destination refuses the
	// new one: a refused record must not change the store.
	keep, err := hold(ctx, newSnapshot(dst, coll, in.id, old))
	if err != nil {
		return err
	}
	if err := dst.do(ctx, "delete", coll, in.id, func() error { return d.Delete(ctx, coll, in.id) }); err != nil {
		return err
	}
	if err := t.insert(ctx, in); err != nil {
		if refused(err) {
			if rerr := t.insert(ctx, keep); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	t.rep.Replaced++
	return t.done()
}

func (t *transfer) done() error {
	if t.cfg.progress != nil {
		t.cfg.progress(t.rep)
	}
	return nil
}

// refused reports whether the destination refused what it was given (as
// opposed to failing to answer).
func refused(err error) bool { return errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) }

// hold reads a stored record, with all of its series, into memory.
func hold(ctx context.Context, snap *Snapshot) (incoming, error) {
	doc, names := snap.transferable()
	cols := make(map[string]*columns, len(names))
	for _, name := range names {
		c := &columns{}
		for pts, err := range snap.Series(ctx, name) {
			if err != nil {
				return incoming{}, err
			}
			for _, p := range pts {
				c.steps, c.values, c.times = append(c.steps, p.Step), append(c.values, p.Value), append(c.times, p.Time)
			}
		}
		cols[name] = c
	}
	return incoming{id: snap.id, doc: doc, names: names, series: func(name string) iter.Seq2[[]Point, error] {
		return cols[name].points
	}}, nil
}

// insert stores a new record and all of its series. When the destination
// refuses a series (ErrInvalid, ErrTooLarge), the record is deleted
// again, so that a refused record leaves nothing behind; other errors (a
// lost connection, a cancelled context) leave what was written, for the
// next import to complete.
func (t *transfer) insert(ctx context.Context, in incoming) error {
	dst := t.to
	if err := dst.do(ctx, "insert", t.coll, in.id, func() error { return dst.b.Insert(ctx, t.coll, in.id, in.doc) }); err != nil {
		return err
	}
	for _, name := range in.names {
		if err := t.appendSeries(ctx, in.id, name, in.series(name), 0); err != nil {
			if d, ok := dst.b.(backend.Deleter); ok && refused(err) {
				if derr := dst.do(ctx, "delete", t.coll, in.id, func() error { return d.Delete(ctx, t.coll, in.id) }); derr != nil {
					return errors.Join(err, derr)
				}
			}
			return err
		}
	}
	return nil
}

// transferBatch is the most points written in one call.
const transferBatch = 10000

// appendSeries appends the points of seq after the first skip ones.
func (t *transfer) appendSeries(ctx context.Context, id, name string, seq iter.Seq2[[]Point, error], skip int) error {
	for pts, err := range seq {
		if err != nil {
			return err
		}
		if skip >= len(pts) {
			skip -= len(pts)
			continue
		}
		pts, skip = pts[skip:], 0
		for len(pts) > 0 {
			batch := pts[:min(len(pts), transferBatch)]
			pts = pts[len(batch):]
			err := t.to.do(ctx, "append series "+name+" of", t.coll, id, func() error {
				if t.ss != nil {
					return t.ss.AppendSeries(ctx, t.coll, id, name, batch)
				}
				// Without a summary op: the imported document holds it.
				return t.to.b.Merge(ctx, t.coll, id, fallbackAppend(name, batch))
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// comparePrefix walks two series side by side: n is the number of points
// of have, prefix whether they are the first points of want, and more
// whether want has points beyond them.
func comparePrefix(have, want iter.Seq2[[]Point, error]) (n int, prefix, more bool, err error) {
	hnext, hstop := iter.Pull2(have)
	defer hstop()
	wnext, wstop := iter.Pull2(want)
	defer wstop()
	var h, w []Point
	for {
		if len(h) == 0 {
			b, err, ok := hnext()
			if err != nil {
				return 0, false, false, err
			}
			if !ok {
				break
			}
			h = b
			continue
		}
		if len(w) == 0 {
			b, err, ok := wnext()
			if err != nil {
				return 0, false, false, err
			}
			if !ok {
				return n, false, false, nil // have is longer
			}
			w = b
			continue
		}
		k := min(len(h), len(w))
		for i := range k {
			if !samePoint(h[i], w[i]) {
				return n, false, false, nil
			}
		}
		n, h, w = n+k, h[k:], w[k:]
	}
	for len(w) == 0 {
		b, err, ok := wnext()
		if err != nil {
			return 0, false, false, err
		}
		if !ok {
			return n, true, false, nil
		}
		w = b
	}
	return n, true, true, nil
}

// samePoint compares bit for bit, except that every NaN is the same.
func samePoint(a, b Point) bool {
	return a.Step == b.Step && a.Time.Equal(b.Time) &&
		(math.Float64bits(a.Value) == math.Float64bits(b.Value) || math.IsNaN(a.Value) && math.IsNaN(b.Value))
}

// sameValue reports whether two stored values are identical in the exact
// JSON form (so NaN equals NaN, and 1 differs from 1.0).
func sameValue(a, b any) bool {
	x, err1 := docjson.Marshal(a)
	y, err2 := docjson.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
