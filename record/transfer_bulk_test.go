package record_test

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// oldExport is an export written by the exporter before records could
// span several lines: seedTransfer's records (hostile values, NaN, ±Inf
// and -0 points) and a record whose steps are the int64 extremes, with
// times from year 1 to 9999 and values ±MaxFloat64, 5e-324 and -0.
const oldExport = "testdata/bulk_v1_export.jsonl"

// lineShape checks that every line holds at most max points and that
// continuation lines are numbered 1, 2, ... after their record's line;
// it returns the number of lines.
func lineShape(t *testing.T, lines string, max int) int {
	t.Helper()
	n, part, id := 0, 0, ""
	for line := range strings.Lines(lines) {
		n++
		top, err := record.UnmarshalDoc([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		p, _ := top["part"].(int64)
		switch {
		case p == 0 && top["doc"] == nil:
			t.Fatalf("line %d has neither doc nor part", n)
		case p == 0:
			id, part = top["id"].(string), 0
		case p != int64(part+1) || top["id"] != id || top["doc"] != nil:
			t.Fatalf("line %d: part %d of %v after part %d of %s", n, p, top["id"], part, id)
		default:
			part++
		}
		pts := 0
		sm, _ := top["series"].(map[string]any)
		for _, s := range sm {
			pts += len(s.(map[string]any)["steps"].([]any))
		}
		if pts > max {
			t.Fatalf("line %d holds %d points, more than %d", n, pts, max)
		}
		if p > 0 && pts == 0 {
			t.Fatalf("continuation line %d holds no point", n)
		}
	}
	return n
}

// TestImportOldExport imports an export of the single-line form into
// every kind of store, exports it again in that form (the same bytes) and
// on lines of 3 points, and imports those into every kind of store: the
// same records, point for point, and the same bytes once more.
func TestImportOldExport(t *testing.T) {
	old, err := os.ReadFile(oldExport)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range transferStores() {
		for _, to := range transferStores() {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				src := from.open(t)
				if rep := importLines(t, src, string(old)); rep.Added != 4 {
					t.Fatalf("Import of the old export = %+v, want 4 added", rep)
				}
				if got := export(t, src); got != string(old) {
					t.Fatalf("export of the imported old export differs:\nwant %.300s\ngot  %.300s", old, got)
				}
				restore := record.SetLinePoints(3)
				short := export(t, src)
				restore()
				// rec-a 60 points: 20 lines; rec-b 5: 2; rec-c none: 1; extremes 7: 3.
				if n := lineShape(t, short, 3); n != 26 {
					t.Fatalf("export on lines of 3 points wrote %d lines, want 26:\n%s", n, short)
				}
				dst := to.open(t)
				if rep := importLines(t, dst, short); rep.Added != 4 {
					t.Fatalf("Import of the 3-point lines = %+v", rep)
				}
				if got := export(t, dst); got != string(old) {
					t.Fatalf("export after importing the 3-point lines differs:\nwant %.300s\ngot  %.300s", old, got)
				}
				compareStores(t, src, dst)
				if rep := importLines(t, dst, string(old)); rep.Unchanged != 4 {
					t.Errorf("Import of the old export over the 3-point lines = %+v, want 4 unchanged", rep)
				}
			})
		}
	}
}

// TestImportCompletesParts checks that an import cut after a
// continuation line stores the first points, and that importing the
// whole export completes them.
func TestImportCompletesParts(t *testing.T) {
	src := transferStores()[1].open(t)
	seedTransfer(t, src)
	restore := record.SetLinePoints(7)
	lines := export(t, src)
	restore()
	cut := strings.Join(slices.Collect(strings.Lines(lines))[:4], "") // rec-a's line and 3 parts
	dst := transferStores()[1].open(t)
	if rep := importLines(t, dst, cut); rep.Added != 1 {
		t.Fatalf("Import of 4 lines = %+v", rep)
	}
	snap, err := dst.Get(t.Context(), tcoll, "rec-a")
	if err != nil {
		t.Fatal(err)
	}
	acc, err := snap.LoadSeries(t.Context(), "acc")
	if err != nil {
		t.Fatal(err)
	}
	if len(acc.Steps) != 28 {
		t.Fatalf("acc has %d points after 4 lines of 7, want 28", len(acc.Steps))
	}
	if rep := importLines(t, dst, lines); !cmp.Equal(rep, record.TransferReport{Added: 2, Completed: 1}) {
		t.Fatalf("Import of the whole export = %+v, want 2 added, 1 completed", rep)
	}
	compareStores(t, src, dst)
}

