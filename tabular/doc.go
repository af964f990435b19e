// Package tabular writes recorded runs as two long tables for analysis
// tools (pandas, polars, DuckDB, Spark, R): Apache Parquet files or CSV
// files of the same columns. It reads through package record, so it works
// on every store, and streams: memory holds one Parquet row group (or one
// CSV buffer) and one record, never a collection or a whole series.
//
//	rep, err := tabular.Export(ctx, store, "out", []string{"Nov-25-2026"}, tabular.Options{Format: tabular.Parquet})
//	// out/runs.parquet, out/points.parquet
//
// # The runs table
//
// One row per record, in List's order within each collection, the
// collections in the order given. The columns are
//
//	collection, id, status, created, ended, duration, parent, error
//	PARAM...          every field the run wrote, flattened to dotted paths
//	                  (lr, models.model_0.label), sorted; the machine facts
//	                  (host, build, run) only with Options.Machine
//	goals.METRIC      "min" or "max" where the run declared a goal
//	metrics.METRIC.F  the metric's summary: count, last, last_step,
//	                  last_time, min, min_step, max, max_step, mean, sum,
//	                  finite, nans, infs, neg_infs
//
// status is the status as record reads it: a running record whose
// heartbeat stopped is "crashed". metrics.METRIC.last is the exact last
// value, NaN and ±Inf included (the stored summary keeps those in
// last_nonfinite, which the table does not repeat).
//
// A column has the type of its values when all records agree: BOOLEAN,
// INT64, DOUBLE, STRING or TIMESTAMP (milliseconds, UTC). A column whose
// values mix ints and floats is DOUBLE when every int converts exactly
// (|i| <= 2^53). Any other mix, and every array or empty object, makes a
// STRING column holding each value's JSON text in the exact form of
// "record show" (1 and "1" stay apart: 1 and "\"1\""; NaN is
// {"$float":"NaN"}). A missing field and a JSON null are both null.
//
// # The points table
//
//	collection, id, metric, step, value, time
//
// one row per stored point of every metric of every exported run, in
// the order the metric's points were logged: every value exactly (NaN,
// ±Inf and -0 are Parquet doubles with their bits), time in milliseconds
// UTC.
//
// # CSV
//
// The same columns, a header line first, RFC 4180 quoting (encoding/csv).
// Floats are written in the shortest form that reads back to the same
// bits, always with a '.' or an exponent (45.0, 1e+21), NaN as NaN,
// infinities as inf and -inf, -0 as -0.0, so that pandas' read_csv reads
// them as float64 values (pass float_precision="round_trip" for every
// bit); times as 2006-01-02T15:04:05.000Z; booleans as true and
// false; null as an empty cell. What CSV cannot tell apart: an empty
// string and null (both empty), a string and a number that look alike
// (pandas infers types; pass dtype=str for string columns), and a
// carriage return followed by a line feed inside a string, which
// encoding/csv reads back as a line feed alone. Parquet keeps all of these.
//
// # Strings
//
// Strings are written as stored, quotes, commas, newlines, backslashes and
// control characters included. record refuses strings that are not valid
// UTF-8 when they are written, so a store holds none; a document that
// holds one anyway (written to a backend directly) makes Export fail with
// a *record.InvalidError naming the collection, record and path, rather
// than write a Parquet STRING that is not UTF-8.
package tabular
