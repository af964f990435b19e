package gcpause_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/gcpause"
)

// TestMax: a span with collections in it reports a pause, one bound from
// above by its bucket and far below a second here; a span without any
// reports none.
func TestMax(t *testing.T) {
	m := gcpause.Start()
	if pause, stop := m.Max(); pause != 0 || stop != 0 {
		t.Fatalf("a span without a collection: pause %v, stop %v", pause, stop)
	}
	for range 3 {
		runtime.GC()
	}
	pause, stop := m.Max()
	if pause <= 0 || pause > time.Second {
		t.Errorf("pause = %v after three collections", pause)
	}
	if stop < 0 || stop > pause {
		t.Errorf("stop = %v, pause %v: stopping is part of the pause", stop, pause)
	}
	// A later mark does not see the earlier pauses.
	if p, _ := gcpause.Start().Max(); p != 0 {
		t.Errorf("a fresh mark reports %v", p)
	}
}
