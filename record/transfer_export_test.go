package record

// SetColumnBuffer sets the bound on the encoded times and values of one
// series that Export holds in memory, for a test of the path past it, and
// returns a function that restores the bound.
func SetColumnBuffer(n int) (restore func()) {
	old := columnBuffer
	columnBuffer = n
	return func() { columnBuffer = old }
}
