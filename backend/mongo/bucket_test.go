package mongo

import (
	"bytes"
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/rollup"
)

// referenceBucket is the bucket document as a bson.D of boxed values, the
// form the driver's reflection encodes (how buckets were written before
// codec.bucket).
func referenceBucket(c codec, id, sid any, name string, seq int64, pts []backend.Point) bson.D {
	steps, values, times := make(bson.A, len(pts)), make(bson.A, len(pts)), make(bson.A, len(pts))
	lo, hi := pts[0].Step, pts[0].Step
	for i, p := range pts {
		steps[i], values[i], times[i] = p.Step, c.encode(p.Value, true), bson.NewDateTimeFromTime(p.Time)
		lo, hi = min(lo, p.Step), max(hi, p.Step)
	}
	return bson.D{
		{Key: "_id", Value: id}, {Key: "record", Value: sid}, {Key: "name", Value: name}, {Key: "seq", Value: seq},
		{Key: "steps", Value: steps}, {Key: "values", Value: values}, {Key: "times", Value: times},
		{Key: "lo", Value: lo}, {Key: "hi", Value: hi},
		{Key: "sums", Value: bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: rollup.Encode(rollup.Blocks(pts))}},
	}
}

// TestBucketBytes: codec.bucket writes byte for byte what bson.Marshal
// writes for the bucket as a bson.D, with FerretDB's float tags and
// without, for hostile values, steps and times, ids of both kinds, and
// sizes whose array keys change length.
func TestBucketBytes(t *testing.T) {
	hostile := []float64{
		math.NaN(), math.Float64frombits(0x7ff8_dead_beef_0001), math.Float64frombits(0xfff0_0000_0000_0001),
		math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, 5e-324, -5e-324,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3, -2.5,
	}
	steps := []int64{math.MinInt64, -1, 0, 1, 1 << 53, math.MaxInt64}
	times := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Unix(0, -1).UTC(), time.Unix(1_795_000_000, 123_456_789).In(time.FixedZone("x", -7*3600)),
		time.Now(), // with a monotonic reading
	}
	points := func(n int) []backend.Point {
		pts := make([]backend.Point, n)
		for i := range pts {
			pts[i] = backend.Point{
				Step:  steps[i%len(steps)] + int64(i/len(steps)),
				Value: hostile[i%len(hostile)],
				Time:  times[i%len(times)],
			}
		}
		return pts
	}
	oid := bson.NewObjectID()
	for _, n := range []int{1, 9, 10, 11, 1000, 1001, bucketPoints} {
		for _, c := range []codec{{}, {tag: true, keys: true}} {
			for _, ids := range [][2]any{{oid, bson.NewObjectID()}, {`batch:"r\u00e9":"lo\"ss\\":"w":7:0`, "user-id_1"}} {
				pts := points(n)
				name := "tr\u00e4in/lo\"ss\\\x01"
				want, err := bson.Marshal(referenceBucket(c, ids[0], ids[1], name, 1_795_000_000_123_456_789, pts))
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.bucket(ids[0], ids[1], name, 1_795_000_000_123_456_789, pts)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(want, got) {
					t.Fatalf("%d points, tag %v, ids %T: bucket differs from bson.Marshal's (%d vs %d bytes)", n, c.tag, ids[0], len(got), len(want))
				}
				// And it decodes to the points (NaN payloads kept where the
				// float is tagged; doubles carry them natively).
				back, err := decodeBucket(got)
				if err != nil {
					t.Fatal(err)
				}
				for i := range pts {
					if back[i].Step != pts[i].Step || math.Float64bits(back[i].Value) != math.Float64bits(pts[i].Value) ||
						!back[i].Time.Equal(pts[i].Time.Truncate(time.Millisecond)) && pts[i].Time.UnixMilli() != back[i].Time.UnixMilli() {
						t.Fatalf("%d points, tag %v: point %d decodes to %+v, want %+v", n, c.tag, i, back[i], pts[i])
					}
				}
			}
		}
	}
}

// TestBucketBadID: an _id the driver cannot encode is an error, not a
// panic or a malformed document.
func TestBucketBadID(t *testing.T) {
	if _, err := (codec{}).bucket(make(chan int), "r", "loss", 1, []backend.Point{{Step: 1}}); err == nil {
		t.Fatal("a channel as _id was encoded")
	}
}

// BenchmarkBucket: encoding a 1000-point bucket, by codec.bucket and by
// bson.Marshal of the bson.D of boxed values.
func BenchmarkBucket(b *testing.B) {
	pts := make([]backend.Point, 1000)
	for i := range pts {
		pts[i] = backend.Point{Step: int64(i), Value: 1 / float64(i+1), Time: time.Now()}
	}
	oid := bson.NewObjectID()
	b.Run("codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := (codec{tag: true}).bucket(oid, oid, "loss", 1, pts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bson.Marshal(referenceBucket(codec{tag: true}, oid, oid, "loss", 1, pts)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
