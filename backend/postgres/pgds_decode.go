package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/recordlab/go-record/backend"
)

// errRawArray is wrapped by the errors of rawArray and appendRawPoints:
// the bytes are not a one-dimensional array without nulls of 8-byte
// elements in PostgreSQL's binary format.
var errRawArray = errors.New("postgres: malformed binary array")

// rawArray is one array of fixed 8-byte elements in PostgreSQL's binary
// format (array_send): a header, then each element as a 4-byte length
// and its bytes.
type rawArray struct {
	elems []byte // the elements, each a 4-byte length then 8 bytes
	n     int
}

// parseRawArray checks the header of b, an array of element type oid,
// and that b holds n elements of 8 bytes, none null.
func parseRawArray(b []byte, oid uint32) (rawArray, error) {
	if len(b) < 12 {
		return rawArray{}, fmt.Errorf("%w: %d bytes", errRawArray, len(b))
	}
	ndim := int32(binary.BigEndian.Uint32(b))
	flags := binary.BigEndian.Uint32(b[4:])
	elem := binary.BigEndian.Uint32(b[8:])
	if elem != oid {
		return rawArray{}, fmt.Errorf("%w: element type %d, want %d", errRawArray, elem, oid)
	}
	if flags != 0 {
		return rawArray{}, fmt.Errorf("%w: it has nulls", errRawArray)
	}
	switch ndim {
	case 0:
		if len(b) != 12 {
			return rawArray{}, fmt.Errorf("%w: %d bytes after an empty array", errRawArray, len(b)-12)
		}
		return rawArray{}, nil
	case 1:
	default:
		return rawArray{}, fmt.Errorf("%w: %d dimensions", errRawArray, ndim)
	}
	if len(b) < 20 {
		return rawArray{}, fmt.Errorf("%w: %d bytes", errRawArray, len(b))
	}
	n := int32(binary.BigEndian.Uint32(b[12:]))
	elems := b[20:]
	if n < 0 || int64(len(elems)) != 12*int64(n) {
		return rawArray{}, fmt.Errorf("%w: %d elements in %d bytes", errRawArray, n, len(elems))
	}
	for i := 0; i < len(elems); i += 12 {
		if l := int32(binary.BigEndian.Uint32(elems[i:])); l != 8 {
			return rawArray{}, fmt.Errorf("%w: element %d has length %d", errRawArray, i/12+1, l)
		}
	}
	return rawArray{elems: elems, n: int(n)}, nil
}

// word is the 8 bytes of element i.
func (a rawArray) word(i int) uint64 { return binary.BigEndian.Uint64(a.elems[12*i+4:]) }

// appendRawPoints appends to pts the points of the three arrays, steps
// (bigint[]), vals (float8[]) and times (timestamptz[]) in the binary
// format, as pgx would scan them into []int64, []float64 and []time.Time
// (times in UTC), without its per-element decoding.
func appendRawPoints(pts []backend.Point, steps, vals, times []byte) ([]backend.Point, error) {
	s, err := parseRawArray(steps, pgtype.Int8OID)
	if err != nil {
		return pts, fmt.Errorf("steps: %w", err)
	}
	v, err := parseRawArray(vals, pgtype.Float8OID)
	if err != nil {
		return pts, fmt.Errorf("vals: %w", err)
	}
	t, err := parseRawArray(times, pgtype.TimestamptzOID)
	if err != nil {
		return pts, fmt.Errorf("times: %w", err)
	}
	if s.n != v.n || s.n != t.n {
		return pts, fmt.Errorf("%w: arrays of unequal length (%d steps, %d values, %d times)", errRawArray, s.n, v.n, t.n)
	}
	for i := range s.n {
		us := int64(t.word(i))
		if us == math.MaxInt64 || us == math.MinInt64 || us > math.MaxInt64-microsecFromUnixToY2K {
			return pts, fmt.Errorf("%w: time %d is infinite or out of range", errRawArray, i+1)
		}
		pts = append(pts, backend.Point{
			Step:  int64(s.word(i)),
			Value: math.Float64frombits(v.word(i)),
			Time:  time.UnixMicro(us + microsecFromUnixToY2K).UTC(),
		})
	}
	return pts, nil
}
