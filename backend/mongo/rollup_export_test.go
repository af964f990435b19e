package mongo

// DecodeBucket exposes decodeBucket to the tests: the points of a bucket
// document as the adapter reads them.
var DecodeBucket = decodeBucket

// SetKeepSums sets how many bytes of block summaries DownsampleSeries
// keeps from its first find, and returns the restore of the old value.
func SetKeepSums(n int) (restore func()) {
	old := keepSums
	keepSums = n
	return func() { keepSums = old }
}
