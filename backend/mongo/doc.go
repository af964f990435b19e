// Package mongo stores records in MongoDB with the official driver
// (go.mongodb.org/mongo-driver/v2). Importing it registers the DSN schemes
// mongodb and mongodb+srv with package backend:
//
//	import _ "github.com/recordlab/go-record/backend/mongo"
//
//	store, err := record.Open(ctx, "mongodb://localhost:27017/experiments")
//
// It also runs against FerretDB v1 (the MongoDB-wire server the tests use
// where no mongod exists), detected at Open from buildInfo; see "FerretDB"
// below for what differs there.
//
// # DSN
//
// Any MongoDB connection string the driver accepts: mongodb://[user:pw@]
// host[:port][,host...]/[database][?options] or mongodb+srv://. The path
// names the database, DefaultDatabase ("experiments") if empty. Driver
// options (authSource, replicaSet, tls, serverSelectionTimeoutMS,
// maxPoolSize, ...) pass through unchanged.
//
// Library options would ride as x- query parameters (constants named
// OptionXxx); this adapter has none, and any x- parameter is ErrInvalid
// naming it:
//
//	| parameter | meaning | default |
//	| --------- | ------- | ------- |
//	| (none)    | unknown x- parameters are ErrInvalid | |
//
// Open contacts the server (buildInfo), so it fails when the server does
// not answer before ctx ends or serverSelectionTimeoutMS (30 s) passes.
// The driver's own API stays at hand: record.Store.As gives the *Backend,
// whose Client and Database name the connection it uses.
//
// # Document layout
//
// One MongoDB collection per record collection, named as it ("Nov-25-2026").
// A record is one document: _id is an ObjectId when the record id is 24
// lower-case hex digits (as generated ids are), else the id string; the
// record's fields are the document's top-level fields. Values keep their
// natural BSON types: int64 is a 64-bit integer, float64 a double, a time a
// BSON date (milliseconds, UTC), a map a sub-document, a slice an array,
// nil null. Get and List return the id as the string it was given and
// leave _id out of the document. The top-level key _id is MongoDB's own: a
// record field of that name is ErrInvalid.
//
// Metric series (SeriesStore) live in a companion collection per record
// collection, "_series.<collection>" (record collections start with a
// letter or digit, so none is mistaken for it), one bucket document per
// AppendSeries batch:
//
//	{_id: ObjectId, record: <the record's _id>, name: "loss", seq: <int64>,
//	 steps: [int64...], values: [double...], times: [date...],
//	 lo: <smallest step>, hi: <greatest step>, sums: BinData}
//
// sums holds the bucket's summaries per 64 points (internal/rollup: count,
// NaNs, min, max, sum, first and last point): DownsampleSeries reads lo, hi
// and sums and fetches only the buckets with a block that straddles a
// bucket boundary; ReadSeriesRange finds only the buckets whose steps
// overlap the range. Buckets without them (older ones) are read whole.
//
// The buckets of ApplyBatch (below) have a string _id instead,
// "batch:" followed by the quoted record id, metric, writer, batch
// sequence and part, so that a retried batch hits a duplicate key.
// seq orders the buckets of a metric, of either kind (wall clock
// nanoseconds, strictly increasing within a process; a retried batch
// keeps the seq of its first insert); an index on {record, name, seq} serves
// ReadSeries, which yields the points bucket by bucket from the cursor (a
// bucket of more than 4096 points in several batches), so reading a long
// series holds one driver batch in memory. Appending costs one insert per
// batch however long the series is, and the record document never grows
// with its series. Delete removes a record's buckets, Drop the companion
// collection.
//
// # List
//
// List streams from server cursors and closes them when the caller stops.
// Conditions go to the server where MongoDB evaluates them exactly as
// backend.Match does: =, <, <=, >, >= on strings, times and numbers
// (except NaN, and numbers near int64 values beyond 2^53 that Match
// compares as float64), = on bools and null. Each comes with guards that
// no value along its path is an array, so that MongoDB does not match
// inside arrays. Other conditions (!=, numbers it would compare
// differently) are left to package record, and then Query.Limit is not
// sent. Query.Fields becomes a projection of those paths.
//
// MongoDB sorts values of different BSON types in its own order
// (numbers, strings, objects, arrays, ..., ObjectIds, bools, dates), and
// _id strings before ObjectIds; backend.Less orders numbers, strings,
// times, then the rest, and ids by their string form. So List asks for
// each rank with a query that holds values of its types only, sorted by
// the server ({<path>: 1, _id: 1}, the index that Index creates), once for
// string _ids and once for ObjectIds, and merges the streams; it reads a
// rank only when the caller gets there. Values whose rank the BSON type
// does not tell (FerretDB's tagged floats, types that package record
// never writes) are read first with one more query and merged into their
// rank. Without OrderBy, the two _id types are merged the same way, and
// Query.After becomes a bound on each.
//
// Values of types that package record never writes (written by other
// programs: ObjectId, Decimal128, timestamps, binaries, regular
// expressions) are read as their nearest value (see Get); conditions on
// them compare BSON values on the server and may leave them out.
//
// # Mongo shell
//
// What this package writes reads as ordinary documents:
//
//	use experiments
//	show collections                          // Nov-25-2026, _series.Nov-25-2026
//	db['Nov-25-2026'].find({}).pretty()
//	db['Nov-25-2026'].find({_id: ObjectId('6b07a0c1702b2363df7f83f1')})
//	db['Nov-25-2026'].find({}, {'models': 1})  // models.*.losses, color, label
//	db['Nov-25-2026'].find({'params.lr': {$lt: 0.1}}).sort({_id: -1})
//	db['_series.Nov-25-2026'].find({record: ObjectId('6b07...'), name: 'loss'}).sort({seq: 1})
//	db['Nov-29-2026'].drop(); db['_series.Nov-29-2026'].drop()
//
// In Python (pymongo), the classic loop works unchanged:
//
//	rec = db['Nov-25-2026'].find_one({'_id': ObjectId(rid)})
//	for m in rec['models'].values(): plt.plot(m['losses'], color=m['color'], label=m['label'])
//
// # Merge
//
// A Merge is one updateOne command: $set for Set (creating missing
// parents), $push with $each for Append, $unset for Unset. Its filter
// holds the _id and, for every parent on an op's path, the condition that
// the parent is missing or an object; so a path through a scalar or an
// array (including numeric keys such as "a.0", which MongoDB would take as
// array indexes) changes nothing. When the update matches nothing, Merge
// reads the document to tell ErrNotFound from ErrInvalid. On MongoDB a
// successful Merge is one round trip, atomic, and concurrent Merges from
// any number of goroutines or processes lose nothing.
//
// # ApplyBatch
//
// Backend implements backend.BatchStore without transactions (FerretDB
// has none; MongoDB's need a replica set). ApplyBatch reads the record,
// calls the batch's Update, checks its ops against the document in memory
// (ErrInvalid, ErrTooLarge before anything is written), inserts the points
// as buckets with the deterministic _ids above (a duplicate key counts as
// stored), then applies the ops with one updateOne whose filter holds the
// value read at the batch's Guard path ({$exists: false} when it was
// absent) beside Merge's path guards: a compare and swap. When nothing
// matches, another writer changed the record in between: ApplyBatch reads
// it again and calls Update again (which says !apply if that writer
// applied this very batch), until the swap succeeds or its context ends.
// A crash between the insert and the update leaves points without their
// document change, which the retry or Resume completes, never a change
// without its points. SeriesNames groups the record's buckets by name
// with an aggregation (the distinct command fails on FerretDB v1 when the
// call has a deadline).
//
// # Size limit
//
// A record is at most MaxDocBytes (16 MiB) of BSON. An Insert over it is
// ErrTooLarge before anything is sent. A Merge whose result would exceed it
// is ErrTooLarge and changes nothing: on MongoDB the server refuses it
// atomically (codes 17419, 10334) and values over 16 MiB are refused
// before sending; on FerretDB, which accepts larger documents, Merge reads
// the document and computes the exact size of the result first (see
// below).
//
// # Errors
//
// Errors wrap a sentinel of package backend beside the driver's error, so
// errors.Is answers the class and errors.As reaches mongo.WriteException,
// mongo.CommandError or mongo.ServerError:
//
//   - ErrNotFound: Get, Merge or Delete of an absent record (wraps
//     mongo.ErrNoDocuments where the driver returned it).
//   - ErrExists: Insert of a taken id (duplicate key, code 11000).
//   - ErrInvalid: a Merge that conflicts with the document (server codes 2
//     BadValue, 9, 14 TypeMismatch, 28 PathNotViable, 40, or a failed
//     path guard), a top-level _id key, a collection name MongoDB refuses
//     (code 73 InvalidNamespace, e.g. system.*), a bad DSN or an unknown
//     x- option.
//   - ErrTooLarge: see Size limit.
//   - ErrClosed: the driver's client is disconnected.
//
// Context errors pass through unchanged. Package record adds the
// operation, collection and id to every error and removes secrets from
// its text; Open's errors, which package backend returns too, show no
// password of the DSN (internal/redact), and still reach the driver's
// error with errors.As.
//
// # FerretDB
//
// FerretDB v1 (with its SQLite or PostgreSQL handler) speaks the MongoDB
// wire protocol with limits this package works around when buildInfo
// names FerretDB:
//
//   - It refuses NaN (it drops the connection), +Inf and -Inf, loses the
//     sign of -0, and refuses arrays nested directly in arrays. These are
//     stored in tagged forms no user value takes, BSON binaries of
//     user-defined subtypes: 0x80 holds the 8 big-endian bytes of a float64
//     (NaN, ±Inf, -0, in documents and in series values), 0x81 holds the
//     BSON document {a: [...]} of an inner array. Every other value keeps
//     its natural type. On MongoDB nothing is tagged (NaN is a double NaN);
//     reading accepts both forms on either server.
//   - It accepts documents over 16 MiB, so Merge first reads the document,
//     applies the ops in memory to classify conflicts and measure the
//     result exactly, then sends the guarded update: two round trips, and
//     the size check is not atomic with the update.
//   - It loses updates when many writers update one document at once (50
//     concurrent $inc ended at 1 to 8). Concurrent Merges of one record
//     from several goroutines or processes are not safe there; the tests
//     declare backendtest.ConcurrentMerge unsupported on FerretDB only.
//   - The compare and swap of ApplyBatch is not atomic there either (an
//     update's filter and its write are separate steps): ApplyBatch calls
//     on one record are serialised within a Backend, but ApplyBatch calls
//     on one record from several processes may lose document changes
//     (never points) on FerretDB.
//   - $push with an empty $each does not create a missing array; Merge
//     uses $set to an empty array instead.
//   - It uses no index for filters or sorts, so every List query reads
//     the whole collection, and List with OrderBy makes several queries
//     (see List): slower there than one query sorted in memory would be.
//     Index creates the index all the same.
//   - It cannot hold every key: it builds SQL JSON paths and documents
//     from keys without escaping them ('"' and '\' fail with "malformed
//     JSON", control characters are stored but then fail every read of
//     the collection), refuses keys with leading or trailing white space
//     in update paths and filters, and takes a key ending in '$' in a
//     projection for the positional operator. Such keys are stored
//     escaped (see Keys on FerretDB below).
//
// Every other guarantee (exact round-trips, atomic all-or-nothing Merges
// against one writer, ErrTooLarge before writing, series order and
// deletion) holds on FerretDB as on MongoDB.
//
// # Keys on FerretDB
//
// Every key of the record value model (non-empty UTF-8 without '.', NUL
// or a leading '$') round-trips on both servers. MongoDB holds all of
// them natively, and there keys are stored as they are. On FerretDB a key
// holding a rune it cannot hold is stored escaped: each such rune becomes
// ␛ (U+241B SYMBOL FOR ESCAPE) and its code point in four upper-case hex
// digits. The runes escaped are control characters (U+0001-U+001F), '"',
// '\', white space (unicode.IsSpace) at the start or end of the key, '$'
// at its end, and ␛ itself, so that the encoding is one-to-one and reads
// back exactly:
//
//	record key    stored on FerretDB
//	a"b           a␛0022b
//	both\"        both␛005C␛0022
//	" " (space)   ␛0020
//	tab<TAB>key   tab␛0009key
//	word$         word␛0024
//	a␛b           a␛241Bb
//
// Every other key is stored and read as it is, and a stored key without
// ␛ decodes to itself, so data written before this encoding reads the
// same. (Keys with '"', '\' or control characters never read back
// before. An older key with white space or '$' at an end reads as it
// is, but a Merge at it now writes the escaped form beside it.) The
// encoding applies wherever a key
// reaches the server: documents at every depth, Merge paths ($set, $push,
// $unset and their guards), List conditions, orders and projections
// (Fields, Omit) and Index; reading decodes it. In the mongo shell, query
// such a field by its stored form: db.c.find({'a␛0022b': 1}). A ␛ not
// followed by four upper-case hex digits (written by another program)
// reads as it is. Documents inside the tagged arrays above are opaque to
// the server and keep their keys unencoded.
package mongo
