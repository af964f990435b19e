// Package backend is the small contract between package record and the
// databases it stores records in.
//
// A Backend stores JSON-like documents, addressed by a collection name and a
// record id, and applies atomic Merges of Ops to them. Package record
// validates and normalizes everything before it reaches a Backend, so
// adapters trust their input: paths are non-empty, keys are valid, values are
// only nil, bool, int64, float64, string, time.Time (UTC, millisecond
// precision), []any and map[string]any.
//
// # Optional interfaces
//
// A Backend may implement more, in the style of database/sql:
//
//   - Deleter: delete one record. If a Backend does not implement Deleter,
//     record.Store.Delete returns errors.ErrUnsupported.
//   - Lister: list collections and the records of a collection. If a Backend
//     does not implement Lister, record.Store.Collections and List return
//     errors.ErrUnsupported.
//   - Pinger: check the connection. If a Backend does not implement Pinger,
//     record.Store.Ping does a Get of a record that does not exist.
//   - SeriesStore: keep metric points outside the document. If a Backend does
//     not implement SeriesStore, record appends points to arrays inside the
//     document (series.<name>.steps, .values, .times).
//
// Every adapter in this module implements all of them.
//
// # Errors
//
// Adapters classify failures with the sentinel errors of this package and
// keep the native error wrapped beside them, so errors.Is answers the class
// and errors.As still reaches the driver's own type:
//
//	fmt.Errorf("postgres: insert %s/%s: %w: %w", coll, id, backend.ErrExists, pgErr)
//
// Adapters add no operation, collection or id to their errors, and print
// no DSN: package record wraps every error once, scrubbed of secrets.
// Errors from an adapter's Open go through internal/redact, so that no
// password escapes even when a driver prints the DSN it failed to parse.
//
// # DSNs
//
// Adapters call Register from their init function; Open picks the adapter
// by the DSN's scheme. Library options ride in the DSN as x- query
// parameters; SplitOptions strips them before the native driver sees the DSN.
package backend
