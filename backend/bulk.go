package backend

import (
	"context"
	"iter"
)

// SeriesChunk is part of the points of one series of one record, as
// SeriesScanner yields them.
type SeriesChunk struct {
	ID     string  // the record's id
	Name   string  // the metric's name
	Points []Point // in append order; never empty; the caller owns it
}

// SeriesScanner is implemented by SeriesStores that read the series of
// many records of a collection in one streamed query, so that exporting a
// collection costs one query, not one per record per metric.
//
// If a SeriesStore does not implement SeriesScanner, package record reads
// each series of each record with ReadSeries, with the same result.
type SeriesScanner interface {
	// ScanSeries yields the points of every series of the records of coll
	// whose ids are not less than from (every record when from is empty):
	// ordered by record id, then by metric name (both as Go compares
	// strings: byte by byte), and the points of one series in append
	// order. A series may come in several chunks, one after the other; a
	// chunk holds at most a few thousand points, so memory stays that of
	// one chunk however large the collection. A series without points
	// yields nothing, and a missing collection nothing at all. An error
	// is yielded once, as the last item; when the caller stops early the
	// cursor is released.
	ScanSeries(ctx context.Context, coll, from string) iter.Seq2[SeriesChunk, error]
}
