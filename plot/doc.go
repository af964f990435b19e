// Package plot draws line charts of records with gonum.org/v1/plot, for
// user code and the record CLI alike.
//
// Visualize is the classic visualize() in one call: the losses of every
// model of a record (the arrays at models.<name>.losses), one line per
// model in the model's own color and label (models.<name>.color and
// models.<name>.label, when the record has them), written to a PNG, SVG or
// PDF file. VisualizeTo writes the same chart to an io.Writer.
//
//	snap, err := store.Get(ctx, collection, id)
//	...
//	err = plot.Visualize(snap, "losses.png")
//
// Losses, Metrics and Records build a Chart instead, to adjust before
// Chart.Save or Chart.Render: Losses the model losses of one or many
// records, Metrics the logged metric series of one or many runs against
// their steps, and Records whatever paths or metric names a caller names
// (what "record plot" draws).
//
// # Long series
//
// Metric series are read batch by batch (record.Snapshot.Series), never
// whole, and reduced while they are read to a few thousand ranges of
// steps; when drawn, any long line is reduced again to its pixel columns.
// Each range or column keeps its first, last, lowest and highest point,
// so spikes and dips survive, and a series of any length costs memory of
// a few thousand points per line.
//
// # Values that cannot be drawn
//
// Any value plots in bounded time. NaN is a gap in its line. Infinities
// and finite values of magnitude above Limit are clipped: drawn on the
// edge of the axis with a triangle, the axis spanning the other values,
// and the line's legend entry says how many values were clipped and how
// many were NaN ("loss (2 clipped, 1 NaN)").
package plot
