package tabular_test

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/recordlab/go-record/backend"
	_ "github.com/recordlab/go-record/backend/all"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/tabular"
)

func unique(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// store is a backend the tests run against.
type store struct {
	name string
	dsn  func(t *testing.T) string
}

// stores are memory and SQLite, and PostgreSQL and MongoDB where their
// test servers are named by RECORD_TEST_POSTGRES_DSN and
// RECORD_TEST_MONGO_DSN.
func stores() []store {
	return []store{
		{"mem", func(t *testing.T) string { return "mem://" + unique("tab") }},
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "records.db") }},
		{"postgres", func(t *testing.T) string {
			base := os.Getenv("RECORD_TEST_POSTGRES_DSN")
			if base == "" {
				backendtest.Unavailable(t, "postgres", "set RECORD_TEST_POSTGRES_DSN")
			}
			sep := "?"
			if strings.Contains(base, "?") {
				sep = "&"
			}
			return base + sep + "x-table=" + unique("tab_")
		}},
		{"mongo", func(t *testing.T) string {
			base := os.Getenv("RECORD_TEST_MONGO_DSN")
			if base == "" {
				backendtest.Unavailable(t, "mongo", "set RECORD_TEST_MONGO_DSN")
			}
			u, err := url.Parse(base)
			if err != nil {
				t.Fatalf("RECORD_TEST_MONGO_DSN does not parse")
			}
			u.Path = "/" + unique("tab_")
			return u.String()
		}},
	}
}

func open(t *testing.T, dsn string) *record.Store {
	t.Helper()
	s, err := record.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", record.RedactDSN(dsn), err)
	}
	t.Cleanup(func() { s.Close(t.Context()) })
	return s
}

// Hostile values.
var (
	negZero = math.Copysign(0, -1)
	// hostile is a string with everything CSV and JSON quote or escape.
	hostile = " lead \"quote\", comma\nnewline\r\nCRLF \\back\\slash\\ \x01\x1f\x7f\ttab é 日本 \u2028 'single' ;semi"
	// errText is r2's error, hostile too.
	errText = "diverged: \"loss\" = NaN,\n\tat step 1 \\o/"
	// metricName is a metric name with quotes, commas, a newline and a
	// control character.
	metricName = "acc \"top,1\"\n\x01\\"
	when       = time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	// lossValues are r1's loss points, steps 0..8.
	lossValues = []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), negZero, math.MaxFloat64, -math.MaxFloat64, 5e-324, 0.25}
	accValues  = []float64{0.1, math.NaN()}
)

// seeded is what seed wrote: the collections, and per record the points
// logged (collection/id/metric -> values, steps from 0).
type seeded struct {
	coll1, coll2 string
	points       map[[3]string][]float64
}

