// Package sqlite is the SQLite adapter of record: the embedded default
// store, pure Go (modernc.org/sqlite, no cgo). Importing it registers the
// sqlite:// scheme with package backend.
//
// # DSN and options
//
//	sqlite://runs.db              runs.db relative to the working directory
//	sqlite://data/runs.db         data/runs.db relative to the working directory
//	sqlite:///abs/dir/runs.db     an absolute path
//	sqlite:///abs/runs.db?x-table=exp&_pragma=cache_size(-65536)
//
// The file and its tables are created if missing, unless x-create=false
// (what record.OpenExisting and the CLI's reading commands use): then a
// missing file, or one without the tables, is "no such store" (ErrNotFound)
// and nothing is created. Library options are x- query parameters:
//
//	| parameter | meaning                                                 | default   |
//	| --------- | ------------------------------------------------------- | --------- |
//	| x-table   | documents table; also names <x-table>_series,           | records   |
//	|           | _points, _blocks and _meta. An SQL identifier           |           |
//	|           | [A-Za-z_][A-Za-z0-9_]{0,62}, not starting with sqlite_, |           |
//	|           | not ending with _series, _points, _meta, _blocks or     |           |
//	|           | _blocks_span                                            |           |
//	| x-create  | false: never create the file or a table                 | true      |
//
// An unknown x- parameter is ErrInvalid. Other query parameters go to
// modernc.org/sqlite unchanged (for example _pragma=cache_size(-65536)),
// except _txlock, _query_only, _journal_mode and mode, which the adapter
// sets itself and refuses. The adapter sets journal_mode WAL (persistent in
// the file), busy_timeout 5000 ms and synchronous NORMAL on every
// connection.
//
// # Storage layout
//
// One file, five tables (names shown for the default x-table=records):
//
//	records         (collection TEXT, id TEXT, doc BLOB, created_at INTEGER, updated_at INTEGER,
//	                 PRIMARY KEY (collection, id))
//	records_series  (sid INTEGER PRIMARY KEY, collection TEXT, id TEXT, name TEXT, n INTEGER,
//	                 UNIQUE (collection, id, name))        one row per metric of a record
//	records_points  (sid INTEGER, seq INTEGER, step INTEGER, value INTEGER, time INTEGER,
//	                 PRIMARY KEY (sid, seq)) WITHOUT ROWID  one row per metric point
//	records_blocks  (sid INTEGER, grp INTEGER, n INTEGER, lo INTEGER, hi INTEGER, sums BLOB,
//	                 UNIQUE (sid, grp))                      one row per 1024 points of a series
//	records_meta    (key TEXT PRIMARY KEY, value)           schema_version = 3
//
// A row of records_blocks summarizes the points of one series whose seq
// lies in grp*1024 .. grp*1024+1023: their count n, smallest and greatest
// step lo and hi, and per block of 64 points (internal/rollup) the count,
// NaNs, min, max, sum, first and last point, written in the same
// transaction as the points. DownsampleSeries folds these summaries and
// reads only the points of the blocks that straddle a bucket boundary;
// ReadSeriesRange reads only the groups whose steps overlap the range. A
// trigger deletes a series' rows with the series. Opening a version 1
// file adds the table and fills it from the stored points; opening a
// version 1 or 2 file (documents as JSON text) converts every document to
// JSONB, in the same transaction.
//
// JSONB is why listing is fast: the adapter reads the blob and decodes it,
// or only the fields a List asks for, in Go (internal/docjson), skipping
// whole subtrees such as the host facts by their stored size, where JSON
// text would be parsed by SQLite for every json_extract and again in Go.
// Grouping 100,000 records by two parameters took 2.06 s with JSON text and
// takes 0.72 s (BenchmarkGroupRaw in package record).
//
// doc is SQLite's binary JSONB (https://sqlite.org/jsonb.html) of the JSON
// text internal/docjson writes: json(doc) shows that text, and
// json_extract(doc, ...), doc -> ... and doc ->> ... read it as they read
// text. Numbers are JSON numbers (floats always with a '.', kept as their
// text inside JSONB, so every float64 parses back to its bits), objects
// are objects; NaN, ±Inf, -0, times and
// strings holding NUL are one-key tagged objects ({"$float": "NaN"},
// {"$time": "2026-11-25T10:00:00.000Z"}, {"$string": base64}). created_at
// and updated_at are Unix milliseconds. A point's value is the IEEE 754 bit
// pattern of the float64 as a signed INTEGER (SQLite would turn a NaN REAL
// into NULL), its time Unix milliseconds, and seq its position in append
// order. The points table is clustered by (sid, seq), so it needs no
// other index; ReadSeries reads a series back in batches of 4096 points,
// each one range scan that resumes after the last seq read, so memory
// holds one batch however long the series and no read transaction stays
// open between batches.
//
// Index (record.Store.Index) adds, once per table and path, an expression
// index records_ix_<hash of the path> on (collection, sort key of the
// path, id), shared by every collection of the table. The sort key maps
// each value to one SQLite value whose order is the order of
// backend.CompareAt: plain numbers (compared exactly, int64 with float64
// included), the tagged ±Inf and -0, strings, then times (as BLOBs of
// their text); other values (missing, null, bools, NaN, arrays and
// objects) are NULL.
//
// The schema is versioned in <table>_meta; Open creates or migrates it
// inside BEGIN IMMEDIATE, so many processes may open a fresh file at once.
//
// # SQL you can run with the sqlite3 shell
//
//	sqlite3 records.db "select id, json_extract(doc, '$.learning_rate') from records where collection = 'Nov-25-2026'"
//	sqlite3 records.db "select json(doc) from records where collection = 'Nov-25-2026' and id = '...'"
//	sqlite3 records.db "select collection, count(*) from records group by collection"
//	sqlite3 records.db "select s.name, s.n from records_series s where s.collection = 'Nov-25-2026' and s.id = '...'"
//	sqlite3 records.db "select p.step, p.value, p.time from records_points p join records_series s using (sid)
//	                    where s.collection = 'Nov-25-2026' and s.id = '...' and s.name = 'loss' order by p.seq"
//
// Point values are bit patterns; decode them in Go with math.Float64frombits
// (uint64(v)), or read them with ReadSeries.
//
// # Errors
//
// Errors start with "sqlite:" and wrap the backend sentinels beside the
// driver's own error (*sqlite.Error from modernc.org/sqlite, reachable
// with errors.As): ErrExists for a taken (collection, id), ErrNotFound for
// a missing record, ErrInvalid for a Merge op that conflicts with the
// document and for a bad DSN, ErrTooLarge for a value over
// SQLITE_MAX_LENGTH, ErrFull for a full disk: SQLITE_FULL (any extended
// code), or an I/O error while the file system holding the database has
// under 1 MiB left for this user (SQLite reports ENOSPC as an I/O error
// where it extends the -shm file, and the driver does not pass errno on;
// the check is on Linux and macOS). A failed write is rolled back whole.
// After ErrFull, the next write first checkpoints and truncates the
// write-ahead log, so its space returns to the file system as soon as
// there is room for the checkpoint; writes then succeed again through the
// same Backend, without reopening. Context errors are returned unchanged.
// Errors name no collection, record or DSN: package record adds what the
// call was about, and Open scrubs any key the DSN carries
// (internal/redact). As the backend contract says, a Backend gets no call
// after Close.
//
// # Special considerations
//
//   - Writes go through one connection per Backend, each in a BEGIN
//     IMMEDIATE transaction; reads use a separate read-only pool, without
//     a bound on open connections since listings stream, and never wait
//     for writers (WAL). Processes sharing the file queue on SQLite's
//     write lock: busy_timeout, then retries with backoff for as long as the
//     context lives, so "database is locked" never reaches the caller.
//   - Merge is one UPDATE statement that edits the stored JSON with
//     json_set, json_insert and json_remove, values bound as exact JSON
//     text, and checks in its WHERE clause that no path runs through a
//     scalar, an array or a tagged value; when it changes nothing (a
//     missing record or a conflict) or would be too large, the ops are
//     applied in Go (internal/docops) under the write lock, which names
//     the conflicting path and writes nothing.
//   - ApplyBatch (backend.BatchStore) is one transaction: it reads the
//     document, calls the batch's Update, applies the ops in Go and writes
//     the document back, and appends the points as AppendSeries does, so
//     concurrent batches on one record, from any process, each see the
//     document the previous left.
//   - Documents up to SQLite's default SQLITE_MAX_LENGTH (1e9 bytes) are
//     stored; 20 MB documents round-trip.
//   - List streams rows from SQLite and releases the cursor when the
//     caller stops. It pushes conditions down as SQL: on numbers, on
//     bools and null, and string equality exactly as backend.Match
//     decides (SQLite reads each float docjson writes to the same bits),
//     string orders and times as a superset; != and keys with '"', '\' or
//     control characters are left to package record. Only when every
//     condition is exact does the LIMIT reach SQL.
//   - List orders by id, or by the sort key of Query.OrderBy (see Index):
//     with an index, by index range scans that read only the records
//     returned (and, for a field at the ordered path, the value from the
//     index, not the document); without one, by one sorted scan. The few
//     values the sort key cannot order (strings holding NUL, times outside
//     years 0 to 9999) are ordered in Go and merged in, and a path with a
//     key that a JSON path cannot name is ordered in Go (backend.SortItems).
//   - With Query.Fields, List selects only those values (doc -> path),
//     decoded as docjson decodes the whole document.
//   - WAL mode needs a local file system: not NFS or other network shares.
package sqlite
