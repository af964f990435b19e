package postgres

// SliceSQL is the query with which DownsampleSeries reads the points of
// the blocks it cannot fold whole, for EXPLAIN in tests.
func (b *Backend) SliceSQL() string { return b.sqlSlices() }