// seed writes four runs: r1 (completed, every hostile value), r2 (failed,
// child of r1, values of other types at the same paths), r3 (a running
// record whose heartbeat stopped: crashed) in coll1, and r4 in coll2.
func seed(t *testing.T, s *record.Store) seeded {
	t.Helper()
	ctx := t.Context()
	sd := seeded{coll1: unique("tab-one."), coll2: unique("tab_two-"), points: map[[3]string][]float64{}}
	logAll := func(rec *record.Record, coll, name string, vals []float64) {
		for i, v := range vals {
			rec.Log(int64(i), record.Metrics{name: v})
		}
		sd.points[[3]string{coll, rec.ID(), name}] = vals
	}

	r1, err := s.Create(ctx, sd.coll1, record.WithID("r1"), record.WithoutHost(), record.WithSeed(7), record.WithGoal("loss", record.Minimize))
	if err != nil {
		t.Fatal(err)
	}
	err = r1.Update(ctx, map[string]any{
		"lr": 0.001, "epochs": 10, "opt": "adam", "flag": true, "when": when, "note": hostile,
		"mix": 1, "num": 3, "big": int64(math.MaxInt64), "nul": nil, "empty": map[string]any{},
		"x": map[string]any{"nan": math.NaN(), "inf": math.Inf(1), "ninf": math.Inf(-1), "negzero": negZero,
			"max": math.MaxFloat64, "nmax": -math.MaxFloat64, "tiny": 5e-324},
		"models":    map[string]any{"m0": map[string]any{"label": "small, \"quoted\"", "losses": []float64{1, math.NaN(), 0.5}}},
		"a,b \"c\"": "odd key",
	})
	if err != nil {
		t.Fatal(err)
	}
	logAll(r1, sd.coll1, "loss", lossValues)
	logAll(r1, sd.coll1, metricName, accValues)
	if err := r1.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}

	r2, err := s.Create(ctx, sd.coll1, record.WithID("r2"), record.WithoutHost(), record.WithParent("r1"))
	if err != nil {
		t.Fatal(err)
	}
	err = r2.Update(ctx, map[string]any{"lr": 0.01, "epochs": 20, "opt": "sgd", "flag": false, "note": "", "mix": "1", "num": 0.5, "big": 1.5})
	if err != nil {
		t.Fatal(err)
	}
	logAll(r2, sd.coll1, "loss", []float64{2, 1})
	if err := r2.Close(ctx, errors.New(errText)); err != nil {
		t.Fatal(err)
	}

	// r3 is what a killed process leaves: running, its heartbeat past.
	var b backend.Backend
	if !s.As(&b) {
		t.Fatal("Store.As(*backend.Backend) = false")
	}
	r3 := map[string]any{
		"id": "r3", "collection": sd.coll1, "created": when, "status": record.StatusRunning,
		"alive_until": when.Add(time.Minute), "heartbeat": when,
		"lr": 0.1, "mix": 2.5, "note": "NaN",
	}
	if err := b.Insert(ctx, sd.coll1, "r3", r3); err != nil {
		t.Fatal(err)
	}

	r4, err := s.Create(ctx, sd.coll2, record.WithID("r4"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	if err := r4.Update(ctx, map[string]any{"lr": 1}); err != nil {
		t.Fatal(err)
	}
	logAll(r4, sd.coll2, "loss", []float64{3, 2, 1})
	if err := r4.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return sd
}

// table is a table read back: column names, their Parquet types (for
// CSV, those of the Parquet export of the same runs) and rows.
type table struct {
	names []string
	types []string
	rows  [][]any // nil where null
	// raw are the cells as text (CSV only).
	raw [][]string
}

// col returns the column index of name, or -1.
func (tb *table) col(name string) int { return slices.Index(tb.names, name) }

// cell returns the value of column name in the row whose id is id.
func (tb *table) cell(t *testing.T, id, name string) (any, bool) {
	t.Helper()
	ic, c := tb.col("id"), tb.col(name)
	if c < 0 {
		t.Errorf("no column %q", name)
		return nil, false
	}
	for _, r := range tb.rows {
		if r[ic] == id {
			return r[c], true
		}
	}
	t.Errorf("no row with id %q", id)
	return nil, false
}

// readParquet reads a Parquet file with parquet-go, values as Go values:
// bool, int64, float64, string, time.Time (timestamp columns).
func readParquet(t *testing.T, path string) *table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("parquet-go cannot open %s: %v", path, err)
	}
	tb := &table{}
	for _, p := range pf.Schema().Columns() {
		if len(p) != 1 {
			t.Fatalf("column %q is nested", p)
		}
		leaf, _ := pf.Schema().Lookup(p...)
		typ := leaf.Node.Type()
		name := typ.Kind().String()
		var lt any
		if l := typ.LogicalType(); l != nil {
			lt = l.Value
		}
		switch lt.(type) {
		case *format.TimestampType:
			name = "TIMESTAMP"
		case *format.StringType:
			name = "STRING"
		}
		tb.names = append(tb.names, p[0])
		tb.types = append(tb.types, name)
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 100)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			vals := make([]any, len(tb.names))
			for _, v := range row {
				c := v.Column()
				if v.IsNull() {
					continue
				}
				switch tb.types[c] {
				case "BOOLEAN":
					vals[c] = v.Boolean()
				case "INT64":
					vals[c] = v.Int64()
				case "TIMESTAMP":
					vals[c] = time.UnixMilli(v.Int64()).UTC()
				case "DOUBLE":
					vals[c] = v.Double()
				case "STRING":
					vals[c] = string(v.ByteArray())
				default:
					t.Fatalf("column %s has type %s", tb.names[c], tb.types[c])
				}
			}
			tb.rows = append(tb.rows, vals)
		}
		if err != nil {
			break
		}
	}
	if int64(len(tb.rows)) != pf.NumRows() {
		t.Fatalf("read %d rows of %d", len(tb.rows), pf.NumRows())
	}
	return tb
}

