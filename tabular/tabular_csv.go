package tabular

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

// timeLayout is the form of times in CSV: RFC 3339, milliseconds, UTC.
const timeLayout = "2006-01-02T15:04:05.000Z"

// appendFloat appends f in the shortest form that parses back to the
// same bits, always with a '.' or an exponent, and NaN, inf and -inf as
// pandas and strconv read them.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	// A '.' keeps the column a float column for readers that infer
	// types from the text (pandas reads "45" as an int).
	if !bytes.ContainsAny(b[n:], ".e") {
		b = append(b, ".0"...)
	}
	return b
}

// appendField appends s as one CSV field, quoted the way encoding/csv's
// Writer quotes it.
func appendField(b []byte, s string) []byte {
	if !needsQuotes(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

// needsQuotes is encoding/csv's rule with the comma ',': a field is
// quoted when it holds a comma, a quote, a CR or LF, starts with a space
// (unicode.IsSpace), or is `\.`.
func needsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s == `\.` || strings.ContainsAny(s, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsSpace(r)
}

// csvPoints writes the points table as CSV.
type csvPoints struct {
	w   *bufio.Writer
	buf []byte
}

func newCSVPoints(w io.Writer) (*csvPoints, error) {
	p := &csvPoints{w: bufio.NewWriterSize(w, 1<<16)}
	_, err := p.w.WriteString("collection,id,metric,step,value,time\n")
	return p, err
}

func (p *csvPoints) write(coll, id, metric string, pts []record.Point) error {
	b := p.buf[:0]
	b = appendField(b, coll)
	b = append(b, ',')
	b = appendField(b, id)
	b = append(b, ',')
	b = appendField(b, metric)
	b = append(b, ',')
	prefix := len(b)
	for _, pt := range pts {
		b = strconv.AppendInt(b, pt.Step, 10)
		b = append(b, ',')
		b = appendFloat(b, pt.Value)
		b = append(b, ',')
		b = pt.Time.UTC().AppendFormat(b, timeLayout)
		b = append(b, '\n')
		if _, err := p.w.Write(b); err != nil {
			return err
		}
		b = b[:prefix]
	}
	p.buf = b
	return nil
}

func (p *csvPoints) close() error { return p.w.Flush() }

// csvRuns writes the runs table as CSV.
type csvRuns struct {
	w      *csv.Writer
	cols   []column
	fields []string
	buf    []byte
}

func newCSVRuns(w io.Writer, cols []column) (*csvRuns, error) {
	r := &csvRuns{w: csv.NewWriter(w), cols: cols, fields: make([]string, len(cols))}
	for i, c := range cols {
		r.fields[i] = c.name
	}
	return r, r.w.Write(r.fields)
}

func (r *csvRuns) write(row map[string]any) error {
	for i, c := range r.cols {
		v, ok := row[c.name]
		if !ok || v == nil {
			r.fields[i] = ""
			continue
		}
		b := r.buf[:0]
		switch c.typ {
		case tBool:
			b = strconv.AppendBool(b, v.(bool))
		case tInt:
			b = strconv.AppendInt(b, v.(int64), 10)
		case tFloat:
			b = appendFloat(b, asFloat(v))
		case tTime:
			b = v.(time.Time).UTC().AppendFormat(b, timeLayout)
		case tString:
			r.fields[i] = v.(string)
			continue
		default:
			var err error
			if b, err = docjson.Append(b, v); err != nil {
				return err
			}
		}
		r.fields[i] = string(b)
		r.buf = b
	}
	return r.w.Write(r.fields)
}

func (r *csvRuns) close() error {
	r.w.Flush()
	return r.w.Error()
}
