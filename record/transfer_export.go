package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/recordlab/go-record/internal/docjson"
)

// Export writes the records of coll that satisfy opts to w as JSON lines,
// one record per line in List's order (oldest first unless opts say
// otherwise), and returns how many it wrote. Each line is
//
//	{"id":ID,"doc":DOC,"series":{NAME:{"steps":[...],"times":[...],"values":[...]},...}}
//
// in the exact JSON form of Snapshot.MarshalJSON: "doc" is the document,
// and "series" holds the points of every metric series of the record
// that has any (absent when none has). Keys are sorted, so exporting the
// same records gives the same bytes; Import reads the lines back.
//
// Records stream from the store one at a time and series one batch at a
// time. The format keeps a series' steps, times and values in separate
// arrays: Export holds the encoded times and values of a series in memory
// up to a bound, and past it reads the series again for each array.
// Fields does not apply: Export writes whole records.
func (s *Store) Export(ctx context.Context, coll string, w io.Writer, opts ...ListOption) (int, error) {
	var q listQuery
	for _, o := range opts {
		o(&q)
	}
	if q.fields != nil {
		return 0, invalid("value", "fields", "Export writes whole records; Fields does not apply")
	}
	x := exporter{w: w}
	n := 0
	for snap, err := range s.List(ctx, coll, opts...) {
		if err != nil {
			return n, err
		}
		if err := x.record(ctx, snap); err != nil {
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

// columnBuffer bounds the encoded times and values of one series that
// Export holds in memory before it reads the series again per array.
var columnBuffer = 64 << 20

// exporter writes records in the export format.
type exporter struct {
	w   io.Writer
	buf []byte
}

// flush writes the buffer when it is full, or always when force is set.
func (x *exporter) flush(force bool) error {
	if len(x.buf) < 1<<16 && !force {
		return nil
	}
	_, err := x.w.Write(x.buf)
	x.buf = x.buf[:0]
	return err
}

func (x *exporter) record(ctx context.Context, snap *Snapshot) error {
	doc, names := snap.transferable()
	var err error
	x.buf = append(x.buf, `{"id":`...)
	if x.buf, err = docjson.Append(x.buf, snap.id); err != nil {
		return err
	}
	x.buf = append(x.buf, `,"doc":`...)
	if x.buf, err = docjson.Append(x.buf, doc); err != nil {
		return err
	}
	opened := false
	for _, name := range names {
		if err := x.series(ctx, snap, name, &opened); err != nil {
			return err
		}
	}
	if opened {
		x.buf = append(x.buf, '}')
	}
	x.buf = append(x.buf, "}\n"...)
	return x.flush(true)
}

func appendStep(buf []byte, p Point) []byte  { return strconv.AppendInt(buf, p.Step, 10) }
func appendValue(buf []byte, p Point) []byte { return docjson.AppendFloat(buf, p.Value) }
func appendTime(buf []byte, p Point) []byte {
	b, _ := docjson.Append(buf, p.Time) // a time.Time always encodes
	return b
}

// series writes "NAME":{"steps":[...],"times":[...],"values":[...]} when
// the series has points, preceded by the opening of the "series" object
// for the first one.
func (x *exporter) series(ctx context.Context, snap *Snapshot, name string, opened *bool) error {
	var times, values []byte
	buffered := true
	n := 0
	for pts, err := range snap.Series(ctx, name) {
		if err != nil {
			return err
		}
		if n == 0 && len(pts) > 0 {
			if *opened {
				x.buf = append(x.buf, ',')
			} else {
				x.buf = append(x.buf, `,"series":{`...)
				*opened = true
			}
			x.buf, _ = docjson.Append(x.buf, name)
			x.buf = append(x.buf, `:{"steps":[`...)
		}
		for _, p := range pts {
			if n > 0 {
				x.buf = append(x.buf, ',')
				if buffered {
					times, values = append(times, ','), append(values, ',')
				}
			}
			x.buf = appendStep(x.buf, p)
			if buffered {
				times, values = appendTime(times, p), appendValue(values, p)
			}
			n++
		}
		if buffered && len(times)+len(values) > columnBuffer {
			buffered, times, values = false, nil, nil
		}
		if err := x.flush(false); err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	x.buf = append(x.buf, `],"times":[`...)
	if buffered {
		x.buf = append(x.buf, times...)
	} else if err := x.column(ctx, snap, name, n, appendTime); err != nil {
		return err
	}
	x.buf = append(x.buf, `],"values":[`...)
	if buffered {
		x.buf = append(x.buf, values...)
	} else if err := x.column(ctx, snap, name, n, appendValue); err != nil {
		return err
	}
	x.buf = append(x.buf, "]}"...)
	return nil
}

// column reads the series again and writes one array of its first n points.
func (x *exporter) column(ctx context.Context, snap *Snapshot, name string, n int, enc func([]byte, Point) []byte) error {
	i := 0
	for pts, err := range snap.Series(ctx, name) {
		if err != nil {
			return err
		}
		for _, p := range pts[:min(len(pts), n-i)] {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			x.buf = enc(x.buf, p)
			i++
		}
		if err := x.flush(false); err != nil {
			return err
		}
		if i == n {
			return nil
		}
	}
	return fmt.Errorf("series %s shrank while it was exported: %d points, then %d", name, n, i)
}
