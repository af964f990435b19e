package postgres

import (
	"context"
	"sync"

	"github.com/recordlab/go-record/internal/rollup"
)

const (
	// sliceWorkers is the most slice queries of one DownsampleSeries that
	// run at once, each on its own connection of the pool: the server
	// detoasts the arrays of each row it slices, and that work, not the
	// bytes sent, is most of a downsampled read that straddles blocks.
	sliceWorkers = 2
	// sliceSplit is the fewest points a slice query reads when the spans
	// are split between workers: below it one query does all.
	sliceSplit = 8 << 10
)

// foldSpans reads the points of spans and folds them into f: one query
// per batch of about slicePoints points, and more, smaller batches (not
// under sliceSplit points) so that sliceWorkers queries run at once when
// the pool allows. It returns the first error.
func (b *Backend) foldSpans(ctx context.Context, coll, id, name string, spans []span, f *rollup.Folder) error {
	if len(spans) == 0 {
		return nil
	}
	workers, batches := planSlices(spans, int(b.pool.Config().MaxConns))
	if workers <= 1 {
		for _, batch := range batches {
			if err := b.foldSlices(ctx, coll, id, name, batch, f, nil); err != nil {
				return err
			}
		}
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex // guards f
		wg    sync.WaitGroup
		next  = make(chan []span)
		errMu sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for batch := range next {
				if err := b.foldSlices(ctx, coll, id, name, batch, f, &mu); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	fed := 0
feed:
	for _, batch := range batches {
		select {
		case next <- batch:
			fed++
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if fed < len(batches) {
		// Stopped by the caller's context between two batches.
		return classifyCtx(parent, parent.Err())
	}
	return nil
}

// planSlices cuts spans into the batches of one query each, and says how
// many queries may run at once on a pool of maxConns connections.
func planSlices(spans []span, maxConns int) (workers int, batches [][]span) {
	total := 0
	for _, s := range spans {
		total += spanPoints(s)
	}
	workers = max(min(sliceWorkers, maxConns, total/sliceSplit), 1)
	batches = splitSpans(spans, min(slicePoints, (total+workers-1)/workers))
	return min(workers, len(batches)), batches
}

// spanPoints is about the number of points of s (a whole row counts as
// seriesChunk).
func spanPoints(s span) int { return min(int(s.to-s.from+1), seriesChunk) }

// splitSpans cuts spans into consecutive batches of at least size points
// each but the last.
func splitSpans(spans []span, size int) [][]span {
	var out [][]span
	for len(spans) > 0 {
		n, points := 0, 0
		for n < len(spans) && points < size {
			points += spanPoints(spans[n])
			n++
		}
		out = append(out, spans[:n])
		spans = spans[n:]
	}
	return out
}