// readCSV reads a CSV file with encoding/csv, parsing each cell by the
// type of the column in like (the Parquet export of the same runs); an
// empty cell is nil.
func readCSV(t *testing.T, path string, like *table) *table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("encoding/csv cannot read %s: %v", path, err)
	}
	if diff := cmp.Diff(like.names, recs[0]); diff != "" {
		t.Fatalf("CSV header differs from the Parquet columns (-parquet +csv):\n%s", diff)
	}
	tb := &table{names: recs[0], types: like.types, raw: recs[1:]}
	for _, rec := range recs[1:] {
		vals := make([]any, len(rec))
		for c, s := range rec {
			if s == "" {
				continue
			}
			var err error
			switch tb.types[c] {
			case "BOOLEAN":
				vals[c], err = strconv.ParseBool(s)
			case "INT64":
				vals[c], err = strconv.ParseInt(s, 10, 64)
			case "TIMESTAMP":
				vals[c], err = time.Parse(time.RFC3339Nano, s)
			case "DOUBLE":
				if !strings.ContainsAny(s, ".enN") {
					t.Errorf("%s: float %q has no '.', exponent or name", tb.names[c], s)
				}
				vals[c], err = strconv.ParseFloat(s, 64)
			default:
				vals[c] = s
			}
			if err != nil {
				t.Errorf("%s: %v", tb.names[c], err)
			}
		}
		tb.rows = append(tb.rows, vals)
	}
	return tb
}

// same compares values with floats bit for bit.
var same = cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })

// sameOrNaN compares values with floats bit for bit, any NaN equal to any
// NaN (a backend may store another NaN payload).
var sameOrNaN = cmp.Comparer(func(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
})

// check is one cell of the runs table: its value read from Parquet and
// the text of its CSV cell.
type check struct {
	id, col string
	want    any
	csv     string
}

func runChecks(t *testing.T) []check {
	return []check{
		{"r1", "status", "completed", "completed"},
		{"r2", "status", "failed", "failed"},
		{"r3", "status", "crashed", "crashed"},
		{"r4", "status", "completed", "completed"},
		{"r2", "parent", "r1", "r1"},
		{"r1", "parent", nil, ""},
		{"r2", "error", errText, errText},
		{"r3", "created", when, "2026-01-02T03:04:05.006Z"},
		{"r1", "seed", int64(7), "7"},
		{"r1", "goals.loss", "min", "min"},
		{"r1", "lr", 0.001, "0.001"},
		{"r4", "lr", 1.0, "1.0"}, // int 1 in a column of floats
		{"r1", "epochs", int64(10), "10"},
		{"r3", "epochs", nil, ""},
		{"r1", "opt", "adam", "adam"},
		{"r1", "flag", true, "true"},
		{"r2", "flag", false, "false"},
		{"r1", "when", when, "2026-01-02T03:04:05.006Z"},
		{"r1", "note", hostile, hostile},
		{"r2", "note", "", ""},
		{"r3", "note", "NaN", "NaN"},
		// mix holds 1, "1" and 2.5: JSON text.
		{"r1", "mix", "1", "1"},
		{"r2", "mix", `"1"`, `"1"`},
		{"r3", "mix", "2.5", "2.5"},
		// num holds 3 and 0.5: floats, 3 exactly.
		{"r1", "num", 3.0, "3.0"},
		{"r2", "num", 0.5, "0.5"},
		// big holds MaxInt64 and 1.5: no float holds MaxInt64, so JSON text.
		{"r1", "big", "9223372036854775807", "9223372036854775807"},
		{"r2", "big", "1.5", "1.5"},
		{"r1", "empty", "{}", "{}"},
		{"r1", "x.nan", math.NaN(), "NaN"},
		{"r1", "x.inf", math.Inf(1), "inf"},
		{"r1", "x.ninf", math.Inf(-1), "-inf"},
		{"r1", "x.negzero", negZero, "-0.0"},
		{"r1", "x.max", math.MaxFloat64, "1.7976931348623157e+308"},
		{"r1", "x.nmax", -math.MaxFloat64, "-1.7976931348623157e+308"},
		{"r1", "x.tiny", 5e-324, "5e-324"},
		{"r1", "models.m0.label", "small, \"quoted\"", "small, \"quoted\""},
		{"r1", "models.m0.losses", `[1.0,{"$float":"NaN"},0.5]`, `[1.0,{"$float":"NaN"},0.5]`},
		{"r1", "a,b \"c\"", "odd key", "odd key"},
		{"r1", "metrics.loss.count", int64(9), "9"},
		{"r1", "metrics.loss.last", 0.25, "0.25"},
		{"r1", "metrics.loss.last_step", int64(8), "8"},
		{"r1", "metrics.loss.min", -math.MaxFloat64, "-1.7976931348623157e+308"},
		{"r1", "metrics.loss.max", math.MaxFloat64, "1.7976931348623157e+308"},
		{"r1", "metrics.loss.nans", int64(1), "1"},
		{"r1", "metrics.loss.infs", int64(1), "1"},
		{"r1", "metrics.loss.neg_infs", int64(1), "1"},
		{"r1", "metrics." + metricName + ".last", math.NaN(), "NaN"}, // last_nonfinite restored
		{"r2", "metrics.loss.last", 1.0, "1.0"},
		{"r3", "metrics.loss.count", nil, ""},
	}
}

