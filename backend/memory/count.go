package memory

import "context"

// Count implements backend.Counter.
func (b *Backend) Count(ctx context.Context, coll string) (int64, error) {
	after, err := b.enter(ctx, OpCount)
	if err != nil {
		return 0, err
	}
	if after != nil {
		return 0, after
	}
	b.d.mu.RLock()
	defer b.d.mu.RUnlock()
	return int64(len(b.d.colls[coll])), nil
}
