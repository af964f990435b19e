package spool_test

import (
	"testing"

	"github.com/recordlab/go-record/internal/spool"
)

// BenchmarkAppend measures Append of a 1000-point entry, fsync included,
// on the test's temporary directory (a real disk) and on a tmpfs (encoding
// and write without a device flush; needs root).
func BenchmarkAppend(b *testing.B) {
	for _, where := range []string{"TempDir", "tmpfs"} {
		b.Run(where, func(b *testing.B) {
			j := benchJournal(b, where)
			e := bigEntry(1, 1000)
			start, err := j.Append(e)
			if err != nil {
				b.Fatal(err)
			}
			end, _ := j.Append(e)
			b.SetBytes(end - start)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if i%10000 == 9999 {
					j.Reset() // stay within the tmpfs
				}
				if _, err := j.Append(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendBatch measures AppendBatch of 100 entries of 1000 points
// (one write per MiB, one fsync), per point, on the test's temporary
// directory and on a tmpfs (encoding and writes without a device flush;
// needs root).
func BenchmarkAppendBatch(b *testing.B) {
	for _, where := range []string{"TempDir", "tmpfs"} {
		b.Run(where, func(b *testing.B) {
			j := benchJournal(b, where)
			const entries, points = 100, 1000
			es := make([]spool.Entry, entries)
			for i := range es {
				es[i] = bigEntry(int64(i), points)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%100 == 99 {
					j.Reset() // stay within the tmpfs
				}
				if _, err := j.AppendBatch(entries, func(i int) spool.Entry { return es[i] }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entries*points), "ns/pt")
		})
	}
}

// benchJournal creates a journal for a benchmark on the test's temporary
// directory ("TempDir") or a tmpfs ("tmpfs"), closed when it ends.
func benchJournal(b *testing.B, where string) *spool.Journal {
	root := b.TempDir()
	if where == "tmpfs" {
		root = smallFS(b, "1g")
	}
	j, err := spool.Create(root, header())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}
