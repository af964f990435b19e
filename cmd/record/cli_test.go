package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
)

// TestOutput checks ls, show and diff against golden files; every backend
// must print the same bytes.
func TestOutput(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"collections", []string{"collections"}},
		{"ls", []string{"ls", coll}},
		{"ls_where", []string{"ls", coll, "--where", "lr<0.05", "--where", "metrics.loss.last<0.3"}},
		{"ls_sort", []string{"ls", "--sort", "-metrics.loss.min", "--limit", "2", coll}},
		{"ls_json", []string{"ls", coll, "--where", "status=completed", "--json"}},
		{"show", []string{"show", coll, "run-a"}},
		{"show_exact", []string{"show", coll, "run-c", "--path", "exact"}},
		{"show_path", []string{"show", coll, "run-b", "--path", "models.model_1"}},
		{"diff", []string{"diff", coll, "run-a", "run-b"}},
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			seed(t, open(t, dsn))
			for _, c := range cases {
				out := ok(t, append([]string{"--dsn", dsn}, c.args...)...)
				golden(t, c.golden, out)
			}
		})
	}
}

// TestLsOrder checks that ls --sort and --limit, with and without --where,
// give the store's order on every backend.
func TestLsOrder(t *testing.T) {
	cases := []struct {
		args []string
		want []string // ids, in order
	}{
		{[]string{"--sort", "-created", "--limit", "2"}, []string{"run-c", "run-b"}},
		{[]string{"--sort", "lr", "--where", "epochs=10", "--limit", "1"}, []string{"run-a"}},
		{[]string{"--sort", "optimizer"}, []string{"run-a", "run-b", "run-c"}}, // run-c has none: last
		{[]string{"--sort", "-optimizer"}, []string{"run-b", "run-a", "run-c"}},
		{[]string{"--sort", "no.such.path", "--limit", "2"}, []string{"run-a", "run-b"}},
		{[]string{"--limit", "1"}, []string{"run-a"}},
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			seed(t, open(t, dsn))
			for i, c := range cases {
				if i == len(cases)/2 {
					// The same answers with indexes on the sorted paths.
					out := ok(t, "--dsn", dsn, "index", coll, "lr", "optimizer", "created")
					if strings.Count(out, "indexed ") != 3 {
						t.Fatalf("index printed %q", out)
					}
					ok(t, "--dsn", dsn, "index", coll, "lr") // idempotent
				}
				out := ok(t, append([]string{"--dsn", dsn, "ls", coll, "--json"}, c.args...)...)
				var got []string
				for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
					doc, err := record.UnmarshalDoc([]byte(line))
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, doc["id"].(string))
				}
				if strings.Join(got, " ") != strings.Join(c.want, " ") {
					t.Errorf("ls %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
				}
			}
		})
	}
}

// TestDSNEnv checks that RECORD_DSN names the store when --dsn does not,
// and that --dsn after the command works too.
func TestDSNEnv(t *testing.T) {
	dsn := "mem://" + unique("env")
	seed(t, open(t, dsn))
	t.Setenv("RECORD_DSN", dsn)
	if got := ok(t, "collections"); got != coll+"\n" {
		t.Errorf("collections with RECORD_DSN = %q, want %q", got, coll+"\n")
	}
	t.Setenv("RECORD_DSN", "mem://"+unique("empty"))
	if got := ok(t, "collections", "--dsn", dsn); got != coll+"\n" {
		t.Errorf("collections --dsn = %q, want %q", got, coll+"\n")
	}
}

