// Package record records machine-learning experiments: the parameters of a
// run (flags, config files, maps, structs), its results (per-step metrics,
// per-model data such as losses) and the machine it ran on, as one
// JSON-like document per run in a store chosen by a DSN.
//
//	store, err := record.Open(ctx, "")          // $RECORD_DSN, else sqlite://records.db
//	rec, err := store.Create(ctx, "Nov-25-2026", record.WithSeed(42))
//	err = rec.Update(ctx, flag.CommandLine)      // every flag, typed, at the top level
//	err = rec.UpdateAt(ctx, "models", models)    // each model under models.<name>
//	rec.Log(step, record.Metrics{"loss": 0.73})  // buffered; never waits on I/O
//	err = rec.Close(ctx, runErr)                 // flush, status, end time, seal
//	snap, err := store.Get(ctx, "Nov-25-2026", rec.ID())
//	for run, err := range store.List(ctx, "Nov-25-2026", record.OrderBy("metrics.loss.min", false), record.Limit(20)) { ... }
//
// # Reading many runs
//
// Store.List streams: the backend yields records one at a time, in the
// order asked for (OrderBy, pushed down to SQL ORDER BY or a Mongo sort),
// with only the Fields asked for, and List stops at Limit, so listing
// the best 20 of 10,000 runs reads 20 rows where Store.Index made an
// index. Conditions (Where, WhereText) are pushed down as far as each
// database can, and applied exactly by record, so every backend gives the
// same answer. Snapshot.Series streams a metric's points in batches.
//
// # Writing: exactly once, bounded, never blocked
//
// Log appends to memory; a writer goroutine per Record ships the points in
// batches with Backend.ApplyBatch (backend.BatchStore): the points, the
// metric's summary folded from what is stored, and the writer's mark
// batches.<writer> = sequence, in one atomic step, so a batch retried
// after a lost acknowledgement is not stored twice and any number of
// handles and processes writing one record agree on its summaries. Flush
// and Close return by their context's deadline. Points waiting for the
// store are bounded (WithMemoryBound); beyond the bound, and while the
// store fails, they go to an on-disk spool (x-spool, $RECORD_SPOOL_DIR,
// the user's cache directory) that the writer ships when the store
// returns, and Store.Sync (record sync) ships what a process left behind;
// Close with the store unreachable returns a *SpoolError saying where.
// With x-offline=true in the DSN nothing is sent: the run goes to the
// spool only. A running record refreshes heartbeat and alive_until; one
// whose alive_until passed reads as StatusCrashed until Resume, which
// also repairs summaries and reports LastSteps.
//
// # Stores
//
// Open picks the adapter by the DSN's scheme; the adapter must be
// imported, e.g. _ "github.com/recordlab/go-record/backend/sqlite", or
// backend/all for every scheme:
//
//	mem://                     process memory; mem://NAME is shared by every Open in the process
//	sqlite://runs.db           SQLite file (relative), sqlite:///abs/runs.db (absolute)
//	postgres://user:pw@host/db PostgreSQL, JSONB
//	mongodb://host:27017/db    MongoDB (database from the path, default experiments)
//
// # Values
//
// Stored values are nil, bool, int64, float64, string, time.Time, []any
// and map[string]any, and every backend round-trips each exactly: an int
// stays an int and a float a float (epochs=10 reads back int64(10), lr=1.0
// float64(1)); float64 keeps every bit, NaN and ±Inf included; times come
// back in UTC to the millisecond. See Normalize for the Go values accepted.
//
// Keys are non-empty valid UTF-8 with no '.', no leading '$' and no NUL. A
// path is dotted text ("models.model_0.losses"). Collection names match
// [A-Za-z0-9][A-Za-z0-9_.-]{0,119}; ids match [A-Za-z0-9_.-]{1,128};
// generated ids are 24 hex digits in MongoDB ObjectID layout.
//
// # Document layout
//
//	id, collection, created, status   written by Create; status is running until Close
//	heartbeat, alive_until            refreshed by a running record's writer (crashed past alive_until)
//	batches.<writer>, batches.n       each writer's last applied batch, and the count of batches
//	seed, parent, goals.<metric>      WithSeed, WithParent, WithGoal
//	host, build, run                  the machine, the program and the process
//	metrics.<name>                    summary of a logged metric: count, last, last_step,
//	                                  last_time, min, min_step, max, max_step, mean, sum,
//	                                  finite, nans, infs, neg_infs; last, min, max, mean
//	                                  and sum are finite or null (last_nonfinite names a
//	                                  NaN or infinite last value), so queries can rank runs
//	ended, duration, error            written by Close (duration in seconds)
//	anything else                     yours: Update, Set, Append, Unset
//
// The fields above are reserved: writing to them is ErrInvalid. Metric
// points live beside the document (Snapshot.Series), so a long run never
// makes the document grow.
//
// # Errors
//
// Errors match the sentinels (ErrNotFound, ErrExists, ErrInvalid,
// ErrTooLarge, ErrSealed, ErrClosed, ErrUnsupported, ErrUnavailable,
// ErrFull) with errors.Is; bad
// input is an *InvalidError naming the path. A rejected write changes
// nothing that is stored. A failed call to the backend is an *Error,
// "record: <op> <collection>/<id>: <cause>": its cause never holds a
// password or key of the DSN (nor does anything errors.Unwrap reaches),
// and once the call's context is done the cause is the context's error.
// errors.As still reaches the driver's own error type.
package record
