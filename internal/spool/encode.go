package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/recordlab/go-record/backend"
)

// The payload encoding is binary rather than internal/docjson: docjson is
// the stored form of documents and is deliberately lossy where JSON is
// (invalid UTF-8 becomes U+FFFD, every NaN becomes the one quiet NaN),
// while a spooled write must reach the store exactly as the writer made
// it. Binary is also smaller and cheaper to encode on the write path.
//
// A payload starts with its frame type. Integers are varints (signed ones
// zig-zag), strings a uvarint length and their bytes as they are. A value
// is a tag byte followed by its content:
//
//	tagNil, tagFalse, tagTrue   nothing
//	tagInt                      varint
//	tagFloat                    8 bytes, IEEE 754 bits, little-endian
//	tagString                   string
//	tagTime                     varint Unix milliseconds (read back in UTC)
//	tagList                     uvarint count, values
//	tagMap                      uvarint count, (string key, value) pairs
//	tagNilList, tagNilMap       nothing: a nil []any or map[string]any
//
// An entry's points are packed (frame type typePacked, journal version
// 2): per point, the step as a zig-zag varint of its difference from the
// step before (from 0 for the first), the value's IEEE 754 bits as 8
// bytes little-endian, and the Unix milliseconds as a zig-zag varint of
// their difference from the point before (from 0 for the first), the
// differences taken with int64 wrap-around, so every int64 is exact. A
// training loop's points (steps one apart, times a few milliseconds
// apart) take 10 bytes each. An entry given its points in the raw form
// (Entry.Raw) is a typeEntry frame, as every entry of a version 1
// journal is: its points are 24 bytes, step int64, value bits uint64,
// Unix milliseconds int64, each little-endian, which a writer that keeps
// points in that form in memory writes with a copy.

// Frame types: the first byte of every payload.
const (
	typeHeader byte = 1
	typeEntry  byte = 2 // version 1: points of 24 bytes
	typePacked byte = 3 // version 2: packed points
)

// Value tags.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagTime
	tagList
	tagMap
	tagNilList
	tagNilMap
)

// magic and version open the header payload; journals of versions
// minVersion to version are read.
const (
	magic      = "record-spool"
	version    = 2
	minVersion = 1
)

// maxNesting bounds recursion on encode and decode, like internal/docjson.
const maxNesting = 10000

// pointSize is the size of one point in a typeEntry frame; packedMin the
// least a packed point takes.
const (
	pointSize = 24
	packedMin = 10
)