func TestPlot(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "records.db")
	seed(t, open(t, dsn))
	red, blue := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}

	t.Run("models", func(t *testing.T) {
		file := filepath.Join(dir, "a.png")
		ok(t, "--dsn", dsn, "plot", coll, "run-a", "-o", file)
		img := decode(t, file)
		checkImage(t, img, 1000, 600)
		// One line per model, in the model's own color, across the epochs.
		for _, c := range []color.NRGBA{red, blue} {
			n, cols := count(img, c)
			if n < 300 || cols < 600 {
				t.Errorf("color %v: %d pixels in %d columns, want a line across the chart", c, n, cols)
			}
		}
	})
	t.Run("nan gaps", func(t *testing.T) {
		file := filepath.Join(dir, "b.png")
		ok(t, "--dsn", dsn, "plot", coll, "run-b", "-o", file, "--width", "800", "--height", "500")
		img := decode(t, file)
		checkImage(t, img, 800, 500)
		n, cols := count(img, red)
		if n < 200 || cols < 300 {
			t.Errorf("model_0 with gaps: %d red pixels in %d columns", n, cols)
		}
		if n, _ := count(img, blue); n < 50 {
			t.Errorf("model_1 (3 points, then NaN): %d blue pixels", n)
		}
	})
	t.Run("series", func(t *testing.T) {
		// run-c has no models: every metric series against its steps.
		out := ok(t, "--dsn", dsn, "plot", coll, "run-c", "-o", "-")
		img, err := png.Decode(strings.NewReader(out))
		if err != nil {
			t.Fatalf("plot -o - wrote no PNG: %v", err)
		}
		checkImage(t, img, 1000, 600)
	})
	t.Run("all records svg", func(t *testing.T) {
		file := filepath.Join(dir, "all.svg")
		ok(t, "--dsn", dsn, "plot", coll, "--series", "models.*.losses", "--series", "loss", "-o", file)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<svg", "run-a small (3 units)", "run-b big (8 units)", "run-c loss", "epoch / step"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("svg lacks %q", want)
			}
		}
	})
	t.Run("where", func(t *testing.T) {
		file := filepath.Join(dir, "w.png")
		ok(t, "--dsn", dsn, "plot", coll, "--where", "status=failed", "-o", file)
		img := decode(t, file)
		checkImage(t, img, 1000, 600)
	})
}

func decode(t *testing.T, file string) image.Image {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	return img
}

// checkImage checks the size and that the image is not blank.
func checkImage(t *testing.T, img image.Image, w, h int) {
	t.Helper()
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	ink := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	if ink < w*h/100 {
		t.Errorf("image is blank: %d of %d pixels not white", ink, w*h)
	}
}

// count returns how many pixels have exactly color c, and in how many columns.
func count(img image.Image, c color.NRGBA) (n, cols int) {
	b := img.Bounds()
	for x := b.Min.X; x < b.Max.X; x++ {
		seen := false
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA) == c {
				n++
				seen = true
			}
		}
		if seen {
			cols++
		}
	}
	return n, cols
}

// TestExportImport checks that export -> import -> export gives the same
// bytes, that importing again changes nothing, and that a record stored
// with other content is a conflict unless --overwrite.
func TestExportImport(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			src := "sqlite://" + filepath.Join(t.TempDir(), "src.db")
			seed(t, open(t, src))
			first := ok(t, "--dsn", src, "export", coll)
			if n := strings.Count(first, "\n"); n != 3 {
				t.Fatalf("export wrote %d lines, want 3", n)
			}
			for _, want := range []string{`"$float":"NaN"`, `"$float":"-0"`, `"$time":"2026-01-02T02:04:05.006Z"`, `"ten":10.0`, `"max_int":9223372036854775807`, `"series":{"acc":{"steps":[0,1,`} {
				if !strings.Contains(first, want) {
					t.Errorf("export lacks %s", want)
				}
			}
			dst := st.dsn(t)
			open(t, dst)
			for range 2 { // the second import finds everything in place
				if out, errOut, code := cli(t, first, "--dsn", dst, "import", coll); code != 0 || out != "" || errOut != "" {
					t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errOut)
				}
				if second := ok(t, "--dsn", dst, "export", coll); second != first {
					t.Fatalf("export after import differs:\nfirst:  %.400s\nsecond: %.400s", first, second)
				}
			}

			// Another document under an existing id: a conflict, left unchanged.
			changed := strings.Replace(first, `"optimizer":"adam"`, `"optimizer":"adamw"`, 1)
			out, errOut, code := cli(t, changed, "--dsn", dst, "import", coll)
			if code != exitConflict || out != "" || !oneLine(errOut) || !strings.Contains(errOut, coll+"/run-a") {
				t.Fatalf("conflicting import: exit %d, stdout %q, stderr %q; want exit %d and one line naming run-a", code, out, errOut, exitConflict)
			}
			if got := ok(t, "--dsn", dst, "export", coll); got != first {
				t.Fatal("a conflicting import changed the store")
			}
			if _, errOut, code := cli(t, changed, "--dsn", dst, "import", "--overwrite", coll); code != 0 {
				t.Fatalf("import --overwrite: exit %d, stderr %q", code, errOut)
			}
			if got := ok(t, "--dsn", dst, "export", coll); got != changed {
				t.Fatal("export after import --overwrite differs from its input")
			}
		})
	}
}

