package postgres

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/recordlab/go-record/backend"
)

// hostilePoints are points at the edges of every field's range.
func hostilePoints() []backend.Point {
	est := time.FixedZone("EST", -5*3600)
	times := []time.Time{
		{}, // year 1
		time.Unix(0, 0),
		time.Unix(-1, 999_999_999), // before 1970, nanoseconds below a microsecond
		time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, est),
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(), // with a monotonic reading
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2026, 11, 26, 12, 0, 0, 1, time.UTC),
	}
	values := []float64{
		math.NaN(), math.Float64frombits(0x7ff8_0000_0000_0001), math.Inf(1), math.Inf(-1),
		math.Copysign(0, -1), 0, 5e-324, -math.MaxFloat64, math.MaxFloat64, 1 / 3.0,
	}
	steps := []int64{math.MinInt64, -1, 0, 1, math.MaxInt32 + 1, math.MaxInt64}
	var pts []backend.Point
	for i := range max(len(times), len(values), len(steps)) {
		pts = append(pts, backend.Point{Step: steps[i%len(steps)], Value: values[i%len(values)], Time: times[i%len(times)]})
	}
	return pts
}

// TestPointArraysAsPgx checks that the point arrays encode, in the binary
// and the text format, to exactly the bytes pgx writes for the plain
// slices of their elements, and that the wrapped codecs still encode
// those slices as pgx does.
func TestPointArraysAsPgx(t *testing.T) {
	plain := pgtype.NewMap()
	ours := pgtype.NewMap()
	if err := wrapArrayCodecs(ours); err != nil {
		t.Fatal(err)
	}
	for _, pts := range [][]backend.Point{{}, hostilePoints()[:1], hostilePoints()} {
		steps := make([]int64, len(pts))
		vals := make([]float64, len(pts))
		times := make([]time.Time, len(pts))
		for i, p := range pts {
			steps[i], vals[i], times[i] = p.Step, p.Value, p.Time
		}
		for _, c := range []struct {
			oid         uint32
			ours, plain any
		}{
			{pgtype.Int8ArrayOID, pointSteps(pts), steps},
			{pgtype.Float8ArrayOID, pointValues(pts), vals},
			{pgtype.TimestamptzArrayOID, pointTimes(pts), times},
		} {
			for _, format := range []int16{pgtype.BinaryFormatCode, pgtype.TextFormatCode} {
				want, err := plain.Encode(c.oid, format, c.plain, []byte("prefix"))
				if err != nil {
					t.Fatalf("pgx %T format %d: %v", c.plain, format, err)
				}
				got, err := ours.Encode(c.oid, format, c.ours, []byte("prefix"))
				if err != nil {
					t.Fatalf("%T of %d points, format %d: %v", c.ours, len(pts), format, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%T of %d points, format %d:\n got %x\nwant %x", c.ours, len(pts), format, got, want)
				}
				// The plain slices through the wrapped codec.
				if got, err := ours.Encode(c.oid, format, c.plain, []byte("prefix")); err != nil || !bytes.Equal(got, want) {
					t.Errorf("%T through the wrapped codec, format %d: %x, %v; want %x", c.plain, format, got, err, want)
				}
			}
			// With no oid known (the simple protocol) the Go type names the array type.
			want, _ := plain.Encode(0, pgtype.TextFormatCode, c.plain, nil)
			if got, err := ours.Encode(0, pgtype.TextFormatCode, c.ours, nil); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%T with no oid: %q, %v; want %q", c.ours, got, err, want)
			}
		}
	}
	// A point array never encodes as an array of another type.
	if _, err := ours.Encode(pgtype.Float8ArrayOID, pgtype.BinaryFormatCode, pointSteps(hostilePoints()), nil); err == nil {
		t.Error("steps encoded as float8[]")
	}
}

// TestPointArraysGrowGeometrically: the arrays of a statement of many
// chunks go into one buffer that grows by doubling, not by one chunk at a
// time (which allocated and copied quadratically: 85 MB for one
// 65-chunk statement).
func TestPointArraysGrowGeometrically(t *testing.T) {
	pts := make([]backend.Point, 1000)
	args := []any{pointSteps(pts), pointValues(pts), pointTimes(pts)}
	var buf []byte
	allocs := testing.AllocsPerRun(5, func() {
		buf = buf[:0:0]
		for range 200 {
			for _, v := range args {
				var err error
				if buf, err = (pointsBinary{}).Encode(v, buf); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if want := 3 * 200 * (20 + 12*1000); len(buf) != want {
		t.Fatalf("encoded %d bytes; want %d", len(buf), want)
	}
	if allocs > 16 {
		t.Errorf("%v allocations for 600 arrays in one buffer; want a doubling buffer (about 10)", allocs)
	}
}