// wantTypes are the Parquet types of some columns.
var wantTypes = map[string]string{
	"collection": "STRING", "id": "STRING", "status": "STRING", "created": "TIMESTAMP", "ended": "TIMESTAMP",
	"duration": "DOUBLE", "parent": "STRING", "error": "STRING",
	"lr": "DOUBLE", "epochs": "INT64", "flag": "BOOLEAN", "when": "TIMESTAMP", "note": "STRING", "mix": "STRING",
	"num": "DOUBLE", "big": "STRING", "x.negzero": "DOUBLE", "models.m0.losses": "STRING", "seed": "INT64",
	"metrics.loss.count": "INT64", "metrics.loss.last": "DOUBLE", "metrics.loss.last_time": "TIMESTAMP",
}

// TestExport exports the seeded runs as Parquet and as CSV on every
// store and reads both back: parquet-go reads every value of the Parquet
// files exactly (floats bit for bit), encoding/csv reads the CSV files to
// the same values (except what CSV cannot hold, see the package doc),
// every point of every run is a row, and the runs table has the columns,
// types and values the package doc promises.
func TestExport(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			s := open(t, st.dsn(t))
			sd := seed(t, s)
			dir := t.TempDir()
			colls := []string{sd.coll1, sd.coll2}
			var progress []int64
			rep, err := tabular.Export(t.Context(), s, dir, colls, tabular.Options{Progress: func(r tabular.Report) { progress = append(progress, r.Runs) }})
			if err != nil {
				t.Fatal(err)
			}
			repCSV, err := tabular.Export(t.Context(), s, dir, colls, tabular.Options{Format: tabular.CSV})
			if err != nil {
				t.Fatal(err)
			}
			npts := int64(0)
			for _, v := range sd.points {
				npts += int64(len(v))
			}
			wantRep := tabular.Report{Runs: 4, Points: npts, Collections: map[string]int64{sd.coll1: 3, sd.coll2: 1}}
			for _, r := range []tabular.Report{rep, repCSV} {
				r.Files = nil
				if diff := cmp.Diff(wantRep, r); diff != "" {
					t.Errorf("report (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff([]int64{1, 2, 3, 4}, progress); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if diff := cmp.Diff([]string{"points.csv", "points.parquet", "runs.csv", "runs.parquet"}, names); diff != "" {
				t.Errorf("files in the directory (-want +got):\n%s", diff)
			}

			runsPQ, pointsPQ := tabular.Files(dir, tabular.Parquet)
			runsCSV, pointsCSV := tabular.Files(dir, tabular.CSV)
			runs := readParquet(t, runsPQ)
			checkRuns(t, s, sd, runs)
			checkPoints(t, s, sd, readParquet(t, pointsPQ), false)
			crows := readCSV(t, runsCSV, runs)
			checkCSVRuns(t, runs, crows)
			checkPoints(t, s, sd, readCSV(t, pointsCSV, readParquet(t, pointsPQ)), true)
		})
	}
}

