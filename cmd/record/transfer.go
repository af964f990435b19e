package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/tabular"
)

var exportCmd = &command{
	name:    "export",
	args:    "COLLECTION...",
	summary: "write records with their series as JSON lines to stdout, or as runs and points tables (Parquet, CSV) to -o DIR",
	help: `
With no --format (or --format jsonl), each line is one record of the one
COLLECTION, oldest first, in the exact JSON form of "record show" (floats
always with a '.', {"$float": "NaN"}, {"$time": "..."}), so every value
comes back bit for bit:

  {"id": ID, "doc": DOCUMENT, "series": {NAME: {"steps": [...], "times": [...], "values": [...]}}}

"series" holds the points of every metric series of the record (absent
when there is none). "record import" reads these lines back; exporting
again gives the same bytes.

With --format parquet or --format csv and -o DIR, the records of every
COLLECTION become two long tables for pandas, polars, DuckDB or Spark:
DIR/runs.parquet and DIR/points.parquet (or runs.csv and points.csv),
written under temporary names and renamed when complete. runs has a row
per record: collection, id, status (crashed included), created, ended,
duration, parent, error, every parameter flattened to dotted paths
(lr, models.model_0.label; the host facts only with --machine), goals,
and each metric's summary (metrics.NAME.count, .last, .min, .max, .mean,
...). points has a row per point: collection, id, metric, step, value,
time. Parquet keeps every value exactly (NaN, ±Inf, -0); CSV writes NaN,
inf and -inf as pandas reads them. A column whose values mix types holds
their JSON text. See package tabular for the details.`,
	run: runExport,
}

func runExport(e *env, args []string) error {
	var dsn, format, out string
	var where strs
	var machine bool
	fs := e.flags(&dsn)
	fs.Var(&where, "where", "export only records where `PATH OP VALUE` holds (repeatable)")
	fs.StringVar(&format, "format", "jsonl", "`FORMAT`: jsonl (JSON lines to stdout), parquet or csv (tables in -o DIR)")
	fs.StringVar(&out, "o", "", "write the tables to `DIR` (--format parquet and csv)")
	fs.BoolVar(&machine, "machine", false, "add the host facts (host, build, run) to the runs table")
	colls, err := e.parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	for _, c := range colls {
		if err := checkColl(c); err != nil {
			return err
		}
	}
	opts, err := conds(where)
	if err != nil {
		return err
	}
	switch format {
	case "jsonl":
		if out != "" || machine {
			return usageErrorf("-o and --machine apply to --format parquet and csv; JSON lines go to stdout")
		}
		if len(colls) > 1 {
			return usageErrorf("--format jsonl exports one collection (usage: record export COLLECTION > FILE)")
		}
		return exportLines(e, dsn, colls[0], where, opts)
	case "parquet", "csv":
		if out == "" {
			return usageErrorf("--format %s writes two files: name their directory with -o DIR", format)
		}
		return exportTables(e, dsn, colls, where, opts, tabular.Options{Format: tabular.Format(format), Machine: machine}, out)
	}
	return usageErrorf("bad --format %q: want jsonl, parquet or csv", format)
}

// exportLines writes the records of coll as JSON lines to stdout.
func exportLines(e *env, dsn, coll string, where []string, opts []record.ListOption) error {
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	bar, err := e.countedProgress("export "+coll, s, coll, opts)
	if err != nil {
		return err
	}
	defer bar.done()
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	n, err := s.Export(e.ctx, coll, lineCounter{w, bar}, opts...)
	if err != nil {
		return err
	}
	if n == 0 && len(where) == 0 {
		return e.notFound(coll, dsn)
	}
	if n == 0 {
		if err := e.checkWhere(s, coll, where); err != nil {
			return err
		}
	}
	return w.Flush()
}

// exportTables writes the runs and points tables of colls to dir. A
// collection without records is "not found" (unless --where selected
// none of its records), and then nothing is written.
func exportTables(e *env, dsn string, colls, where []string, opts []record.ListOption, o tabular.Options, dir string) error {
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	bar := e.progress("export", 0)
	for _, coll := range colls {
		// Count the records for the bar; else only see whether there is one.
		var n int
		if bar.on {
			n, err = e.count(s, coll, opts)
		} else {
			n, err = e.count(s, coll, append(slices.Clip(opts), record.Limit(1)))
		}
		if err != nil {
			return err
		}
		if n == 0 && len(where) == 0 {
			return e.notFound(coll, dsn)
		}
		if n == 0 {
			if err := e.checkWhere(s, coll, where); err != nil {
				return err
			}
		}
		bar.total += n
	}
	o.List = opts
	o.Progress = func(r tabular.Report) { bar.set(int(r.Runs)) }
	_, err = tabular.Export(e.ctx, s, dir, colls, o)
	bar.done()
	return err
}

// lineCounter advances a progress bar by the lines written through it:
// export writes one line per record.
type lineCounter struct {
	w   io.Writer
	bar *bar
}

func (c lineCounter) Write(p []byte) (int, error) {
	c.bar.add(bytes.Count(p, []byte{'\n'}))
	return c.w.Write(p)
}

