package spool_test

import (
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/spool"
)

// TestCreateRemoveRace has goroutines take one journal by Create or Open,
// append, and Remove it. Remove unlinks before it unlocks, so a Create or
// Open that locked the old file must notice and retry: never do two
// handles own the journal at once (one of them on a deleted file, whose
// entries would be lost), and every journal taken is a fresh one.
func TestCreateRemoveRace(t *testing.T) {
	root := t.TempDir()
	probe, err := spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	path := probe.Path()
	probe.Remove()
	var holders, taken atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i, try := 0, g; i < 25; try++ {
				var j *spool.Journal
				var err error
				if try%2 == 0 {
					j, err = spool.Create(root, header())
				} else {
					j, err = spool.Open(path)
				}
				if errors.Is(err, spool.ErrBusy) || errors.Is(err, fs.ErrNotExist) {
					time.Sleep(time.Duration(g) * 10 * time.Microsecond)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d handles own the journal at once", n)
				}
				taken.Add(1)
				if got, err := readAll(t, j); len(got) != 0 {
					t.Errorf("a journal taken after Remove holds %d entries (%v)", len(got), err)
				}
				if _, err := j.Append(spool.Entry{Seq: int64(i)}); err != nil {
					t.Error(err)
				}
				holders.Add(-1)
				if err := j.Remove(); err != nil {
					t.Error(err)
				}
				i++
			}
		})
	}
	wg.Wait()
	t.Logf("journal taken %d times", taken.Load())
}
