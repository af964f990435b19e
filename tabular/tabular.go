package tabular

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/record"
)

// Format is the file format of the tables.
type Format string

// The formats Export writes.
const (
	Parquet Format = "parquet" // runs.parquet and points.parquet
	CSV     Format = "csv"     // runs.csv and points.csv
)

// DefaultRowGroup is the number of rows of a Parquet row group when
// Options.RowGroup is 0: what a writer holds in memory per table.
const DefaultRowGroup = 1 << 17

// runsRowGroup is the most runs of a row group of the runs table, whose
// columns may be many (every param path of every run).
const runsRowGroup = 4096

// Options configure Export.
type Options struct {
	// Format is Parquet (the default when empty) or CSV.
	Format Format
	// List narrows the runs exported with record's list options (Where,
	// WhereText, Limit, NewestFirst, OrderBy). Fields and Omit narrow the
	// runs table's columns too, and the points table holds the metrics
	// that the listed documents name under metrics.
	List []record.ListOption
	// Machine adds the host facts (host, build, run) to the runs table's
	// columns.
	Machine bool
	// RowGroup is the number of rows per Parquet row group of the points
	// table (0: DefaultRowGroup); the runs table's row groups hold at
	// most 4096 runs.
	RowGroup int
	// Progress, when set, is called after each run with the counts so far.
	Progress func(Report)
}

// Report says what Export wrote.
type Report struct {
	// Runs and Points are the rows of the runs and points tables.
	Runs, Points int64
	// Collections counts the runs of each collection exported.
	Collections map[string]int64
	// Files are the paths of the runs and points tables.
	Files []string
}

// Files returns the paths Export writes in dir for a format: the runs
// table and the points table.
func Files(dir string, f Format) (runs, points string) {
	if f == "" {
		f = Parquet
	}
	return filepath.Join(dir, "runs."+string(f)), filepath.Join(dir, "points."+string(f))
}

// pointsWriter writes rows of the points table.
type pointsWriter interface {
	write(coll, id, metric string, pts []record.Point) error
	close() error
}

// runsWriter writes rows of the runs table, keyed by column name.
type runsWriter interface {
	write(row map[string]any) error
	close() error
}

// Export writes the runs and points tables (see the package doc) of the
// records of colls, in that order, to dir, which it creates if needed:
// runs.parquet and points.parquet, or runs.csv and points.csv. The files
// appear only when the export succeeded, replacing any of the same name;
// until then they are written under temporary names in dir, removed on
// error. It returns what it wrote.
//
// Records stream from the store one at a time and series in batches:
// the points go to their table as they are read; the runs go to a
// temporary file in dir until every column is known, then to their table.
// An error says which collection and record it arose at.
func Export(ctx context.Context, s *record.Store, dir string, colls []string, o Options) (rep Report, err error) {
	if o.Format == "" {
		o.Format = Parquet
	}
	if o.Format != Parquet && o.Format != CSV {
		return rep, &record.InvalidError{What: "value", Path: "format", Reason: fmt.Sprintf("%q is not parquet or csv", o.Format)}
	}
	if o.RowGroup <= 0 {
		o.RowGroup = DefaultRowGroup
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return rep, fmt.Errorf("tabular: %w", err)
	}
	x := &exporter{ctx: ctx, s: s, o: o, cols: newColumns(), rep: Report{Collections: map[string]int64{}}}
	defer x.cleanup()
	if err := x.open(dir); err != nil {
		return rep, err
	}
	for _, coll := range colls {
		if err := x.collection(coll); err != nil {
			return x.rep, err
		}
	}
	if err := x.finish(); err != nil {
		return x.rep, err
	}
	return x.rep, nil
}

// exporter holds the state of one Export.
type exporter struct {
	ctx  context.Context
	s    *record.Store
	o    Options
	cols *columns
	rep  Report

	// temps are the temporary files, removed by cleanup.
	temps             []*os.File
	pointsFile, spool *os.File
	spoolW            *bufio.Writer
	points            pointsWriter
	line              []byte
	runsPath          string
	pointsPath        string
}

func (x *exporter) temp(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("tabular: %w", err)
	}
	x.temps = append(x.temps, f)
	return f, nil
}

func (x *exporter) cleanup() {
	for _, f := range x.temps {
		f.Close()
		os.Remove(f.Name())
	}
}