var errShort = errors.New("truncated payload")

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendValue(buf []byte, v any, depth int) ([]byte, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("spool: value nested deeper than %d levels", maxNesting)
	}
	switch x := v.(type) {
	case nil:
		return append(buf, tagNil), nil
	case bool:
		if x {
			return append(buf, tagTrue), nil
		}
		return append(buf, tagFalse), nil
	case int64:
		return binary.AppendVarint(append(buf, tagInt), x), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(buf, tagFloat), math.Float64bits(x)), nil
	case string:
		return appendString(append(buf, tagString), x), nil
	case time.Time:
		return binary.AppendVarint(append(buf, tagTime), x.UnixMilli()), nil
	case []any:
		if x == nil {
			return append(buf, tagNilList), nil
		}
		buf = binary.AppendUvarint(append(buf, tagList), uint64(len(x)))
		for _, e := range x {
			var err error
			if buf, err = appendValue(buf, e, depth+1); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case map[string]any:
		if x == nil {
			return append(buf, tagNilMap), nil
		}
		buf = binary.AppendUvarint(append(buf, tagMap), uint64(len(x)))
		for k, e := range x {
			buf = appendString(buf, k)
			var err error
			if buf, err = appendValue(buf, e, depth+1); err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("spool: %w: unsupported value type %T", backend.ErrInvalid, v)
}

// appendEntry appends the payload of e.
func appendEntry(buf []byte, e Entry) ([]byte, error) {
	t := byte(typePacked)
	if e.Raw != nil {
		if len(e.Points) > 0 {
			return nil, fmt.Errorf("spool: %w: an entry with both Points and Raw", backend.ErrInvalid)
		}
		t = typeEntry
	}
	buf = append(buf, t)
	buf = binary.AppendVarint(buf, e.Seq)
	var err error
	if e.Create == nil {
		buf = append(buf, 0)
	} else if buf, err = appendValue(append(buf, 1), e.Create, 0); err != nil {
		return nil, err
	}
	buf = appendString(buf, e.Metric)
	if t == typeEntry {
		buf = appendRaw(buf, e.Raw)
	} else {
		buf = appendPoints(buf, e.Points)
	}
	buf = binary.AppendUvarint(buf, uint64(len(e.Ops)))
	for _, op := range e.Ops {
		if op.Kind < 0 || op.Kind > 255 {
			return nil, fmt.Errorf("spool: %w: op kind %d", backend.ErrInvalid, op.Kind)
		}
		buf = append(buf, byte(op.Kind))
		buf = binary.AppendUvarint(buf, uint64(len(op.Path)))
		for _, k := range op.Path {
			buf = appendString(buf, k)
		}
		if buf, err = appendValue(buf, op.Value, 0); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// RawPoint is a point in the 24-byte form of a typeEntry frame: step,
// value and Unix milliseconds, each 8 bytes. A writer that keeps its
// points in memory in this form (it holds no pointers) spools them with
// a copy and no encoding (Entry.Raw), where packing them costs about as
// much as logging them.
type RawPoint struct {
	Step  int64
	Value float64 // kept bit for bit
	Ms    int64   // Unix milliseconds
}

// littleEndian reports whether this machine stores a RawPoint as a
// typeEntry frame does, so that appendRaw can copy its bytes.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// appendRaw appends the count of the points of raw and the points, one
// slice after the other, as typeEntry points.
func appendRaw(buf []byte, raw [][]RawPoint) []byte {
	n := 0
	for _, pts := range raw {
		n += len(pts)
	}
	buf = binary.AppendUvarint(buf, uint64(n))
	buf = slices.Grow(buf, n*pointSize)
	for _, pts := range raw {
		if littleEndian {
			if len(pts) > 0 {
				buf = append(buf, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(pts))), len(pts)*pointSize)...)
			}
			continue
		}
		for _, p := range pts {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(p.Step))
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(p.Value))
			buf = binary.LittleEndian.AppendUint64(buf, uint64(p.Ms))
		}
	}
	return buf
}

// The layout appendRaw copies: 24 bytes, fields in order.
var _ [0]struct{} = [unsafe.Sizeof(RawPoint{}) - pointSize]struct{}{}
var _ [0]struct{} = [unsafe.Offsetof(RawPoint{}.Value) - 8]struct{}{}
var _ [0]struct{} = [unsafe.Offsetof(RawPoint{}.Ms) - 16]struct{}{}

// appendPoints appends the count of pts and pts, packed.
func appendPoints(buf []byte, pts []backend.Point) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(pts)))
	// Room for the longest points, written in place.
	buf = slices.Grow(buf, len(pts)*(2*binary.MaxVarintLen64+8))
	n, b := len(buf), buf[:cap(buf)]
	var step, ms int64
	for _, p := range pts {
		t := p.Time.UnixMilli()
		n += binary.PutVarint(b[n:], p.Step-step)
		binary.LittleEndian.PutUint64(b[n:], math.Float64bits(p.Value))
		n += 8
		n += binary.PutVarint(b[n:], t-ms)
		step, ms = p.Step, t
	}
	return b[:n]
}

// appendHeader appends the payload of h.
func appendHeader(buf []byte, h Header) []byte {
	buf = append(buf, typeHeader)
	buf = appendString(buf, magic)
	buf = binary.AppendUvarint(buf, version)
	buf = appendString(buf, h.Store)
	buf = appendString(buf, h.Collection)
	buf = appendString(buf, h.ID)
	buf = appendString(buf, h.Writer)
	return binary.AppendVarint(buf, h.Created.UnixMilli())
}

