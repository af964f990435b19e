package record

import (
	"context"
	"slices"

	"github.com/recordlab/go-record/backend"
)

// Count returns the number of records of coll that satisfy opts' conditions
// (all of them when there are none), and 0 for a collection that does not
// exist. Without conditions a backend that can count (all four adapters)
// counts on the server; otherwise the ids are listed and counted, one at a
// time.
func (s *Store) Count(ctx context.Context, coll string, opts ...ListOption) (int, error) {
	if err := ValidCollection(coll); err != nil {
		return 0, err
	}
	if c, ok := s.b.(backend.Counter); ok && len(opts) == 0 {
		var n int64
		err := s.do(ctx, "count", coll, "", func() (err error) {
			n, err = c.Count(ctx, coll)
			return err
		})
		return int(n), err
	}
	n := 0
	for _, err := range s.List(ctx, coll, append(slices.Clip(opts), Fields("id"))...) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