func (x *exporter) open(dir string) error {
	x.runsPath, x.pointsPath = Files(dir, x.o.Format)
	var err error
	if x.pointsFile, err = x.temp(dir, ".points-*.tmp"); err != nil {
		return err
	}
	if x.spool, err = x.temp(dir, ".runs-*.spool"); err != nil {
		return err
	}
	x.spoolW = bufio.NewWriterSize(x.spool, 1<<16)
	if x.o.Format == Parquet {
		x.points = newParquetPoints(x.pointsFile, x.o.RowGroup)
		return nil
	}
	x.points, err = newCSVPoints(x.pointsFile)
	return x.writeErr(x.pointsPath, err)
}

func (x *exporter) writeErr(path string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("tabular: write %s: %w", path, err)
}

// collection exports the runs of coll and their points.
func (x *exporter) collection(coll string) error {
	opts := x.o.List
	if !x.o.Machine {
		opts = append(opts[:len(opts):len(opts)], record.Omit(machine...))
	}
	for snap, err := range x.s.List(x.ctx, coll, opts...) {
		if err != nil {
			return err
		}
		if err := x.run(snap); err != nil {
			var re *record.Error
			if errors.As(err, &re) {
				return err
			}
			return fmt.Errorf("tabular: export %s/%s: %w", coll, snap.ID(), err)
		}
		x.rep.Runs++
		x.rep.Collections[coll]++
		if x.o.Progress != nil {
			x.o.Progress(x.rep)
		}
	}
	return nil
}

// run spools one run's row and writes its points.
func (x *exporter) run(snap *record.Snapshot) error {
	doc := snap.Doc()
	// Where the record is listed is what the row says, whatever its
	// document's own fields hold.
	doc["collection"], doc["id"] = snap.Collection(), snap.ID()
	row, err := flatten(doc, x.o.Machine)
	if err != nil {
		return err
	}
	x.cols.add(row)
	m := make(map[string]any, len(row))
	for _, c := range row {
		m[c.path] = c.value
	}
	if x.line, err = docjson.Append(x.line[:0], m); err != nil {
		return err
	}
	x.line = append(x.line, '\n')
	if _, err := x.spoolW.Write(x.line); err != nil {
		return fmt.Errorf("tabular: spool: %w", err)
	}
	for _, name := range snap.MetricNames() {
		for pts, err := range snap.Series(x.ctx, name) {
			if err != nil {
				return err
			}
			if err := x.points.write(snap.Collection(), snap.ID(), name, pts); err != nil {
				return x.writeErr(x.pointsPath, err)
			}
			x.rep.Points += int64(len(pts))
		}
	}
	return nil
}

// finish writes the runs table from the spool and renames both tables.
func (x *exporter) finish() error {
	if err := x.points.close(); err != nil {
		return x.writeErr(x.pointsPath, err)
	}
	if err := x.spoolW.Flush(); err != nil {
		return fmt.Errorf("tabular: spool: %w", err)
	}
	if _, err := x.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("tabular: spool: %w", err)
	}
	runsFile, err := x.temp(filepath.Dir(x.runsPath), ".runs-*.tmp")
	if err != nil {
		return err
	}
	cols := x.cols.list()
	var runs runsWriter
	if x.o.Format == Parquet {
		runs = newParquetRuns(runsFile, cols, min(x.o.RowGroup, runsRowGroup))
	} else if runs, err = newCSVRuns(runsFile, cols); err != nil {
		return x.writeErr(x.runsPath, err)
	}
	r := bufio.NewReaderSize(x.spool, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("tabular: spool: %w", err)
		}
		row, err := docjson.Unmarshal(line)
		if err != nil {
			return fmt.Errorf("tabular: spool: %w", err)
		}
		if err := runs.write(row); err != nil {
			return x.writeErr(x.runsPath, err)
		}
	}
	if err := runs.close(); err != nil {
		return x.writeErr(x.runsPath, err)
	}
	for _, f := range []struct {
		file *os.File
		path string
	}{{runsFile, x.runsPath}, {x.pointsFile, x.pointsPath}} {
		// CreateTemp made the file private; the tables are ordinary files.
		if err := f.file.Chmod(0o644); err != nil {
			return x.writeErr(f.path, err)
		}
		if err := f.file.Sync(); err != nil {
			return x.writeErr(f.path, err)
		}
		if err := f.file.Close(); err != nil {
			return x.writeErr(f.path, err)
		}
		if err := os.Rename(f.file.Name(), f.path); err != nil {
			return fmt.Errorf("tabular: %w", err)
		}
	}
	x.rep.Files = []string{x.runsPath, x.pointsPath}
	return nil
}
