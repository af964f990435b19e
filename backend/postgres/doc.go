// Package postgres stores records in PostgreSQL as JSONB, on pgx v5.
//
// Importing the package registers it for the postgres:// and
// postgresql:// schemes of backend.Open and record.Open:
//
//	import _ "github.com/recordlab/go-record/backend/postgres"
//
//	store, err := record.Open(ctx, "postgres://me:pw@db.example.com:5432/experiments?sslmode=require")
//
// # DSN and options
//
// The DSN is a pgx connection string (URL form), so every libpq and pgxpool
// parameter works: sslmode, connect_timeout, application_name,
// pool_max_conns, and PGPASSWORD, PGHOST... from the environment. Library
// options ride as x- query parameters and are stripped before pgx sees the
// DSN; an unknown x- parameter is an error. The constants OptionTable and
// OptionSchema name them.
//
//	parameter   meaning                                              default
//	x-table     name of the records table; the series table is       records
//	            named after it with "_series" ([A-Za-z_][A-Za-z0-9_]
//	            {0,55})
//	x-schema    schema of the tables, created if missing              the connection's current schema
//	            ([A-Za-z_][A-Za-z0-9_]{0,62})                         (normally public)
//
// The tables, the merge function and a table of schema versions are
// created on Open, and migrated when a newer version of this package opens
// an older table. Open takes a transaction-level advisory lock while it
// migrates, so many processes may open a fresh database at once (a sweep
// that starts 100 jobs together). The user of the DSN needs the right to
// create tables and functions in the schema the first time.
//
// # Table layout
//
//	create table records (
//	    collection text collate "C" not null,
//	    id         text collate "C" not null,
//	    doc        jsonb compression lz4 not null,  -- lz4 where the server has it
//	    created_at timestamptz not null default now(),
//	    updated_at timestamptz not null default now(),
//	    primary key (collection, id)
//	) with (toast_tuple_target = 8160);
//
//	create table records_series (        -- metric points, one row per chunk of up to 1000
//	    collection text collate "C" not null,
//	    id         text collate "C" not null,
//	    name       text collate "C" not null,  -- metric name
//	    seq        bigint generated always as identity,  -- append order
//	    steps      bigint[] not null,
//	    vals       float8[] not null,
//	    times      timestamptz[] not null,
//	    lo         bigint,   -- smallest step of the chunk (null: written before version 2)
//	    hi         bigint,   -- greatest step
//	    sums       bytea,    -- per 64 points: count, NaNs, min, max, sum, first, last
//	    primary key (collection, id, name, seq)
//	);
//
//	record_migrations (table_name, version, migrated_at)  -- schema versions
//	record_merge_v1(doc jsonb, ops jsonb)                  -- the merge function
//
// A record is one row; doc is natural JSONB: numbers are JSON numbers,
// objects are objects, arrays are arrays. Only values JSON cannot hold use a
// one-key tagged object: NaN, +Inf, -Inf and -0 as {"$float": "NaN"},
// times as {"$time": "2026-11-25T10:00:00.000Z"} (UTC, milliseconds),
// strings holding NUL as {"$string": "<base64>"}. Floats are written with a
// decimal point and never an exponent (10.0, 1000000000000000000000.0):
// PostgreSQL's numeric keeps the text 10.0 apart from 10, so ints come back
// as int64 and floats as float64, bit for bit.
//
// Metric points (Record.Log) live in the series table, in chunks: a batch
// of 1000 points is one row with three arrays, so a million points cost a
// few hundred index entries, not a million, and appending stays as fast at
// the millionth point as at the first. The record's document keeps a small
// summary per metric under metrics.<name>. Delete and Drop remove the
// points with their records. Each row also keeps its step range (lo, hi)
// and its block summaries (sums, internal/rollup), written with it:
// DownsampleSeries folds the summaries and fetches only the array slices
// of the blocks that straddle a bucket boundary; ReadSeriesRange reads only
// the rows whose steps overlap the range. Rows written before version 2
// (sums null) are read whole.
//
// Merge is one UPDATE statement that calls record_merge_v1, a PL/pgSQL
// function that applies the ops to the row's document under its row lock:
// Set creates missing parent objects (jsonb_set alone only creates the last
// path element), Append concatenates arrays, Unset uses #-. Concurrent
// merges from any number of goroutines and processes serialise on the row
// and lose nothing.
//
// ApplyBatch (backend.BatchStore) is one transaction in two round trips:
// BEGIN with a SELECT ... FOR UPDATE of the paths the batch reads, then,
// if its Update applies, the series rows, the merge UPDATE and COMMIT,
// pipelined. Points and summary are committed together or not at all, and
// concurrent batches of one record, from any process, wait for each other
// on the row lock.
//
// # Querying with SQL
//
// These queries work as written (collection and values as parameters):
//
//	-- one hyperparameter of the runs that logged a loss
//	select doc->>'learning_rate' from records
//	where collection = $1 and (doc->'metrics'->'loss') is not null;
//
//	-- numbers cast to SQL types; nested objects by path
//	select id, (doc->'metrics'->'loss'->>'last')::float8 as loss
//	from records
//	where collection = $1 and (doc->'params'->>'lr')::float8 < 0.01
//	order by loss limit 20;
//
//	-- containment, served by the GIN index below
//	select id from records where doc @> '{"params": {"optimizer": "adam"}}';
//
//	-- runs per day collection, newest first
//	select collection, count(*), max(created_at) from records
//	group by collection order by max(created_at) desc;
//
//	-- every point of one metric, in order
//	select p.step, p.value, p.time
//	from records_series s, unnest(s.steps, s.vals, s.times) as p(step, value, time)
//	where s.collection = $1 and s.id = $2 and s.name = 'loss'
//	order by s.seq;
//
// Indexes: Store.Index (this package's Index) creates the expression
// index that List uses for OrderBy on a path with a Limit, and for number
// conditions on that path. It indexes
// (collection, rank, value as float8, exact value, id) of the value at the
// path, where rank puts numbers before strings, times and the rest, in the
// order of package backend (see backend.Less), so that the smallest or
// greatest N records cost N index entries, not a scan and a sort:
//
//	create index record_ix_<hash of table and path> on records (collection,
//	    (case jsonb_typeof(doc->'metrics'::text->'loss'::text->'min'::text) ...), ...);
//
// It is named record_ix_ followed by a hash of the table and the path,
// created under the migrations' advisory lock (CREATE INDEX, not
// CONCURRENTLY: writes to the table wait while it builds), and idempotent.
// Each such index is one more entry written by every Merge. For
// containment queries over any key of your own, a GIN index serves:
//
//	create index records_doc_gin on records using gin (doc jsonb_path_ops);
//
// # Errors
//
// Errors wrap the sentinels of package backend beside pgx's own error, so
// errors.Is answers the class and errors.As reaches *pgconn.PgError:
//
//   - ErrExists: Insert of a taken (collection, id) (SQLSTATE 23505).
//   - ErrNotFound: Get, Merge or Delete of a missing record.
//   - ErrInvalid: a Merge op that runs through a scalar, an array or a
//     tagged value, or an Append to a non-array (the merge function raises
//     SQLSTATE RC001; the document is unchanged); a bad DSN or x- option.
//   - ErrTooLarge: the server refuses the size (SQLSTATE 54000; a jsonb
//     value holds up to 255 MB, so 20 MB documents round-trip).
//   - ErrUnavailable: the server cannot be reached (connection refused, a
//     dial or connect_timeout that gave up while the caller's context was
//     still live) or the connection broke (SQLSTATE class 08 or 57P, EOF,
//     a network error): "postgres: store unavailable: <pgx's error>".
//
// Errors of the caller's context pass through unchanged. Errors name neither the operation
// nor the record (package record adds both), and no error of Open shows
// the DSN's password (internal/redact scrubs it). Package record makes no
// call after Close.
//
// # Special considerations
//
//   - Collection, id, keys and values are bound parameters, never SQL
//     text, with two exceptions, both validated or quoted: x-table and
//     x-schema, and the keys of the paths of List's conditions and order
//     (and of Index), which are written as quoted constants so that the
//     expressions match those of the index (PostgreSQL uses an expression
//     index only for an identical expression). Keys such as
//     `'); drop table records; --` or `a"b` are stored as themselves.
//   - Connection loss: when the server restarts, reads (Get, Collections,
//     Ping, and a List or ReadSeries query before its first row) retry
//     once on a fresh connection, and so does ApplyBatch when its locking
//     read finds the connection broken; writes are not retried, since the
//     server may have applied them, and fail with an error saying the
//     connection was lost (ApplyBatch's Update makes a retry harmless). pgx dials anew on the next call. What a call acknowledged
//     is committed.
//   - List streams: it holds one connection of the pool while the caller
//     ranges over it, and gives it back when the caller stops (a pool of
//     one connection must not be used inside the loop). Conditions whose
//     value is a number, string, bool, null or time are evaluated by the
//     server exactly as backend.Match does (numbers as float64 compared
//     exactly, ints beyond 2^53 as numeric); when every condition is, the
//     Limit is the query's LIMIT. OrderBy runs one query per group of ranks
//     (numbers, strings and times, the rest), each only while the caller
//     wants more. With Fields, only those paths leave the server.
//   - Times are stored to the millisecond in UTC, in one layout whose text
//     sorts chronologically. Values written by hand with SQL in another
//     form than this package writes (a $time tag in another layout, a
//     float with more digits than its float64 needs) may compare and
//     order differently from package backend. Ids and collections sort
//     byte-wise (collate "C").
//   - The series table is append-only; its seq orders the chunks in
//     append order. ReadSeries reads 256 rows per query and yields batches
//     of up to 4000 points, so a series of any length needs the memory of
//     one batch.
package postgres
