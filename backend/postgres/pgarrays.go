package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/recordlab/go-record/backend"
)

// The arrays of a series row, encoded straight from the points.
//
// pgx encodes a []int64, []float64 or []time.Time argument element by
// element through an interface: every element is boxed (an allocation)
// and goes through a generic plan, which made the encoding of a
// 1000-point chunk's three arrays about a third of the client's CPU when
// ingesting, and most of its garbage. pointSteps, pointValues and
// pointTimes are the steps, values and times of a chunk of points as
// statement arguments: a codec wrapped around pgx's own for bigint[],
// float8[] and timestamptz[] writes them in PostgreSQL's binary array
// format in one pass, with no allocation, byte for byte what pgx writes
// for the same slices. Every other value of those types goes to pgx's
// codec unchanged, and so do these in the text format (the simple
// protocol and the exec mode, where, as with pgx's own slices, a NaN
// keeps no payload).

type (
	// pointSteps is the bigint[] of the steps of its points.
	pointSteps []backend.Point
	// pointValues is the float8[] of the values of its points.
	pointValues []backend.Point
	// pointTimes is the timestamptz[] of the times of its points.
	pointTimes []backend.Point
)

// microsecFromUnixToY2K is the number of microseconds from the Unix epoch
// to PostgreSQL's (2000-01-01 UTC).
const microsecFromUnixToY2K = 946_684_800 * 1_000_000

// registerArrays wraps the codecs of bigint[], float8[] and timestamptz[]
// in the type map of conn; the pool calls it on every new connection.
func registerArrays(_ context.Context, conn *pgx.Conn) error {
	return wrapArrayCodecs(conn.TypeMap())
}

// wrapArrayCodecs wraps the codecs of bigint[], float8[] and timestamptz[]
// in m with pointsCodec.
func wrapArrayCodecs(m *pgtype.Map) error {
	for _, a := range []struct {
		oid   uint32
		value any
	}{
		{pgtype.Int8ArrayOID, pointSteps(nil)},
		{pgtype.Float8ArrayOID, pointValues(nil)},
		{pgtype.TimestamptzArrayOID, pointTimes(nil)},
	} {
		t, ok := m.TypeForOID(a.oid)
		if !ok {
			return fmt.Errorf("postgres: pgx knows no type of oid %d", a.oid)
		}
		m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: pointsCodec{t.Codec}})
		m.RegisterDefaultPgType(a.value, t.Name) // where no oid is known (the simple protocol)
	}
	return nil
}

// pointsCodec is pgx's codec of one array type, which also encodes the
// point arrays of that type.
type pointsCodec struct {
	pgtype.Codec
}

// PlanEncode implements pgtype.Codec.
func (c pointsCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	var array uint32 // the array type the point array is
	switch value.(type) {
	case pointSteps:
		array = pgtype.Int8ArrayOID
	case pointValues:
		array = pgtype.Float8ArrayOID
	case pointTimes:
		array = pgtype.TimestamptzArrayOID
	default:
		return c.Codec.PlanEncode(m, oid, format, value)
	}
	if oid != array {
		return nil // not an array of this type: pgx reports it
	}
	if format == pgtype.BinaryFormatCode {
		return pointsBinary{}
	}
	return pointsText{m: m, oid: oid, format: format}
}

// pointsBinary writes a point array in the binary format of arrays, as
// pgx does: the number of dimensions (1), a has-nulls flag (0), the
// element type, the length and lower bound (1) of the dimension, then
// each element as its length (8) and its 8 bytes, big-endian.
type pointsBinary struct{}

// Encode implements pgtype.EncodePlan.
func (pointsBinary) Encode(value any, buf []byte) ([]byte, error) {
	var (
		pts  []backend.Point
		elem uint32
		word func(p *backend.Point) uint64
	)
	switch v := value.(type) {
	case pointSteps:
		pts, elem, word = v, pgtype.Int8OID, func(p *backend.Point) uint64 { return uint64(p.Step) }
	case pointValues:
		pts, elem, word = v, pgtype.Float8OID, func(p *backend.Point) uint64 { return math.Float64bits(p.Value) }
	case pointTimes:
		pts, elem, word = v, pgtype.TimestamptzOID, func(p *backend.Point) uint64 { return uint64(pgMicros(p.Time)) }
	default:
		return nil, fmt.Errorf("postgres: cannot encode %T as a point array", value)
	}
	if len(pts) > math.MaxInt32 {
		return nil, fmt.Errorf("postgres: %d points in one array: %w", len(pts), backend.ErrTooLarge)
	}
	buf = binary.BigEndian.AppendUint32(buf, 1) // dimensions
	buf = binary.BigEndian.AppendUint32(buf, 0) // has nulls
	buf = binary.BigEndian.AppendUint32(buf, elem)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(pts)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	// pgx appends every argument of a statement to one buffer: make room
	// at once for the three arrays of the chunk, which come one after the
	// other, and a little more for what follows.
	buf = growBuf(buf, 3*(20+12*len(pts))+4096)
	for i := range pts {
		buf = binary.BigEndian.AppendUint32(buf, 8)
		buf = binary.BigEndian.AppendUint64(buf, word(&pts[i]))
	}
	return buf, nil
}

// growBuf makes room for n more bytes in buf in one step, at least
// doubling its capacity, so that a statement of many chunks costs linear
// copying, not quadratic.
func growBuf(buf []byte, n int) []byte {
	if cap(buf)-len(buf) >= n {
		return buf
	}
	grown := make([]byte, len(buf), max(2*cap(buf), len(buf)+n))
	copy(grown, buf)
	return grown
}

// pgMicros is t as PostgreSQL's timestamptz holds it, the microseconds
// since 2000-01-01 UTC (below a microsecond truncated, as pgx does).
func pgMicros(t time.Time) int64 {
	return t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - microsecFromUnixToY2K
}

// pointsText encodes a point array in the text format through pgx's own
// codec, as the plain slice of its elements.
type pointsText struct {
	m      *pgtype.Map
	oid    uint32
	format int16
}

// Encode implements pgtype.EncodePlan.
func (p pointsText) Encode(value any, buf []byte) ([]byte, error) {
	var plain any
	switch v := value.(type) {
	case pointSteps:
		s := make([]int64, len(v))
		for i, q := range v {
			s[i] = q.Step
		}
		plain = s
	case pointValues:
		s := make([]float64, len(v))
		for i, q := range v {
			s[i] = q.Value
		}
		plain = s
	case pointTimes:
		s := make([]time.Time, len(v))
		for i, q := range v {
			s[i] = q.Time
		}
		plain = s
	default:
		return nil, fmt.Errorf("postgres: cannot encode %T as a point array", value)
	}
	return p.m.Encode(p.oid, p.format, plain, buf)
}