// TestImportResumes checks that an import completes series that an
// interrupted earlier import left half written.
func TestImportResumes(t *testing.T) {
	src := "mem://" + unique("src")
	seed(t, open(t, src))
	lines := ok(t, "--dsn", src, "export", coll)
	first := strings.SplitAfter(lines, "\n")[0]

	// What an import stopped half way leaves: the document, 5 points of
	// loss and none of acc.
	top, err := record.UnmarshalDoc([]byte(first))
	if err != nil {
		t.Fatal(err)
	}
	series := top["series"].(map[string]any)
	loss := series["loss"].(map[string]any)
	for k, v := range loss {
		loss[k] = v.([]any)[:5]
	}
	delete(series, "acc")
	half, err := record.MarshalValue(top)
	if err != nil {
		t.Fatal(err)
	}
	dst := "mem://" + unique("dst")
	s := open(t, dst)
	if _, err := s.Import(t.Context(), coll, bytes.NewReader(half)); err != nil {
		t.Fatal(err)
	}

	if _, errOut, code := cli(t, lines, "--dsn", dst, "import", "-v", coll); code != 0 || errOut != "imported 3 records: 2 added, 0 unchanged, 1 completed, 0 replaced, 0 conflicting\n" {
		t.Fatalf("import: exit %d, stderr %q", code, errOut)
	}
	if got := ok(t, "--dsn", dst, "export", coll); got != lines {
		t.Fatalf("import did not complete the half-written record:\n%s\n%s", got, lines)
	}
}

// TestCopy copies between backends and compares every document and every
// series point bit for bit.
func TestCopy(t *testing.T) {
	for _, st := range stores() {
		t.Run("sqlite to "+st.name, func(t *testing.T) {
			src := "sqlite://" + filepath.Join(t.TempDir(), "src.db")
			s := open(t, src)
			seed(t, s)
			dst := st.dsn(t)
			d := open(t, dst)
			for range 2 { // copying again is a no-op
				out, errOut, code := cli(t, "", "copy", "--from", src, "--to", dst)
				if code != 0 || out != "" || errOut != "" {
					t.Fatalf("copy: exit %d, stdout %q, stderr %q", code, out, errOut)
				}
			}
			want, err := s.ListAll(t.Context(), coll)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				g, err := d.Get(t.Context(), coll, w.ID())
				if err != nil {
					t.Fatal(err)
				}
				if diff := backendtest.Diff(w.Doc(), g.Doc()); diff != "" {
					t.Errorf("%s differs after copy:\n%s", w.ID(), diff)
				}
				for _, name := range w.MetricNames() {
					ws, err := w.LoadSeries(t.Context(), name)
					if err != nil {
						t.Fatal(err)
					}
					gs, err := g.LoadSeries(t.Context(), name)
					if err != nil {
						t.Fatal(err)
					}
					wv, gv := seriesValue(ws.Steps, ws.Values, ws.Times), seriesValue(gs.Steps, gs.Values, gs.Times)
					if diff := backendtest.Diff(wv, gv); diff != "" {
						t.Errorf("series %s of %s differs after copy:\n%s", name, w.ID(), diff)
					}
				}
			}
			// The copy exports to the same bytes as the original.
			if a, b := ok(t, "--dsn", src, "export", coll), ok(t, "--dsn", dst, "export", coll); a != b {
				t.Error("export of the copy differs from export of the original")
			}
		})
	}
}

