// Package rollup folds metric points into the per-chunk summaries that
// adapters keep beside their stored points, and folds those summaries
// (or the points themselves) into the buckets of a downsampled read.
//
// A stored chunk of points is summarized per block of BlockSize
// consecutive points (in append order): a block's Summary has its count,
// NaNs, min, max, sum, and its first and last points by step. A
// downsampled read takes a block whole when all its steps fall into one
// bucket (Folder.Block) and reads only the points of the blocks that
// straddle a bucket boundary, so folding a million points into a thousand
// buckets reads the summaries (a sixty-fourth of the points) and a few
// points per bucket.
//
// Every fold here is commutative: the result does not depend on the
// order of chunks or points, except for the rounding of Sum.
package rollup

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/recordlab/go-record/backend"
)

// BlockSize is the number of consecutive points one Summary covers in the
// blocks of a chunk: all blocks of a chunk are full but the last.
const BlockSize = 64

// Summary is the aggregate of some points of a series.
type Summary struct {
	Count, NaNs int64
	Min, Max    float64 // over the values that are not NaN; NaN when none
	Sum         float64 // of the values that are not NaN
	First, Last backend.Point
}

// Empty reports whether s summarizes no point.
func (s *Summary) Empty() bool { return s.Count == 0 }

// Add folds p into s.
func (s *Summary) Add(p backend.Point) {
	if s.Count == 0 {
		s.Min, s.Max, s.First, s.Last = math.NaN(), math.NaN(), p, p
	} else {
		if Less(p, s.First) {
			s.First = p
		}
		if Less(s.Last, p) {
			s.Last = p
		}
	}
	s.Count++
	v := p.Value
	if math.IsNaN(v) {
		s.NaNs++
		return
	}
	s.Sum += v
	if math.IsNaN(s.Min) || v < s.Min || v == s.Min && math.Signbit(v) {
		s.Min = v
	}
	if math.IsNaN(s.Max) || v > s.Max || v == s.Max && !math.Signbit(v) {
		s.Max = v
	}
}

// Merge folds o into s.
func (s *Summary) Merge(o Summary) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 {
		*s = o
		return
	}
	if Less(o.First, s.First) {
		s.First = o.First
	}
	if Less(s.Last, o.Last) {
		s.Last = o.Last
	}
	s.Count += o.Count
	s.NaNs += o.NaNs
	s.Sum += o.Sum
	if !math.IsNaN(o.Min) && (math.IsNaN(s.Min) || o.Min < s.Min || o.Min == s.Min && math.Signbit(o.Min)) {
		s.Min = o.Min
	}
	if !math.IsNaN(o.Max) && (math.IsNaN(s.Max) || o.Max > s.Max || o.Max == s.Max && !math.Signbit(o.Max)) {
		s.Max = o.Max
	}
}

// Less orders points by step, then time, then value (NaN first, then by
// bits), a total order that makes First and Last independent of the order
// in which points are folded.
func Less(a, b backend.Point) bool {
	if c := cmp.Compare(a.Step, b.Step); c != 0 {
		return c < 0
	}
	if c := a.Time.Compare(b.Time); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.Value, b.Value); c != 0 {
		return c < 0
	}
	return math.Float64bits(a.Value) < math.Float64bits(b.Value)
}

// Blocks summarizes pts per block of BlockSize consecutive points.
func Blocks(pts []backend.Point) []Summary {
	out := make([]Summary, 0, (len(pts)+BlockSize-1)/BlockSize)
	for start := 0; start < len(pts); start += BlockSize {
		var s Summary
		for _, p := range pts[start:min(start+BlockSize, len(pts))] {
			s.Add(p)
		}
		out = append(out, s)
	}
	return out
}

// Total is the merge of sums.
func Total(sums []Summary) Summary {
	var t Summary
	for _, s := range sums {
		t.Merge(s)
	}
	return t
}