// TestImportBadParts checks that continuation lines out of place end the
// import with ErrInvalid naming the line, after storing the records
// before it with the points of their lines so far.
func TestImportBadParts(t *testing.T) {
	const (
		head = `{"id":"x","doc":{},"series":{"b":{"steps":[1],"times":[{"$time":"2026-11-25T10:00:00.000Z"}],"values":[1.0]}}}`
		tm   = `"times":[{"$time":"2026-11-25T10:00:00.000Z"}]`
	)
	part := func(id, n, name string) string {
		return `{"id":"` + id + `","part":` + n + `,"series":{"` + name + `":{"steps":[2],` + tm + `,"values":[2.0]}}}`
	}
	// want is the steps of x's series b stored from the lines before the
	// bad one; nil when x is not stored.
	cases := []struct {
		name, lines string
		want        []int64
	}{
		{"part first", part("x", "1", "b"), nil},
		{"part of another record", head + "\n" + part("y", "1", "b"), []int64{1}},
		{"part 2 after the line", head + "\n" + part("x", "2", "b"), []int64{1}},
		{"part twice", head + "\n" + part("x", "1", "b") + "\n" + part("x", "1", "b"), []int64{1, 2}},
		{"part zero", head + "\n" + part("x", "0", "b"), []int64{1}},
		{"part not an integer", head + "\n" + part("x", "1.0", "b"), []int64{1}},
		{"part a string", head + "\n" + part("x", `"1"`, "b"), []int64{1}},
		{"name before the last", head + "\n" + part("x", "1", "a"), []int64{1}},
		{"part with doc", head + "\n" + `{"id":"x","part":1,"doc":{},"series":{}}`, []int64{1}},
		{"part without points", head + "\n" + `{"id":"x","part":1,"series":{}}`, []int64{1}},
		{"names out of order in a part", head + "\n" + `{"id":"x","part":1,"series":{"d":{"steps":[2],` + tm + `,"values":[2.0]},"c":{"steps":[2],` + tm + `,"values":[2.0]}}}`, []int64{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := transferStores()[0].open(t)
			lines := `{"id":"ok","doc":{"a":1}}` + "\n" + c.lines + "\n"
			rep, err := s.Import(t.Context(), tcoll, strings.NewReader(lines))
			at := "line " + strconv.Itoa(strings.Count(lines, "\n"))
			if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), at) {
				t.Fatalf("Import: %v; want ErrInvalid naming %s", err, at)
			}
			wantAdded := 1
			if c.want != nil {
				wantAdded = 2
			}
			if rep.Added != wantAdded {
				t.Errorf("report %+v, want %d added", rep, wantAdded)
			}
			snap, err := s.Get(t.Context(), tcoll, "x")
			if c.want == nil {
				if !errors.Is(err, record.ErrNotFound) {
					t.Errorf("x was stored: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := snap.LoadSeries(t.Context(), "b")
			if err != nil || !slices.Equal(got.Steps, c.want) {
				t.Errorf("x's series b = %v, %v; want steps %v, the lines before the bad one", got.Steps, err, c.want)
			}
			if names := snap.MetricNames(); len(names) != 1 {
				t.Errorf("x has metrics %v, want b only", names)
			}
		})
	}
	// A good part continues the series and starts another.
	s := transferStores()[0].open(t)
	importLines(t, s, head+"\n"+part("x", "1", "b")+"\n"+part("x", "2", "c")+"\n")
	snap, err := s.Get(t.Context(), tcoll, "x")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]int64{"b": {1, 2}, "c": {2}} {
		got, err := snap.LoadSeries(t.Context(), name)
		if err != nil || !slices.Equal(got.Steps, want) {
			t.Errorf("series %s = %v, %v; want steps %v", name, got.Steps, err, want)
		}
	}
}

// counting is a memory backend that counts its series reads; with scan
// false it hides SeriesScanner, so that Export reads per record.
type counting struct {
	*memory.Backend
	scans, reads int
	reverse      bool // ScanSeries yields its chunks in reverse order
}

func (c *counting) ReadSeries(ctx context.Context, coll, id, name string) iter.Seq2[[]backend.Point, error] {
	c.reads++
	return c.Backend.ReadSeries(ctx, coll, id, name)
}