func seriesValue[T any](steps []int64, values []float64, times []T) []any {
	out := make([]any, len(steps))
	for i := range steps {
		out[i] = []any{steps[i], values[i], any(times[i])}
	}
	return out
}

func oneLine(s string) bool {
	return strings.HasPrefix(s, "record: ") && strings.Count(s, "\n") == 1 && strings.HasSuffix(s, "\n")
}

// TestErrors checks the exit status and the one line on stderr of bad
// command lines and missing records.
func TestErrors(t *testing.T) {
	dsn := "mem://" + unique("err")
	seed(t, open(t, dsn))
	cases := []struct {
		name string
		args []string
		code int
		want string // in the message
	}{
		{"no command", nil, exitUsage, "missing command"},
		{"unknown command", []string{"lst"}, exitUsage, `unknown command "lst"`},
		{"unknown flag", []string{"ls", "--bogus", coll}, exitUsage, "bogus"},
		{"missing collection arg", []string{"ls"}, exitUsage, "missing COLLECTION"},
		{"missing id", []string{"show", coll}, exitUsage, "missing ID"},
		{"too many", []string{"show", coll, "run-a", "run-b"}, exitUsage, "too many arguments"},
		{"bad where", []string{"ls", coll, "--where", "lr~0.1"}, exitUsage, "bad --where"},
		{"bad collection", []string{"ls", "no/such"}, exitUsage, "bad collection name"},
		{"bad id", []string{"show", coll, "a b"}, exitUsage, "bad record id"},
		{"plot without -o", []string{"plot", coll}, exitUsage, "missing -o"},
		{"plot bad format", []string{"plot", coll, "-o", "x.jpg"}, exitUsage, "bad -o"},
		{"copy without --to", []string{"copy"}, exitUsage, "missing --to"},
		{"drop without terminal", []string{"drop", coll}, exitUsage, "--yes"},
		{"missing record", []string{"show", coll, "run-z"}, exitNotFound, "run-z"},
		{"missing path", []string{"show", coll, "run-a", "--path", "models.model_9"}, exitNotFound, "models.model_9"},
		{"missing collection", []string{"ls", "Dec-01-2026"}, exitNotFound, `no collection "Dec-01-2026"`},
		{"diff missing", []string{"diff", coll, "run-a", "run-z"}, exitNotFound, "run-z"},
		{"rm missing", []string{"rm", coll, "run-z"}, exitNotFound, "run-z"},
		{"plot missing", []string{"plot", coll, "run-z", "-o", filepath.Join(t.TempDir(), "x.png")}, exitNotFound, "run-z"},
		{"plot missing series", []string{"plot", coll, "run-a", "--series", "nope", "-o", filepath.Join(t.TempDir(), "x.png")}, exitNotFound, "nope"},
		{"drop missing", []string{"drop", "--yes", "Dec-01-2026"}, exitNotFound, "Dec-01-2026"},
		{"export missing", []string{"export", "Dec-01-2026"}, exitNotFound, "Dec-01-2026"},
		{"unknown scheme", []string{"--dsn", "foo://x", "collections"}, exitError, "unknown scheme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if len(args) == 0 || args[0] != "--dsn" {
				args = append([]string{"--dsn", dsn}, args...)
			}
			if c.name == "no command" {
				args = []string{"--dsn", dsn}
			}
			out, errOut, code := cli(t, "", args...)
			if code != c.code || out != "" || !oneLine(errOut) || !strings.Contains(errOut, c.want) {
				t.Errorf("record %s: exit %d, stdout %q, stderr %q; want exit %d and one line with %q",
					strings.Join(args, " "), code, out, errOut, c.code, c.want)
			}
		})
	}
	t.Run("bad import", func(t *testing.T) {
		_, errOut, code := cli(t, "{\"id\":\"x\",\"doc\":{}}\nnot json\n", "--dsn", dsn, "import", "Other")
		if code != exitError || !oneLine(errOut) || !strings.Contains(errOut, "line 2") {
			t.Errorf("import of bad JSON: exit %d, stderr %q", code, errOut)
		}
	})
}

