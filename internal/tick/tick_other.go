//go:build !amd64

package tick

const available = false

func read() int64 { return 0 }
