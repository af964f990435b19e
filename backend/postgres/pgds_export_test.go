package postgres

// AppendRawPoints is appendRawPoints, for tests against pgx's own scan.
var AppendRawPoints = appendRawPoints

// ErrRawArray is errRawArray, for errors.Is in tests.
var ErrRawArray = errRawArray

// SlicePlan is planSlices over spans of the given numbers of points: the
// workers, and the points of each batch.
func SlicePlan(points []int, maxConns int) (workers int, batches []int) {
	spans := make([]span, len(points))
	for i, n := range points {
		spans[i] = span{seq: int64(i), from: 1, to: int32(n)}
	}
	workers, bs := planSlices(spans, maxConns)
	for _, b := range bs {
		n := 0
		for _, s := range b {
			n += spanPoints(s)
		}
		batches = append(batches, n)
	}
	return workers, batches
}