// encoding: a version byte, the block size (uint16), then per block 11
// little-endian 64-bit words.
const (
	version   = 1
	header    = 3
	blockLen  = 11 * 8
	maxBlocks = 1 << 20
)

// ErrCorrupt is returned by Decode for bytes Encode did not write.
var ErrCorrupt = errors.New("rollup: corrupt block summaries")

// Encode is the stored form of the block summaries of one chunk.
func Encode(sums []Summary) []byte {
	b := make([]byte, header, header+blockLen*len(sums))
	b[0] = version
	binary.LittleEndian.PutUint16(b[1:], BlockSize)
	for _, s := range sums {
		for _, w := range [11]uint64{
			uint64(s.Count), uint64(s.NaNs),
			math.Float64bits(s.Min), math.Float64bits(s.Max), math.Float64bits(s.Sum),
			uint64(s.First.Step), math.Float64bits(s.First.Value), uint64(s.First.Time.UnixMilli()),
			uint64(s.Last.Step), math.Float64bits(s.Last.Value), uint64(s.Last.Time.UnixMilli()),
		} {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	return b
}

// Decode reads what Encode wrote, and the block size it was written with.
func Decode(b []byte) (sums []Summary, blockSize int, err error) {
	if len(b) < header || b[0] != version || (len(b)-header)%blockLen != 0 || (len(b)-header)/blockLen > maxBlocks {
		return nil, 0, fmt.Errorf("%w (%d bytes)", ErrCorrupt, len(b))
	}
	blockSize = int(binary.LittleEndian.Uint16(b[1:]))
	if blockSize == 0 {
		return nil, 0, fmt.Errorf("%w: block size 0", ErrCorrupt)
	}
	b = b[header:]
	sums = make([]Summary, len(b)/blockLen)
	for i := range sums {
		var w [11]uint64
		for j := range w {
			w[j] = binary.LittleEndian.Uint64(b[8*j:])
		}
		b = b[blockLen:]
		s := Summary{
			Count: int64(w[0]), NaNs: int64(w[1]),
			Min: math.Float64frombits(w[2]), Max: math.Float64frombits(w[3]), Sum: math.Float64frombits(w[4]),
			First: backend.Point{Step: int64(w[5]), Value: math.Float64frombits(w[6]), Time: time.UnixMilli(int64(w[7])).UTC()},
			Last:  backend.Point{Step: int64(w[8]), Value: math.Float64frombits(w[9]), Time: time.UnixMilli(int64(w[10])).UTC()},
		}
		if s.Count <= 0 || s.NaNs < 0 || s.NaNs > s.Count {
			return nil, 0, fmt.Errorf("%w: block %d counts %d points, %d NaN", ErrCorrupt, i, s.Count, s.NaNs)
		}
		sums[i] = s
	}
	return sums, blockSize, nil
}

// Plan is the bucket layout of a downsampled read over steps From..To.
type Plan struct {
	From, To int64
	width    uint64 // steps per bucket; 0 means 2^64 (one bucket holds every int64)
	n        int
}

// NewPlan lays out q for a series whose steps span lo..hi: an end of q's
// range at math.MinInt64 or math.MaxInt64 is narrowed to lo or hi, the
// other ends stay as asked (so that several series asked for the same
// bounded range get the same buckets), and the range is cut into at most
// q.Buckets buckets of equal width. ok is false when the range is empty.
func NewPlan(q backend.Downsample, lo, hi int64) (p Plan, ok bool) {
	from, to := q.From, q.To
	if from == math.MinInt64 {
		from = max(from, lo)
	}
	if to == math.MaxInt64 {
		to = min(to, hi)
	}
	if from > to || q.Buckets < 1 {
		return Plan{}, false
	}
	span := uint64(to) - uint64(from) + 1 // 0 when the range is all of int64
	n := uint64(q.Buckets)
	var w uint64
	switch {
	case span == 0 && n == 1:
		w = 0 // one bucket of 2^64 steps
	case span == 0:
		// ceil(2^64 / n)
		quo, rem := bits.Div64(1, 0, n)
		w = quo
		if rem != 0 {
			w++
		}
	default:
		w = span / n
		if span%n != 0 {
			w++
		}
	}
	p = Plan{From: from, To: to, width: w}
	if w == 0 {
		p.n = 1
	} else {
		p.n = int((uint64(to)-uint64(from))/w) + 1
	}
	return p, true
}

// Buckets is the number of buckets of p.
func (p Plan) Buckets() int { return p.n }

// Index is the bucket of step, and false when step is outside the plan.
func (p Plan) Index(step int64) (int, bool) {
	if step < p.From || step > p.To {
		return 0, false
	}
	if p.width == 0 {
		return 0, true
	}
	return int((uint64(step) - uint64(p.From)) / p.width), true
}

// Bounds is the steps of bucket k.
func (p Plan) Bounds(k int) (from, to int64) {
	if p.width == 0 {
		return p.From, p.To
	}
	from = int64(uint64(p.From) + uint64(k)*p.width)
	if k >= p.n-1 {
		return from, p.To
	}
	return from, int64(uint64(from) + p.width - 1)
}

// Folder folds summaries and points into the buckets of a Plan. Its
// memory is that of the buckets.
type Folder struct {
	plan Plan
	sums []Summary
}

// NewFolder returns an empty Folder for p.
func NewFolder(p Plan) *Folder { return &Folder{plan: p, sums: make([]Summary, p.n)} }

// Plan is the Folder's plan.
func (f *Folder) Plan() Plan { return f.plan }

// Block folds a block summary when all its points fall into one bucket,
// and skips it when none is in range. It returns false, folding nothing,
// when the block straddles a bucket boundary or an end of the range: the
// caller then folds the block's points with Points.
func (f *Folder) Block(s Summary) bool {
	if s.Count == 0 || s.Last.Step < f.plan.From || s.First.Step > f.plan.To {
		return true
	}
	i, ok1 := f.plan.Index(s.First.Step)
	j, ok2 := f.plan.Index(s.Last.Step)
	if !ok1 || !ok2 || i != j {
		return false
	}
	f.sums[i].Merge(s)
	return true
}

// Points folds the points in range.
func (f *Folder) Points(pts []backend.Point) {
	for _, p := range pts {
		if i, ok := f.plan.Index(p.Step); ok {
			f.sums[i].Add(p)
		}
	}
}

// Buckets returns the non-empty buckets in step order.
func (f *Folder) Buckets() []backend.Bucket {
	var out []backend.Bucket
	for k, s := range f.sums {
		if s.Count == 0 {
			continue
		}
		from, to := f.plan.Bounds(k)
		out = append(out, backend.Bucket{
			From: from, To: to, Count: s.Count, NaNs: s.NaNs,
			Min: s.Min, Max: s.Max, Sum: s.Sum, First: s.First, Last: s.Last,
		})
	}
	return out
}

// Fold is the reference downsampling: the buckets of q over every point
// of pts, read twice (once for the extent, once to fold).
func Fold(q backend.Downsample, pts func(yield func([]backend.Point) bool) error) ([]backend.Bucket, error) {
	var all Summary
	if err := pts(func(b []backend.Point) bool {
		for _, p := range b {
			all.Add(p)
		}
		return true
	}); err != nil {
		return nil, err
	}
	plan, ok := NewPlan(q, all.First.Step, all.Last.Step)
	if all.Count == 0 || !ok {
		return nil, nil
	}
	f := NewFolder(plan)
	if err := pts(func(b []backend.Point) bool { f.Points(b); return true }); err != nil {
		return nil, err
	}
	return f.Buckets(), nil
}

// Extent returns the smallest and greatest step of the summarized points;
// ok is false when there are none.
func Extent(sums []Summary) (lo, hi int64, ok bool) {
	t := Total(sums)
	return t.First.Step, t.Last.Step, t.Count > 0
}