func (c *counting) ScanSeries(ctx context.Context, coll, from string) iter.Seq2[backend.SeriesChunk, error] {
	c.scans++
	if !c.reverse {
		return c.Backend.ScanSeries(ctx, coll, from)
	}
	return func(yield func(backend.SeriesChunk, error) bool) {
		var all []backend.SeriesChunk
		for ch, err := range c.Backend.ScanSeries(ctx, coll, from) {
			if err != nil {
				yield(ch, err)
				return
			}
			all = append(all, ch)
		}
		slices.Reverse(all)
		for _, ch := range all {
			if !yield(ch, nil) {
				return
			}
		}
	}
}

// perRecord is a backend without SeriesScanner.
type perRecord struct {
	backend.Backend
	backend.Lister
	backend.Deleter
	backend.BatchStore
}

// TestExportBulk checks that Export reads the series of a collection
// with one ScanSeries when the listing allows it, and writes the same
// bytes as when it reads each series of each record, with every listing
// option and line length: records not listed, and a series without a
// summary (points whose summary a crash lost), are left out both ways.
func TestExportBulk(t *testing.T) {
	ctx := t.Context()
	c := &counting{Backend: memory.New()}
	s := record.NewStore(c)
	t.Cleanup(func() { s.Close(context.Background()) })
	seedTransfer(t, s)
	ghost := []backend.Point{{Step: 1, Value: 1}}
	if err := c.AppendSeries(ctx, tcoll, "rec-c", "ghost", ghost); err != nil {
		t.Fatal(err)
	}
	if err := c.AppendSeries(ctx, tcoll, "rec-0", "loss", ghost); err != nil { // no such record
		t.Fatal(err)
	}
	slow := record.NewStore(perRecord{c, c, c, c})
	opts := map[string][]record.ListOption{
		"all":          nil,
		"limit":        {record.Limit(2)},
		"after":        {record.After("rec-a")},
		"newest first": {record.NewestFirst()},
		"where":        {record.Where("lr", "=", 0.1)},
	}
	for name, o := range opts {
		for _, per := range []int{record.LinePoints, 7, 1} {
			t.Run(name+"/"+strconv.Itoa(per), func(t *testing.T) {
				defer record.SetLinePoints(per)()
				c.scans, c.reads = 0, 0
				var want, got bytes.Buffer
				if _, err := slow.Export(ctx, tcoll, &want, o...); err != nil {
					t.Fatal(err)
				}
				if c.scans != 0 || c.reads == 0 {
					t.Fatalf("the export per record made %d scans, %d reads", c.scans, c.reads)
				}
				c.scans, c.reads = 0, 0
				if _, err := s.Export(ctx, tcoll, &got, o...); err != nil {
					t.Fatal(err)
				}
				if bulk := name != "newest first" && name != "where"; bulk && (c.scans != 1 || c.reads != 0) {
					t.Errorf("the bulk export made %d scans, %d reads; want 1 scan", c.scans, c.reads)
				}
				if got.String() != want.String() {
					t.Fatalf("bulk export differs:\nwant %s\ngot  %s", want.String(), got.String())
				}
				if strings.Contains(got.String(), "ghost") || strings.Contains(got.String(), "rec-0") {
					t.Error("export holds the series without a summary or without a record")
				}
			})
		}
	}
	c.reverse = true
	if _, err := s.Export(ctx, tcoll, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("Export with chunks out of order: %v, want an error saying so", err)
	}
}

// TestExportLineBytes checks that lines of long numbers (5e-324 is 326
// characters in the exact form) end near a megabyte, before LinePoints,
// and import as they were.
func TestExportLineBytes(t *testing.T) {
	ctx := t.Context()
	src := transferStores()[0].open(t)
	rec, err := src.Create(ctx, tcoll, record.WithID("tiny"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	for step := range 9000 {
		rec.Log(int64(step), record.Metrics{"a": 5e-324, "b": -math.MaxFloat64})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	lines := export(t, src)
	n := lineShape(t, lines, record.LinePoints)
	if n < 5 {
		t.Errorf("18000 points of 326 characters on %d lines, want 5 or more", n)
	}
	for line := range strings.Lines(lines) {
		if len(line) > 1<<20+8000 { // the points, one more point and the document
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
	dst := transferStores()[1].open(t)
	importLines(t, dst, lines)
	if export(t, dst) != lines {
		t.Fatal("export after import differs")
	}
	compareStores(t, src, dst)
}
