package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// readTable reads a Parquet file with parquet-go: its column names and
// rows, each value by column name.
func readTable(t *testing.T, path string) (names []string, rows []map[string]parquet.Value) {
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
	for _, p := range pf.Schema().Columns() {
		names = append(names, strings.Join(p, "."))
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			m := map[string]parquet.Value{}
			for _, v := range row {
				m[names[v.Column()]] = v.Clone()
			}
			rows = append(rows, m)
		}
		if err != nil {
			break
		}
	}
	return names, rows
}

// TestExportTables runs `record export --format parquet|csv -o DIR` on
// every store and reads the tables back: a run per record with its
// status, params and metric summaries (run-b's last loss is NaN), a point
// per logged point, every value exactly.
func TestExportTables(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			s := open(t, dsn)
			seed(t, s)
			dir := filepath.Join(t.TempDir(), "out")
			ok(t, "--dsn", dsn, "export", coll, "--format", "parquet", "-o", dir)
			names, runs := readTable(t, filepath.Join(dir, "runs.parquet"))
			if len(runs) != 3 {
				t.Fatalf("%d runs, want 3", len(runs))
			}
			for _, c := range []string{"collection", "id", "status", "created", "lr", "epochs", "optimizer", "seed", "models.model_0.label", "metrics.loss.last", "metrics.acc.count"} {
				if !slices.Contains(names, c) {
					t.Errorf("no column %q in %q", c, names)
				}
			}
			if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "host.") }) {
				t.Errorf("host facts without --machine: %q", names)
			}
			byID := map[string]map[string]parquet.Value{}
			for _, r := range runs {
				byID[r["id"].String()] = r
			}
			if got := byID["run-b"]["status"].String(); got != "failed" {
				t.Errorf("run-b status %q", got)
			}
			if got := byID["run-b"]["metrics.loss.last"].Double(); !math.IsNaN(got) {
				t.Errorf("run-b metrics.loss.last = %v, want NaN", got)
			}
			if got := byID["run-a"]["lr"].Double(); got != 0.01 {
				t.Errorf("run-a lr = %v", got)
			}
			if got := byID["run-c"]["exact.neg_zero"].Double(); math.Float64bits(got) != math.Float64bits(math.Copysign(0, -1)) {
				t.Errorf("run-c exact.neg_zero = %v, want -0", got)
			}
			_, points := readTable(t, filepath.Join(dir, "points.parquet"))
			if len(points) != 3*2*20 {
				t.Errorf("%d points, want 120", len(points))
			}
			nans := 0
			for _, p := range points {
				if p["id"].String() == "run-b" && p["metric"].String() == "loss" && math.IsNaN(p["value"].Double()) {
					nans++
				}
			}
			if nans != 7 {
				t.Errorf("run-b has %d NaN loss points, want 7", nans)
			}

			ok(t, "--dsn", dsn, "export", coll, "--format", "csv", "-o", dir, "--machine", "--where", "optimizer=sgd")
			f, err := os.Open(filepath.Join(dir, "runs.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 2 || !slices.Contains(recs[0], "host.hostname") {
				t.Errorf("runs.csv with --machine --where optimizer=sgd: %q", recs)
			}
		})
	}
}

// TestExportTablesUsage: bad flag combinations are usage errors (exit 2),
// a missing collection is "not found" (exit 3), and neither writes a file.
func TestExportTablesUsage(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "records.db")
	s := open(t, dsn)
	seed(t, s)
	dir := filepath.Join(t.TempDir(), "out")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", coll, "--format", "xlsx", "-o", dir}, 2, `bad --format "xlsx"`},
		{[]string{"export", coll, "--format", "parquet"}, 2, "-o DIR"},
		{[]string{"export", coll, coll, "--format", "jsonl"}, 2, "one collection"},
		{[]string{"export", coll, "-o", dir}, 2, "JSON lines go to stdout"},
		{[]string{"export", coll, "bad/name", "--format", "csv", "-o", dir}, 2, "bad collection name"},
		{[]string{"export", coll, "Nope", "--format", "csv", "-o", dir}, 3, `no collection "Nope"`},
	} {
		_, errOut, code := cli(t, "", append([]string{"--dsn", dsn}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("record %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut, c.code, c.msg)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the errors left %s behind (%v)", dir, err)
	}
	// The JSON lines export is as before.
	if out := ok(t, "--dsn", dsn, "export", coll); strings.Count(out, "\n") != 3 {
		t.Errorf("export as JSON lines: %d lines, want 3", strings.Count(out, "\n"))
	}
}

// TestExportTablesCreateNothing: like every reading command, export to
// tables opens the store without creating it: a SQLite file that does not
// exist is "no such store" (exit 3), and neither the file nor DIR appears.
func TestExportTablesCreateNothing(t *testing.T) {
	tmp := t.TempDir()
	db, dir := filepath.Join(tmp, "none.db"), filepath.Join(tmp, "out")
	_, errOut, code := cli(t, "", "--dsn", "sqlite://"+db, "export", coll, "--format", "parquet", "-o", dir)
	if code != 3 {
		t.Errorf("exit %d, stderr %q; want 3", code, errOut)
	}
	for _, p := range []string{db, dir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after the export (%v)", p, err)
		}
	}
}