// checkRuns checks the runs table read from Parquet.
func checkRuns(t *testing.T, s *record.Store, sd seeded, runs *table) {
	t.Helper()
	if diff := cmp.Diff([]string{"collection", "id", "status", "created", "ended", "duration", "parent", "error"}, runs.names[:8]); diff != "" {
		t.Errorf("first columns (-want +got):\n%s", diff)
	}
	var ids []string
	for _, r := range runs.rows {
		ids = append(ids, r[0].(string)+"/"+r[1].(string))
	}
	if diff := cmp.Diff([]string{sd.coll1 + "/r1", sd.coll1 + "/r2", sd.coll1 + "/r3", sd.coll2 + "/r4"}, ids); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for name, typ := range wantTypes {
		if c := runs.col(name); c < 0 || runs.types[c] != typ {
			t.Errorf("column %q: type %v, want %s", name, runs.types[max(c, 0)], typ)
		}
	}
	// Params sorted, then goals, then metrics; no machine or write-path fields.
	var order []string
	for _, n := range runs.names[8:] {
		order = append(order, n)
		for _, bad := range []string{"host", "build", "run", "batches", "heartbeat", "alive_until", "nul"} {
			if n == bad || strings.HasPrefix(n, bad+".") {
				t.Errorf("column %q should not be in the runs table", n)
			}
		}
	}
	gi, mi := slices.Index(order, "goals.loss"), slices.Index(order, "metrics.loss.count")
	if gi < 0 || mi < gi || !slices.IsSorted(order[:gi]) {
		t.Errorf("columns out of order: %q", order)
	}
	for _, c := range runChecks(t) {
		got, ok := runs.cell(t, c.id, c.col)
		if ok {
			if diff := cmp.Diff(c.want, got, same); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", c.id, c.col, diff)
			}
		}
	}
	// Every summary field matches the stored summary.
	for _, r := range runs.rows {
		snap, err := s.Get(t.Context(), r[0].(string), r[1].(string))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range snap.MetricNames() {
			sum, err := snap.Map("metrics." + m)
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range sum {
				if f == "last_nonfinite" || f == "last" {
					continue
				}
				got, _ := runs.cell(t, snap.ID(), "metrics."+m+"."+f)
				if diff := cmp.Diff(v, got, same); diff != "" {
					t.Errorf("%s metrics.%q.%s (-stored +exported):\n%s", snap.ID(), m, f, diff)
				}
			}
		}
		for _, f := range []string{"created", "ended", "duration"} {
			want, _ := snap.Get(f)
			got, _ := runs.cell(t, snap.ID(), f)
			if diff := cmp.Diff(want, got, same); diff != "" {
				t.Errorf("%s %s (-stored +exported):\n%s", snap.ID(), f, diff)
			}
		}
	}
}

// checkCSVRuns checks the CSV runs table against the Parquet one, cell by
// cell, and the text of some cells.
func checkCSVRuns(t *testing.T, pq, cv *table) {
	t.Helper()
	if len(cv.rows) != len(pq.rows) {
		t.Fatalf("CSV has %d runs, Parquet %d", len(cv.rows), len(pq.rows))
	}
	for i := range pq.rows {
		for c, want := range pq.rows[i] {
			if s, ok := want.(string); ok {
				switch {
				case s == "":
					want = nil // CSV: an empty string is an empty cell, like null
				default:
					want = strings.ReplaceAll(s, "\r\n", "\n") // encoding/csv reads CRLF in a field as LF
				}
			}
			if diff := cmp.Diff(want, cv.rows[i][c], same); diff != "" {
				t.Errorf("CSV row %d column %q (-parquet +csv):\n%s", i, pq.names[c], diff)
			}
		}
	}
	ic := cv.col("id")
	for _, c := range runChecks(t) {
		i := slices.IndexFunc(cv.raw, func(r []string) bool { return r[ic] == c.id })
		if i < 0 {
			t.Errorf("no CSV row %s", c.id)
			continue
		}
		want := strings.ReplaceAll(c.csv, "\r\n", "\n")
		if got := cv.raw[i][cv.col(c.col)]; got != want {
			t.Errorf("CSV %s %q = %q, want %q", c.id, c.col, got, want)
		}
	}
}

