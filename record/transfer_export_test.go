package record

import (
	"testing"
	"time"

	"github.com/recordlab/go-record/internal/docjson"
)

// SetLinePoints sets the most points Export writes on one line, for tests
// of records that span several lines, and returns a function that
// restores it.
func SetLinePoints(n int) (restore func()) {
	old := linePoints
	linePoints = n
	return func() { linePoints = old }
}

// TestTimeText checks that Export's time encoder writes what
// docjson.Append writes, around second and millisecond boundaries, before
// 1970 and at the ends of the four-digit years.
func TestTimeText(t *testing.T) {
	var c timeText
	base := []time.Time{
		time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 58, 0, time.UTC),
		time.Date(2026, 3, 29, 2, 30, 0, 0, time.FixedZone("CEST", 7200)),
	}
	for _, b := range base {
		for _, d := range []time.Duration{0, 1, 999_999, time.Millisecond, 999 * time.Millisecond, time.Second - 1, time.Second, 1001 * time.Millisecond, -1, -time.Millisecond} {
			tm := b.Add(d)
			want, err := docjson.Marshal(tm)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.append(nil, tm); string(got) != string(want) {
				t.Errorf("%v: %s, want %s", tm, got, want)
			}
		}
	}
}