var importCmd = &command{
	name:    "import",
	args:    "COLLECTION",
	summary: `read JSON lines written by "record export" from stdin into a collection`,
	help: `
Each record is stored with its id, every value exactly as exported (the
document's "collection" field is set to COLLECTION), and its series.
Importing again is safe: a record already stored with the same document
is left alone (its series are completed if an earlier run stopped half
way). A record stored with another document, or other series points, is a
conflict: nothing of it is changed, the others are imported, and the exit
status is 4; --overwrite replaces such records instead.`,
	run: runImport,
}

func runImport(e *env, args []string) error {
	var dsn string
	var overwrite, verbose bool
	fs := e.flags(&dsn)
	fs.BoolVar(&overwrite, "overwrite", false, "replace records that exist with other content")
	fs.BoolVar(&verbose, "v", false, "print a summary on stderr even when it is not a terminal")
	pos, err := e.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	coll := pos[0]
	if err := checkColl(coll); err != nil {
		return err
	}
	s, err := e.open(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	bar := e.progress("import "+coll, 0)
	rep, err := s.Import(e.ctx, coll, e.stdin, transferOptions(bar, overwrite)...)
	bar.done()
	if err := conflictsOnly(err); err != nil {
		return err
	}
	return e.finish("imported", rep, verbose)
}

var copyCmd = &command{
	name:    "copy",
	args:    "[COLLECTION...]",
	summary: "copy collections with their series from one store to another",
	help: `
Copies the named collections (all of them when none is named) from --from
(default: --dsn, $RECORD_DSN, else ` + record.DefaultDSN + `) to --to, for
example from the laptop's SQLite file to the team's PostgreSQL or MongoDB.
Every value is kept exactly: ids, ints and floats (NaN, ±Inf, -0), times,
and every series point. Copying again is safe, as with "record import": a
record present with the same document is skipped (its series completed if
an earlier copy stopped half way), a record present with other content is
a conflict (exit status 4) unless --overwrite replaces it. Nothing is
printed on stdout; a progress bar is drawn on stderr when it is a terminal.`,
	run: runCopy,
}

func runCopy(e *env, args []string) error {
	var from, to string
	var overwrite, verbose bool
	fs := e.flags(nil)
	fs.StringVar(&from, "from", "", "source store `DSN` (default --dsn, $RECORD_DSN, else "+record.DefaultDSN+")")
	fs.StringVar(&to, "to", "", "destination store `DSN` (required)")
	fs.BoolVar(&overwrite, "overwrite", false, "replace records that exist in the destination with other content")
	fs.BoolVar(&verbose, "v", false, "print a summary on stderr even when it is not a terminal")
	colls, err := e.parse(fs, args, 0, -1)
	if err != nil {
		return err
	}
	if to == "" {
		return usageErrorf("missing --to DSN")
	}
	for _, c := range colls {
		if err := checkColl(c); err != nil {
			return err
		}
	}
	src, err := e.openExisting(from)
	if err != nil {
		return err
	}
	defer src.Close(context.Background())
	dst, err := record.Open(e.ctx, to)
	if err != nil {
		return err
	}
	defer dst.Close(context.Background())
	if len(colls) == 0 {
		if colls, err = src.Collections(e.ctx); err != nil {
			return err
		}
	}
	var total record.TransferReport
	for _, coll := range colls {
		bar, err := e.countedProgress("copy "+coll, src, coll, nil)
		if err != nil {
			return err
		}
		rep, err := record.Copy(e.ctx, src, dst, coll, transferOptions(bar, overwrite)...)
		bar.done()
		if err := conflictsOnly(err); err != nil {
			return err
		}
		if rep.Records() == 0 {
			return e.notFound(coll, from)
		}
		total.Added += rep.Added
		total.Unchanged += rep.Unchanged
		total.Completed += rep.Completed
		total.Replaced += rep.Replaced
		total.Conflicts = append(total.Conflicts, rep.Conflicts...)
	}
	return e.finish("copied", total, verbose)
}

// transferOptions are the options of import and copy.
func transferOptions(b *bar, overwrite bool) []record.TransferOption {
	opts := []record.TransferOption{record.Progress(func(r record.TransferReport) { b.set(r.Records()) })}
	if overwrite {
		opts = append(opts, record.Overwrite())
	}
	return opts
}

// conflictsOnly returns err unless it only reports conflicts, which the
// report holds and finish turns into exit status 4.
func conflictsOnly(err error) error {
	var ce *record.ConflictError
	if errors.As(err, &ce) {
		return nil
	}
	return err
}

// finish prints the summary of an import or copy and reports the conflicts.
func (e *env) finish(verb string, r record.TransferReport, verbose bool) error {
	if verbose || isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "%s %d records: %d added, %d unchanged, %d completed, %d replaced, %d conflicting\n",
			verb, r.Records(), r.Added, r.Unchanged, r.Completed, r.Replaced, len(r.Conflicts))
	}
	if len(r.Conflicts) > 0 {
		return &conflictError{msg: fmt.Sprintf("%d records exist with other content and were left unchanged (first: %s); --overwrite replaces them",
			len(r.Conflicts), r.Conflicts[0])}
	}
	return nil
}
