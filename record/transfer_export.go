package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// Export writes the records of coll that satisfy opts to w as JSON lines,
// in List's order (oldest first unless opts say otherwise), and returns
// how many records it wrote. A record is one line
//
//	{"id":ID,"doc":DOC,"series":{NAME:{"steps":[...],"times":[...],"values":[...]},...}}
//
// in the exact JSON form of Snapshot.MarshalJSON: "doc" is the document,
// and "series" holds the points of every metric series of the record
// that has any (absent when none has), metrics in name order. No line
// holds more than LinePoints points, or much more than a megabyte of
// them: the points of a record beyond that follow on continuation lines
//
//	{"id":ID,"part":N,"series":{NAME:{"steps":[...],"times":[...],"values":[...]},...}}
//
// numbered 1, 2, ..., each holding the next points of the record under
// the same bounds (a series may continue from one line to the next), so
// that no line grows with a series and a record with few points is one
// line.
// Keys are sorted, so exporting the same records gives the same bytes;
// Import reads the lines back, and the single-line form of earlier
// versions as well.
//
// Records stream from the store one at a time and series one chunk at a
// time, so memory holds one line. When the listing is in id order without
// conditions (Limit and After allowed) and the backend implements
// backend.SeriesScanner, the series of all the records come from one
// streamed read beside the listing instead of one read per record per
// metric. Fields does not apply: Export writes whole records.
func (s *Store) Export(ctx context.Context, coll string, w io.Writer, opts ...ListOption) (int, error) {
	var q listQuery
	for _, o := range opts {
		o(&q)
	}
	if q.fields != nil {
		return 0, invalid("value", "fields", "Export writes whole records; Fields does not apply")
	}
	x := exporter{w: w, limit: linePoints, bytes: lineBytes}
	var scan *seriesScan
	if sc, ok := s.b.(backend.SeriesScanner); ok && q.err == nil && q.OrderBy == nil && !q.Desc && len(q.Where) == 0 {
		scan = &seriesScan{s: s, sc: sc, coll: coll}
		defer scan.close()
	}
	n := 0
	for snap, err := range s.List(ctx, coll, opts...) {
		if err != nil {
			return n, err
		}
		doc, names := snap.transferable()
		var series iter.Seq2[namedPoints, error]
		if scan != nil {
			series = scan.record(ctx, snap.id, names)
		} else {
			series = perMetric(ctx, snap, names)
		}
		if err := x.record(snap.id, doc, series); err != nil {
			var re *Error
			if !errors.As(err, &re) {
				err = &Error{Op: "export", Collection: coll, ID: snap.id, err: err}
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// LinePoints is the most series points Export writes on one line: about
// 80 bytes each at most, so a line of points stays under a megabyte.
const LinePoints = 10_000

// lineBytes bounds the text of the points of one line: a line ends after
// the point that reaches it (so that long values, such as
// 5e-324 written out in full, keep lines near a megabyte too).
const lineBytes = 1 << 20

// linePoints is LinePoints, but for tests.
var linePoints = LinePoints

// namedPoints is a batch of points of the named metric.
type namedPoints struct {
	name string
	pts  []Point
}

// perMetric yields the series of a record read one metric at a time.
func perMetric(ctx context.Context, snap *Snapshot, names []string) iter.Seq2[namedPoints, error] {
	return func(yield func(namedPoints, error) bool) {
		for _, name := range names {
			for pts, err := range snap.Series(ctx, name) {
				if !yield(namedPoints{name, pts}, err) || err != nil {
					return
				}
			}
		}
	}
}

// seriesScan walks one SeriesScanner read of a collection beside a
// listing in id order: a merge join on the record id. The read starts,
// lazily, at the first record listed.
type seriesScan struct {
	s    *Store
	sc   backend.SeriesScanner
	coll string

	next    func() (backend.SeriesChunk, error, bool)
	stop    func()
	head    backend.SeriesChunk // the chunk read and not yet used
	have    bool                // whether head holds a chunk
	done    bool                // the read ended
	lastID  string              // of the last chunk read, to check the order
	lastKey string
}

func (c *seriesScan) close() {
	if c.stop != nil {
		c.stop()
	}
}

// pull reads the next chunk into head, checking the order the backend
// promised: a chunk out of order would make the join drop points.
func (c *seriesScan) pull(ctx context.Context, from string) error {
	if c.next == nil {
		c.next, c.stop = iter.Pull2(c.sc.ScanSeries(ctx, c.coll, from))
	}
	ch, err, ok := c.next()
	switch {
	case err != nil:
		c.done = true
		return c.s.fail(ctx, "read series of", c.coll, "", err)
	case !ok:
		c.done, c.have = true, false
		return nil
	}
	if ch.ID < c.lastID || ch.ID == c.lastID && ch.Name < c.lastKey {
		c.done = true
		return &Error{Op: "read series of", Collection: c.coll, ID: ch.ID,
			err: fmt.Errorf("the backend's ScanSeries yielded %s/%s after %s/%s: out of order", ch.ID, ch.Name, c.lastID, c.lastKey)}
	}
	c.head, c.have, c.lastID, c.lastKey = ch, true, ch.ID, ch.Name
	return nil
}

// record yields the points of the record id, of the metrics in names
// (sorted), skipping the chunks of records before it.
func (c *seriesScan) record(ctx context.Context, id string, names []string) iter.Seq2[namedPoints, error] {
	return func(yield func(namedPoints, error) bool) {
		if err := c.s.enter(ctx); err != nil {
			yield(namedPoints{}, c.s.fail(ctx, "read series of", c.coll, id, err))
			return
		}
		defer c.s.leave()
		for {
			if !c.have && !c.done {
				if err := c.pull(ctx, id); err != nil {
					yield(namedPoints{}, err)
					return
				}
			}
			if !c.have || c.head.ID > id {
				return
			}
			ch := c.head
			c.have = false
			if ch.ID < id || !contains(names, ch.Name) {
				continue // a record not listed, or a series without summary
			}
			if !yield(namedPoints{ch.Name, ch.Points}, nil) {
				return
			}
		}
	}
}

// contains reports whether the sorted names hold name.
func contains(names []string, name string) bool {
	lo, hi := 0, len(names)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if names[m] < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(names) && names[lo] == name
}

// exporter writes records in the export format.
type exporter struct {
	w     io.Writer
	limit int    // points per line
	bytes int    // bytes of points per line
	buf   []byte // the line being written; steps go straight into it
	id    []byte // the record's id in JSON
	times []byte // the times of the series open on this line
	vals  []byte // its values
	clock timeText
}

// record writes one record: its line and its continuation lines.
func (x *exporter) record(id string, doc map[string]any, series iter.Seq2[namedPoints, error]) error {
	var err error
	if x.id, err = docjson.Append(x.id[:0], id); err != nil {
		return err
	}
	x.buf = append(append(x.buf[:0], `{"id":`...), x.id...)
	x.buf = append(x.buf, `,"doc":`...)
	if x.buf, err = docjson.Append(x.buf, doc); err != nil {
		return err
	}
	var (
		part   int          // the continuation line being written; 0 the record's line
		onLine int          // points on this line
		open   string       // the series open on this line, "" none
		inOpen int          // its points on this line
		object bool         // whether the "series" object is open on this line
		mark   = len(x.buf) // where the line's points begin
	)
	for np, err := range series {
		if err != nil {
			return err
		}
		for pts := np.pts; len(pts) > 0; {
			if onLine == x.limit || onLine > 0 && x.full(mark) {
				x.closeSeries()
				x.buf = append(x.buf, "}}\n"...)
				if err := x.write(); err != nil {
					return err
				}
				part++
				x.buf = append(append(x.buf, `{"id":`...), x.id...)
				x.buf = append(strconv.AppendInt(append(x.buf, `,"part":`...), int64(part), 10), `,"series":{`...)
				onLine, open, object, mark = 0, "", true, len(x.buf)
			}
			if open != np.name {
				switch {
				case open != "":
					x.closeSeries()
					x.buf = append(x.buf, ',')
				case !object:
					x.buf = append(x.buf, `,"series":{`...)
					object = true
				}
				x.buf, _ = docjson.Append(x.buf, np.name) // a string always encodes
				x.buf = append(x.buf, `:{"steps":[`...)
				open, inOpen = np.name, 0
			}
			// At least one point per line, then up to either bound.
			i := 0
			for ; i < len(pts) && onLine < x.limit && (i == 0 || !x.full(mark)); i++ {
				p := pts[i]
				if inOpen > 0 {
					x.buf, x.times, x.vals = append(x.buf, ','), append(x.times, ','), append(x.vals, ',')
				}
				x.buf = strconv.AppendInt(x.buf, p.Step, 10)
				x.times = x.clock.append(x.times, p.Time)
				x.vals = docjson.AppendFloat(x.vals, p.Value)
				inOpen++
				onLine++
			}
			pts = pts[i:]
		}
	}
	if open != "" {
		x.closeSeries()
	}
	if object {
		x.buf = append(x.buf, '}')
	}
	x.buf = append(x.buf, "}\n"...)
	return x.write()
}

// timeText appends points' times as docjson.Append does, without boxing
// each in an interface, formatting the date and second once for all the
// points of one second (the layout's milliseconds are its fixed tail).
type timeText struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05" of sec; nil before the first
}

func (c *timeText) append(buf []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); c.prefix == nil || sec != c.sec {
		c.sec, c.prefix = sec, t.AppendFormat(c.prefix[:0], secondLayout)
	}
	ms := t.Nanosecond() / 1e6
	buf = append(append(buf, `{"`+docjson.TagTime+`":"`...), c.prefix...)
	return append(buf, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z', '"', '}')
}

// secondLayout is docjson.TimeLayout up to the second.
const secondLayout = "2006-01-02T15:04:05"

// full reports whether the points of the line, which begin at mark in
// the buffer, reached the line's bound in bytes.
func (x *exporter) full(mark int) bool {
	return len(x.buf)-mark+len(x.times)+len(x.vals) >= x.bytes
}

// closeSeries ends the series open on the line with its times and values.
func (x *exporter) closeSeries() {
	x.buf = append(append(x.buf, `],"times":[`...), x.times...)
	x.buf = append(append(x.buf, `],"values":[`...), x.vals...)
	x.buf = append(x.buf, "]}"...)
	x.times, x.vals = x.times[:0], x.vals[:0]
}

// write writes the line and empties the buffer.
func (x *exporter) write() error {
	_, err := x.w.Write(x.buf)
	x.buf = x.buf[:0]
	return err
}