// checkPoints checks the points table: a row per logged point, in log
// order per series, values exactly those the store reads back (and the
// values logged, any NaN for NaN), times those of the store.
func checkPoints(t *testing.T, s *record.Store, sd seeded, pts *table, isCSV bool) {
	t.Helper()
	if diff := cmp.Diff([]string{"collection", "id", "metric", "step", "value", "time"}, pts.names); diff != "" {
		t.Fatalf("points columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"STRING", "STRING", "STRING", "INT64", "DOUBLE", "TIMESTAMP"}, pts.types); diff != "" && !isCSV {
		t.Errorf("points types (-want +got):\n%s", diff)
	}
	type series struct {
		steps  []int64
		values []float64
		times  []time.Time
	}
	got := map[[3]string]*series{}
	var order [][3]string
	for _, r := range pts.rows {
		k := [3]string{r[0].(string), r[1].(string), r[2].(string)}
		if got[k] == nil {
			got[k] = &series{}
			order = append(order, k)
		}
		g := got[k]
		g.steps = append(g.steps, r[3].(int64))
		g.values = append(g.values, r[4].(float64))
		g.times = append(g.times, r[5].(time.Time))
	}
	if len(got) != len(sd.points) {
		t.Errorf("%d series exported, %d logged: %q", len(got), len(sd.points), order)
	}
	for k, vals := range sd.points {
		g := got[k]
		if g == nil {
			t.Errorf("series %q not exported", k)
			continue
		}
		var steps []int64
		for i := range vals {
			steps = append(steps, int64(i))
		}
		if diff := cmp.Diff(steps, g.steps); diff != "" {
			t.Errorf("%q steps (-logged +exported):\n%s", k, diff)
		}
		if diff := cmp.Diff(vals, g.values, sameOrNaN); diff != "" {
			t.Errorf("%q values (-logged +exported):\n%s", k, diff)
		}
		snap, err := s.Get(t.Context(), k[0], k[1])
		if err != nil {
			t.Fatal(err)
		}
		stored, err := snap.LoadSeries(t.Context(), k[2])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stored.Values, g.values, same); diff != "" {
			t.Errorf("%q values (-stored +exported):\n%s", k, diff)
		}
		if diff := cmp.Diff(stored.Times, g.times); diff != "" {
			t.Errorf("%q times (-stored +exported):\n%s", k, diff)
		}
	}
}