// TestPasswordHidden checks that no message shows a DSN password.
func TestPasswordHidden(t *testing.T) {
	for _, args := range [][]string{
		{"--dsn", "postgres://me:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=1", "collections"},
		{"copy", "--from", "mem://" + unique("x"), "--to", "postgres://me:s3cr3t-pw@127.0.0.1:1/db?connect_timeout=1&x-bogus=1"},
		{"--dsn", "mongodb://me:s3cr3t-pw@127.0.0.1:1/db?connectTimeoutMS=300&serverSelectionTimeoutMS=300", "ls", coll},
	} {
		_, errOut, code := cli(t, "", args...)
		if code == 0 || strings.Contains(errOut, "s3cr3t") || !oneLine(errOut) {
			t.Errorf("record %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}, {c.name, "-h"}} {
			out, errOut, code := cli(t, "", args...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: record "+c.name) || !strings.Contains(out, "exit status") {
				t.Errorf("record %s: exit %d, stderr %q, stdout %.80q", strings.Join(args, " "), code, errOut, out)
			}
		}
	}
	out, _, code := cli(t, "", "--help")
	if code != 0 || !strings.Contains(out, "commands:") {
		t.Errorf("record --help: exit %d, stdout %q", code, out)
	}
}

func TestRmDrop(t *testing.T) {
	dsn := "mem://" + unique("rm")
	s := open(t, dsn)
	seed(t, s)
	ok(t, "--dsn", dsn, "rm", coll, "run-a", "run-b")
	if got := ok(t, "--dsn", dsn, "ls", coll, "--json"); strings.Count(got, "\n") != 1 {
		t.Fatalf("after rm: %d records, want 1", strings.Count(got, "\n"))
	}
	// A new record under a removed id starts without the old series.
	rec, err := s.Create(t.Context(), coll, record.WithID("run-a"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Get(t.Context(), coll, rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	for sr, err := range snap.Series(t.Context(), "loss") {
		t.Errorf("series of a removed record: %d points, %v", len(sr), err)
	}
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), coll, "run-a"); err != nil {
		t.Fatal(err)
	}

	old := isTerminal
	isTerminal = func(any) bool { return true }
	t.Cleanup(func() { isTerminal = old })
	out, errOut, code := cli(t, "n\n", "--dsn", dsn, "drop", coll)
	if code != exitError || out != "" || !strings.Contains(errOut, "[y/N]") || !strings.Contains(errOut, "cancelled") {
		t.Fatalf("drop answered n: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	ok(t, "--dsn", dsn, "ls", coll)
	out, errOut, code = cli(t, "y\n", "--dsn", dsn, "drop", coll)
	if code != 0 || out != "" || !strings.Contains(errOut, "1 records") {
		t.Fatalf("drop answered y: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := ok(t, "--dsn", dsn, "collections"); got != "" {
		t.Errorf("collections after drop: %q", got)
	}
}

func TestProgressOnTerminal(t *testing.T) {
	src := "mem://" + unique("p")
	seed(t, open(t, src))
	old := isTerminal
	isTerminal = func(any) bool { return true }
	t.Cleanup(func() { isTerminal = old })
	out, errOut, code := cli(t, "", "copy", "--from", src, "--to", "mem://"+unique("q"))
	if code != 0 || out != "" || !strings.Contains(errOut, "copy "+coll+"  [") || !strings.Contains(errOut, "3 added") {
		t.Errorf("copy on a terminal: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestShowIsExact checks that show's JSON reads back to the very values stored.
func TestShowIsExact(t *testing.T) {
	dsn := "mem://" + unique("exact")
	s := open(t, dsn)
	seed(t, s)
	for _, id := range []string{"run-a", "run-b", "run-c"} {
		got, err := record.UnmarshalDoc([]byte(ok(t, "--dsn", dsn, "show", coll, id)))
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Get(t.Context(), coll, id)
		if err != nil {
			t.Fatal(err)
		}
		if d := backendtest.Diff(want.Doc(), got); d != "" {
			t.Errorf("show %s does not read back exactly:\n%s", id, d)
		}
	}
}