// decoder reads a payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad uvarint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// count reads a uvarint count of items of at least min bytes each, so a
// damaged count cannot make the decoder allocate more than the payload.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/min) {
		d.fail(fmt.Errorf("count %d exceeds the payload", n))
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count(1)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) value(depth int) any {
	if depth > maxNesting {
		d.fail(fmt.Errorf("value nested deeper than %d levels", maxNesting))
	}
	switch tag := d.byte(); {
	case d.err != nil:
		return nil
	case tag == tagNil:
		return nil
	case tag == tagFalse:
		return false
	case tag == tagTrue:
		return true
	case tag == tagInt:
		return d.varint()
	case tag == tagFloat:
		return math.Float64frombits(d.uint64())
	case tag == tagString:
		return d.string()
	case tag == tagTime:
		return time.UnixMilli(d.varint()).UTC()
	case tag == tagList:
		a := make([]any, d.count(1))
		for i := range a {
			a[i] = d.value(depth + 1)
		}
		return a
	case tag == tagMap:
		n := d.count(2)
		m := make(map[string]any, n)
		for range n {
			k := d.string()
			m[k] = d.value(depth + 1)
		}
		return m
	case tag == tagNilList:
		return []any(nil)
	case tag == tagNilMap:
		return map[string]any(nil)
	default:
		d.fail(fmt.Errorf("unknown value tag %d", tag))
		return nil
	}
}

func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d bytes after the payload", len(d.b)))
	}
	return d.err
}

// decodeEntry decodes an entry payload.
func decodeEntry(p []byte) (Entry, error) {
	d := decoder{b: p}
	var e Entry
	t := d.byte()
	if d.err == nil && t != typeEntry && t != typePacked {
		return e, fmt.Errorf("frame type %d, want an entry", t)
	}
	e.Seq = d.varint()
	switch d.byte() {
	case 0:
	case 1:
		m, ok := d.value(0).(map[string]any)
		if !ok {
			d.fail(errors.New("created document is not a map"))
		}
		e.Create = m
	default:
		d.fail(errors.New("bad create flag"))
	}
	e.Metric = d.string()
	if t == typePacked {
		e.Points = d.packedPoints()
	} else if n := d.count(pointSize); n > 0 {
		e.Points = make([]backend.Point, n)
		for i := range e.Points {
			e.Points[i] = backend.Point{
				Step:  int64(d.uint64()),
				Value: math.Float64frombits(d.uint64()),
				Time:  time.UnixMilli(int64(d.uint64())).UTC(),
			}
		}
	}
	if n := d.count(3); n > 0 {
		e.Ops = make([]backend.Op, n)
		for i := range e.Ops {
			op := &e.Ops[i]
			op.Kind = backend.OpKind(d.byte())
			if k := d.count(1); k > 0 {
				op.Path = make([]string, k)
				for j := range op.Path {
					op.Path[j] = d.string()
				}
			}
			op.Value = d.value(0)
		}
	}
	return e, d.end()
}

// packedPoints reads what appendPoints wrote (nil for none).
func (d *decoder) packedPoints() []backend.Point {
	n := d.count(packedMin)
	if n == 0 {
		return nil
	}
	pts := make([]backend.Point, n)
	var step, ms int64
	for i := range pts {
		step += d.varint()
		v := d.uint64()
		ms += d.varint()
		pts[i] = backend.Point{Step: step, Value: math.Float64frombits(v), Time: time.UnixMilli(ms).UTC()}
	}
	return pts
}

// decodeHeader decodes a header payload.
func decodeHeader(p []byte) (Header, error) {
	d := decoder{b: p}
	var h Header
	if t := d.byte(); d.err == nil && t != typeHeader {
		return h, fmt.Errorf("frame type %d, want a header", t)
	}
	if m := d.string(); d.err == nil && m != magic {
		return h, errors.New("not a spool journal")
	}
	if v := d.uvarint(); d.err == nil && (v < minVersion || v > version) {
		return h, fmt.Errorf("journal version %d, this program reads versions %d to %d", v, minVersion, version)
	}
	h.Store = d.string()
	h.Collection = d.string()
	h.ID = d.string()
	h.Writer = d.string()
	h.Created = time.UnixMilli(d.varint()).UTC()
	return h, d.end()
}
