package memory

import (
	"time"

	"github.com/recordlab/go-record/backend"
)

// storedPoint is a point as the memory store keeps it. It holds no
// pointers (a backend.Point's time.Time holds its Location), so the
// garbage collector never scans the points of a series, however long:
// scanning 10M stored backend.Points took a quarter of the CPU of a
// program logging into a memory store. Times come back in UTC, as from
// every other backend.
type storedPoint struct {
	step  int64
	value float64
	sec   int64
	nsec  int64
}

func toStored(p backend.Point) storedPoint {
	return storedPoint{step: p.Step, value: p.Value, sec: p.Time.Unix(), nsec: int64(p.Time.Nanosecond())}
}

func (p storedPoint) point() backend.Point {
	return backend.Point{Step: p.step, Value: p.value, Time: time.Unix(p.sec, p.nsec).UTC()}
}

// seriesChunk is how many points one chunk of a series holds.
const seriesChunk = 4096

// series is the points of one metric in append order, in chunks of
// seriesChunk, so that an append never copies what is stored.
type series struct {
	chunks [][]storedPoint
	n      int
}

// add appends pts.
func (s *series) add(pts []backend.Point) {
	for len(pts) > 0 {
		if len(s.chunks) == 0 || len(s.chunks[len(s.chunks)-1]) == seriesChunk {
			s.chunks = append(s.chunks, make([]storedPoint, 0, seriesChunk))
		}
		last := &s.chunks[len(s.chunks)-1]
		n := min(len(pts), seriesChunk-len(*last))
		for _, p := range pts[:n] {
			*last = append(*last, toStored(p))
		}
		s.n += n
		pts = pts[n:]
	}
}

// len is the number of points of s (a nil s has none).
func (s *series) len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// appendRange appends to dst the points i..j-1 of s that keep accepts
// (all when keep is nil).
func (s *series) appendRange(dst []backend.Point, i, j int, keep func(backend.Point) bool) []backend.Point {
	j = min(j, s.len())
	for i < j {
		c := s.chunks[i/seriesChunk]
		k := i % seriesChunk
		end := min(len(c), k+j-i)
		for _, sp := range c[k:end] {
			if p := sp.point(); keep == nil || keep(p) {
				dst = append(dst, p)
			}
		}
		i += end - k
	}
	return dst
}
