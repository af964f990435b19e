// Command record lists, shows, compares and plots recorded experiments,
// and moves them between stores, on every backend of the record library.
//
//	go install github.com/recordlab/go-record/cmd/record@latest
//
//	record [--dsn DSN] COMMAND [flags] [arguments]
//
// Flags and arguments may come in any order after the command; "--" ends
// the flags. Every command takes --help.
//
// # Store
//
// The store is --dsn (before or after the command), else $RECORD_DSN,
// else sqlite://records.db in the working directory: mem://, sqlite://,
// postgres://, postgresql://, mongodb:// and mongodb+srv:// DSNs all work
// (package backend/all). No message ever shows a DSN's password.
//
// The commands that only read (collections, ls, show, diff, compare,
// plot, export, and copy's --from) never create a store: they open it with
// record.OpenExisting, so a SQLite file that does not exist, or holds no
// store, is "no such store" (exit status 3) and no file is left behind. A
// PostgreSQL table or MongoDB database that does not exist just holds no
// collections. The commands that write (import, copy's --to, rm, drop)
// create a missing store.
//
// # Commands
//
//	record collections
//
// prints the collections of the store, one per line.
//
//	record ls COLLECTION [--where PATH OP VALUE]... [--sort [-]PATH | --best METRIC] [--limit N] [--columns PATH,...] [--json]
//	record ls COLLECTION --group-by PATH,... [--metric METRIC]... [--where C]... [--best METRIC] [--limit N]
//
// prints a table of the collection's records, oldest first: ID, CREATED
// (UTC), STATUS (a running record whose heartbeat stopped is "crashed"),
// DURATION, every top-level parameter (a scalar top-level field of your
// own, such as a flag), and for each metric NAME its last value
// (NAME.last, from metrics.NAME.last) and its best value (NAME.best, the
// minimum, metrics.NAME.min, or the maximum where the record's goal for
// the metric is max, see record.WithGoal). Cells are cut at 40
// characters and control characters become spaces; "-" is a missing
// value. --columns lr,opt,loss.min replaces the parameter and metric
// columns with the given paths; where a record has nothing at a path,
// the column reads the metric summary under metrics (loss.min is
// metrics.loss.min, and loss.last shows NaN or ±Inf for a run whose last
// point was one). --best METRIC sorts by a metric in the direction of its
// goal: ascending, or descending where a record of the collection has
// goals.METRIC = max; METRIC is a name (loss: its min, or its max when
// maximised), NAME.FIELD (loss.last) or a full path (metrics.loss.last).
//
// With --group-by, ls prints a row per group of records with equal
// values at the given paths (numbers by value, so int 1 and float 1.0 are
// one group; groups ordered by their values, records without a value
// last), computed by record.Store.Group: the values, RUNS (the group's
// size) and, for each --metric (loss.min for metrics.loss.min, loss for
// metrics.loss.last; repeatable or comma-separated), N (members with a
// finite value, with those holding NaN or ±Inf and those without the
// metric counted beside it: "4 (1 NaN/Inf, 1 missing)"), MEAN ± STD (the
// sample standard deviation), STDERR and BEST (the id of the best member
// by the metric's goal). --best orders the groups by the mean of a metric
// in its goal's direction; --limit keeps the first N groups.
//
//	record ls runs --group-by lr,batch --metric loss.min
//	lr     batch  RUNS  loss.min: N    MEAN ± STD          STDERR     BEST
//	0.001  32     5     4 (1 missing)  0.3125 ± 0.0883883  0.0441942  run-0-0
//
// --where keeps the records where every condition holds:
// learning_rate=0.01, metrics.loss.last<0.3, status!=failed; OP is one of
// = != < <= > >=, and VALUE is typed from its text (integer, decimal,
// true, false, null, a time, else a string; see record.ParseCondition). A
// time is RFC 3339 (2026-11-26T10:00:00Z, +01:00), a date and time without
// zone (2026-11-26T10:00:00, 2026-11-26 10:00), which is UTC, or a date
// (created>2026-11-26), which is midnight UTC; quote it to compare it as a
// string. A value of one kind (number, string, time, bool) never matches a
// stored value of another kind (except with !=); when --where selects
// nothing, ls, export and plot look at the values at each condition's
// path, and a condition whose path holds only values of other kinds (or,
// for < <= > >=, bools, which have no order) is a usage error naming the
// path and both kinds.
// --sort orders by the value at a path, descending with a leading '-':
// numbers first, then strings, then times; records without such a value
// there come last, and equal values in id order. --limit keeps the first
// N rows (after sorting). The store does the selecting, sorting and
// limiting (record.OrderBy, record.Limit), with an index where it has one.
// --json prints one record per line in the exact JSON form instead (see
// below).
//
//	record show COLLECTION ID [--path PATH]
//
// prints the record as indented JSON in the exact form, keys sorted,
// arrays of scalars on one line, as the Mongo shell prints the classic
// record; --path prints one subtree (models.model_0, metrics.loss).
//
//	record diff COLLECTION ID1 ID2
//
// prints the two records side by side: status, created, duration, the
// parameters, the host facts (host.*, nested keys dotted, gpus[0].name)
// and each metric's last and best value. Rows that differ start with '*';
// the last line counts them. The exit status does not depend on whether
// they differ.
//
//	record compare COLLECTION ID1 ID2 [ID...] [--host]
//
// prints the records side by side, a column each: status (crashed
// included), created, duration and error; the parameters that differ
// between them (fields of your own, nested objects dotted, such as
// config.optim.lr; arrays and the models object are data and left out;
// "-" where a record lacks one); and each metric's last, min and max
// value. The parameters they all share fold into one last line, "same:
// epochs=10, optimizer=adam". The host facts are left out unless --host
// is given; then those that differ get rows and the rest fold into "same
// host: ...".
//
//	record plot COLLECTION [ID...] -o FILE.png|FILE.svg|FILE.pdf|- [--series PATH]... [--where C]... [--limit N] [--title T] [--width PX] [--height PX]
//
// draws a line chart (gonum.org/v1/plot) with a title, axis labels and a
// legend. Without --series it draws each model's losses array
// (models.*.losses) against the epoch, one line per model, in the model's
// own color (models.NAME.color: [r, g, b] in 0..1 as matplotlib writes
// it, or 0..255, "#rrggbb", "tab:blue", "C1", "red") with its own label
// (models.NAME.label) — the classic visualize(). A record without models
// gets a line per metric series, read from the series store, against its
// steps. --series PATH draws instead an array of numbers at a path, where
// a '*' key matches every key of an object, or a metric's series by name
// (loss, or metrics.loss); a PATH that no record has is an error. Without
// IDs it plots the newest --limit (default 20) records matching every
// --where; several records are told apart by dash pattern and by their id
// in the legend. NaN values are gaps in the lines; infinities and values
// beyond ±1e300 are drawn on the edge of the axis, which is sized to the
// other values, and the legend counts them ("loss (2 clipped, 1 NaN)"),
// so any value plots in bounded time. Long series are thinned to the
// pixel columns keeping each column's first, last, lowest and highest
// point, so spikes survive. -o - writes PNG to stdout. The default size is 1000x600 pixels.
//
//	record plot COLLECTION ID... --metric NAME -o FILE
//	record plot COLLECTION --group-by PATH[,PATH...] --metric NAME [--where C]... -o FILE
//
// --metric NAME is --series for a logged metric: with several IDs their
// curves are overlaid. --group-by groups the records matching every
// --where by their values at the paths (record.Store.Group; runs that
// differ only by seed share a group) and draws per group the mean over its
// members at each step with a translucent band of ± one sample standard
// deviation, one color per group, labelled "lr=0.1 (n=5)"; NaN and
// infinite points are left out of the mean and counted in the legend
// ("(n=5, 3 NaN/Inf skipped)"). Series are streamed; over more than 4096
// steps each member is averaged over equal ranges of steps first.
//
//	record report COLLECTION -o FILE.md|FILE.html [--group-by PATH[,PATH...]] [--where C]... [--metric NAME]... [--no-curves]
//
// writes a reproducibility report (package report): the hyperparameters
// that vary across the runs with their values (or min .. max) and the
// constant ones, the runs, seeds and statuses of each configuration (the
// --group-by values, by default every varying param but seeds), mean ±
// std and stderr of each metric's last value and of its min (its max
// where the metric's goal is max) with the best run, each run's duration
// and the total, the machines (CPU, GPUs with memory, driver and CUDA
// versions, memory, OS), the git commit and dirty flag, the Go build, the
// dependency modules (folded), and the curves of each metric per
// configuration. A .md report links PNG files written beside it
// (FILE-METRIC.png); a .html report is one file with the curves inline.
// Every value is escaped, and the store's DSN is shown without password.
//
//	record serve [--addr 127.0.0.1:8080] [--public]
//
// serves a read-only web page of the store (package serve) until SIGINT or
// SIGTERM, and prints its address. Every view is a plain link, its state in
// query parameters, so it can be bookmarked or shared:
//
//	/                                         collections and their record counts
//	/c/COLL?cols=lr,metrics.loss.min          the runs table, with these columns
//	/c/COLL?sort=metrics.loss.min&desc=1      sorted by any column (click a header)
//	/c/COLL?where=lr<0.1&where=status=crashed filtered with the --where language
//	/c/COLL?after=ID  /c/COLL?sort=P&offset=N the next page (50 rows; limit=N up to 500)
//	/c/COLL?group=lr,batch&metric=metrics.loss.min   groups: N, mean ± std, best member
//	/c/COLL/ID                                one run: parameters, models, losses chart
//	/c/COLL/compare?ids=A,B&metric=loss&log=1&smooth=0.6&x=time   overlaid curves
//
// The runs table shows by default the status (crashed in red), created, the
// scalar parameters and each metric's last value, and reads only the page
// it shows (with an index on the sort path, see record index, only those
// records), so it stays fast on large collections. Tick runs and "compare
// selected" to overlay their curves, one color per run, drawn by package
// plot as SVG from series read in batches and thinned keeping spikes;
// log=1 draws log10 of the values, smooth=W an exponential moving average
// of weight W in [0, 1), x=time the seconds since each run's first point.
// Pages escape every value, need no script and load nothing from
// elsewhere. It listens only on a loopback address (127.0.0.1, ::1,
// localhost) unless --public allows another, since pages show everything
// the records hold; --addr with port 0 picks a free port.
//
//	record export COLLECTION [--where C]... > runs.jsonl
//	record export COLLECTION... --format parquet|csv -o DIR [--where C]... [--machine]
//
// writes one JSON line per record, oldest first:
//
//	{"id":"run-a","doc":{...},"series":{"loss":{"steps":[0,1],"times":[{"$time":"..."},...],"values":[0.9,{"$float":"NaN"}]}}}
//
// "doc" is the document and "series" the points of every metric series
// (absent when the record has none), both in the exact JSON form of
// package record (Snapshot.MarshalJSON): an int is digits and a float
// always has a '.' (10 vs 10.0), and what JSON cannot hold is a one-key
// object: {"$float":"NaN"}, {"$float":"+Inf"}, {"$float":"-0"},
// {"$time":"2026-11-25T10:00:00.000Z"}, {"$string":"<base64>"} for strings
// with NUL. Floats keep every bit. Keys are sorted, so exporting the same
// records gives the same bytes. Package record does the work of export,
// import and copy: Store.Export, Store.Import and Copy.
//
//	record import COLLECTION [--overwrite] < runs.jsonl
//
// stores each exported record under its id in COLLECTION (its
// "collection" field is set to COLLECTION), every value exactly, with its
// series. Importing again is safe: a record already stored with the same
// document is left alone, and its series are completed when an earlier
// import stopped half way. A record stored with another document or other
// series points is a conflict: it is left unchanged, the other records
// are imported, and the exit status is 4; --overwrite deletes and
// replaces such records.
//
//	record copy --to DSN [--from DSN] [--overwrite] [COLLECTION...]
//
// copies the named collections, or all, from --from (default: the store)
// to --to, with the same rules as import: exact values, idempotent, 4 on
// conflicts unless --overwrite.
//
//	record sync
//
// ships what runs on this machine left in the spool for the store: runs
// recorded offline (x-offline=true in the DSN), and the points and seals
// that a run could not write because the store was unreachable when it
// ended. Exactly once: running it twice, or after an interruption, stores
// nothing twice. Journals that a live program still writes are skipped.
//
//	record index COLLECTION PATH...
//
// creates, if missing, an index on the value at each dotted path (such as
// metrics.loss.min), so that ls --sort PATH --limit N and conditions on
// PATH read N records rather than the whole collection (the best 20 of
// 10,000 runs in milliseconds). Idempotent; the memory backend ignores it.
//
//	record rm COLLECTION ID...
//
// deletes records and their series.
//
//	record drop COLLECTION [--yes]
//
// deletes a whole collection, after asking on the terminal (y/N). Without
// a terminal on stdin it refuses (exit status 2) unless --yes is given.
//
// Export writes records only to stdout; copy and import write nothing on
// stdout. When stderr is a terminal, export, import and copy draw a
// progress bar there, and import and copy end with a summary line (-v
// prints the summary even without a terminal).
//
// # Exit status
//
//	0  success
//	1  error: the store failed or refused, bad input data, drop not confirmed
//	2  usage: unknown command or flag, missing or bad argument, bad --where
//	   (a condition comparing kinds that never match included), drop without
//	   a terminal and without --yes
//	3  not found: store (a reading command on a missing SQLite file), record,
//	   collection, --path, or --series that does not exist
//	4  conflict: import or copy found records stored with other content
//	130  interrupted by SIGINT (143: by SIGTERM)
//
// SIGINT or SIGTERM cancels the command's context: every command stops
// within a second, as soon as the store call in flight returns, or else
// the program exits without waiting for it (after 0.7 s, or at a second
// signal), and reports "interrupted by SIGINT". Stores stay consistent:
// SQLite's journal and the servers' transactions see to it.
//
// An unreachable server, a refused login or a full disk is exit status 1,
// with the driver's message (no password) on stderr.
//
// Every error is one line on stderr that starts with "record: " and names
// the command.
package main