// TestExportWhere exports only the runs a condition selects, and only
// their points.
func TestExportWhere(t *testing.T) {
	s := open(t, "mem://"+unique("tab"))
	sd := seed(t, s)
	dir := t.TempDir()
	rep, err := tabular.Export(t.Context(), s, dir, []string{sd.coll1, sd.coll2},
		tabular.Options{List: []record.ListOption{record.Where("opt", "=", "sgd")}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Runs != 1 || rep.Points != 2 {
		t.Errorf("exported %d runs and %d points, want 1 and 2", rep.Runs, rep.Points)
	}
	runs, points := tabular.Files(dir, tabular.Parquet)
	if tb := readParquet(t, runs); len(tb.rows) != 1 || tb.rows[0][1] != "r2" {
		t.Errorf("runs: %v", tb.rows)
	}
	for _, r := range readParquet(t, points).rows {
		if r[1] != "r2" {
			t.Errorf("point of %v exported", r[1])
		}
	}
}

// TestExportMachine adds the host facts as columns on request only.
func TestExportMachine(t *testing.T) {
	s := open(t, "mem://"+unique("tab"))
	rec, err := s.Create(t.Context(), "c", record.WithID("h"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, machine := range []bool{false, true} {
		dir := t.TempDir()
		if _, err := tabular.Export(t.Context(), s, dir, []string{"c"}, tabular.Options{Machine: machine, Format: tabular.CSV}); err != nil {
			t.Fatal(err)
		}
		runs, _ := tabular.Files(dir, tabular.CSV)
		raw, err := os.ReadFile(runs)
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(string(raw), "\n")
		hasHost := strings.Contains(","+header, ",host.")
		if hasHost != machine {
			t.Errorf("Machine %v: header %q", machine, header)
		}
	}
}

// TestExportRowGroups writes the points in row groups of the size asked
// for, so that a writer holds one row group at a time.
func TestExportRowGroups(t *testing.T) {
	s := open(t, "mem://"+unique("tab"))
	rec, err := s.Create(t.Context(), "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		rec.Log(int64(i), record.Metrics{"loss": float64(i)})
	}
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := tabular.Export(t.Context(), s, dir, []string{"c"}, tabular.Options{RowGroup: 1000}); err != nil {
		t.Fatal(err)
	}
	_, points := tabular.Files(dir, tabular.Parquet)
	f, err := os.Open(points)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, rg := range pf.RowGroups() {
		sizes = append(sizes, rg.NumRows())
	}
	if diff := cmp.Diff([]int64{1000, 1000, 1000, 1000, 1000}, sizes); diff != "" {
		t.Errorf("row groups (-want +got):\n%s", diff)
	}
	// A reader's own struct reads the points table.
	type point struct {
		Collection string    `parquet:"collection"`
		ID         string    `parquet:"id"`
		Metric     string    `parquet:"metric"`
		Step       int64     `parquet:"step"`
		Value      float64   `parquet:"value"`
		Time       time.Time `parquet:"time,timestamp(millisecond)"`
	}
	rows, err := parquet.Read[point](f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r.Step != int64(i) || r.Value != float64(i) || r.ID != rec.ID() || r.Metric != "loss" || r.Time.IsZero() {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
}

// TestExportInvalidUTF8 shows what happens to a string that is not valid
// UTF-8: record refuses to store it, and a document that holds one anyway
// (written to the backend directly) fails the export with an
// *record.InvalidError naming the path, leaving no file behind.
func TestExportInvalidUTF8(t *testing.T) {
	s := open(t, "mem://"+unique("tab"))
	rec, err := s.Create(t.Context(), "c", record.WithID("ok"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Set(t.Context(), "bad", "a\xffb"); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Set of invalid UTF-8: %v, want ErrInvalid", err)
	}
	rec.Close(t.Context(), nil)
	var b backend.Backend
	s.As(&b)
	doc := map[string]any{"id": "raw", "collection": "c", "status": "completed", "m": map[string]any{"bad": "a\xffb"}}
	if err := b.Insert(t.Context(), "c", "raw", doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []tabular.Format{tabular.Parquet, tabular.CSV} {
		dir := t.TempDir()
		_, err := tabular.Export(t.Context(), s, dir, []string{"c"}, tabular.Options{Format: f})
		var ie *record.InvalidError
		if !errors.As(err, &ie) || ie.Path != "m.bad" || !strings.Contains(err.Error(), "c/raw") {
			t.Errorf("%s: err = %v, want an *InvalidError at m.bad naming c/raw", f, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: files left after the error: %v", f, entries)
		}
	}
}

// TestExportErrors: an unknown format and a bad collection name are
// *record.InvalidError; nothing is written.
func TestExportErrors(t *testing.T) {
	s := open(t, "mem://"+unique("tab"))
	dir := t.TempDir()
	_, err := tabular.Export(t.Context(), s, dir, []string{"c"}, tabular.Options{Format: "xlsx"})
	var ie *record.InvalidError
	if !errors.As(err, &ie) || ie.Path != "format" {
		t.Errorf("format xlsx: %v", err)
	}
	_, err = tabular.Export(t.Context(), s, dir, []string{"no/such"}, tabular.Options{})
	if !errors.Is(err, record.ErrInvalid) {
		t.Errorf("bad collection: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left after the errors: %v", entries)
	}
}

func ExampleExport() {
	ctx := context.Background()
	s, _ := record.Open(ctx, "mem://example-tabular")
	defer s.Close(ctx)
	rec, _ := s.Create(ctx, "Nov-25-2026", record.WithID("run-1"), record.WithoutHost())
	rec.Update(ctx, map[string]any{"lr": 0.1, "opt": map[string]any{"name": "adam"}})
	rec.Log(0, record.Metrics{"loss": 0.9})
	rec.Log(1, record.Metrics{"loss": math.NaN()})
	rec.Close(ctx, nil)

	dir, _ := os.MkdirTemp("", "tabular")
	defer os.RemoveAll(dir)
	rep, err := tabular.Export(ctx, s, dir, []string{"Nov-25-2026"}, tabular.Options{Format: tabular.CSV})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Runs, "runs,", rep.Points, "points")
	_, points := tabular.Files(dir, tabular.CSV)
	raw, _ := os.ReadFile(points)
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Split(line, ",")
		fmt.Println(strings.Join(f[:5], ","))
	}
	// Output:
	// 1 runs, 2 points
	// collection,id,metric,step,value
	// Nov-25-2026,run-1,loss,0,0.9
	// Nov-25-2026,run-1,loss,1,NaN
}

// TestExportCanceled: an export stopped by its context returns the
// context's error and leaves neither tables nor temporary files.
func TestExportCanceled(t *testing.T) {
	s := open(t, "sqlite://"+filepath.Join(t.TempDir(), "records.db"))
	sd := seed(t, s)
	for _, f := range []tabular.Format{tabular.Parquet, tabular.CSV} {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		_, err := tabular.Export(ctx, s, dir, []string{sd.coll1, sd.coll2}, tabular.Options{Format: f, Progress: func(tabular.Report) { cancel() }})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", f, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: files left after the cancel: %v", f, entries)
		}
	}
}
