package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

// sweep writes 3 learning rates x 3 seeds logging loss, a run with NaN
// losses, and a crashed run, each with a hostile note.
func sweep(t *testing.T, dsn string) {
	t.Helper()
	s := open(t, dsn)
	ctx := t.Context()
	for _, lr := range []float64{0.1, 0.01, 0.001} {
		for seed := range 3 {
			rec, err := s.Create(ctx, "sweep", record.WithID(fmt.Sprintf("lr%g-s%d", lr, seed)), record.WithSeed(int64(seed)), record.WithoutHost())
			if err != nil {
				t.Fatal(err)
			}
			if err := rec.Update(ctx, map[string]any{"lr": lr, "note": "<script>x</script> | \"q\" \\ \n"}); err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				v := 1/(1+lr*float64(i)*10) + float64(seed)/20
				if lr == 0.01 && seed == 2 && i > 30 {
					v = math.NaN()
				}
				rec.Log(int64(i), record.Metrics{"loss": v})
			}
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	line := `{"id":"crashed","doc":{"lr":0.1,"status":"running","alive_until":{"$time":"2020-01-01T00:01:00.000Z"}}}` + "\n"
	if _, err := s.Import(ctx, "sweep", strings.NewReader(line)); err != nil {
		t.Fatal(err)
	}
}

// TestPlotGroupsCLI draws group means with bands and overlays runs.
func TestPlotGroupsCLI(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "records.db")
	sweep(t, dsn)
	file := filepath.Join(dir, "g.png")
	ok(t, "--dsn", dsn, "plot", "sweep", "--group-by", "lr", "--metric", "loss", "-o", file, "--width", "700", "--height", "400")
	img := decode(t, file)
	checkImage(t, img, 700, 400)
	for i := range 3 { // one color per group, a line across the chart
		if n, cols := count(img, plot.Palette[i].(color.NRGBA)); n < 100 || cols < 300 {
			t.Errorf("group %d: %d pixels in %d columns", i, n, cols)
		}
	}
	svg := filepath.Join(dir, "g.svg")
	ok(t, "--dsn", dsn, "plot", "sweep", "--group-by", "lr", "--metric", "loss", "--where", "lr>=0.01", "-o", svg)
	b, _ := os.ReadFile(svg)
	for _, want := range []string{"lr=0.01 (n=3, 9 NaN/Inf skipped)", "lr=0.1 (n=3)"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("legend lacks %q", want)
		}
	}
	if strings.Contains(string(b), "lr=0.001") {
		t.Error("--where did not filter the groups")
	}
	over := filepath.Join(dir, "o.svg")
	ok(t, "--dsn", dsn, "plot", "sweep", "lr0.1-s0", "lr0.001-s1", "--metric", "loss", "-o", over)
	b, _ = os.ReadFile(over)
	for _, want := range []string{"lr0.1-s0 loss", "lr0.001-s1 loss"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("overlay legend lacks %q", want)
		}
	}
	for _, args := range [][]string{
		{"plot", "sweep", "lr0.1-s0", "--group-by", "lr", "--metric", "loss", "-o", file},
		{"plot", "sweep", "--group-by", "lr", "-o", file},
		{"plot", "sweep", "--group-by", "a..b", "--metric", "loss", "-o", file},
	} {
		if _, _, code := cli(t, "", append([]string{"--dsn", dsn}, args...)...); code != exitUsage {
			t.Errorf("record %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
	if _, _, code := cli(t, "", "--dsn", dsn, "plot", "sweep", "--group-by", "lr", "--metric", "nope", "-o", file); code != exitNotFound {
		t.Errorf("a metric no run has: exit %d, want %d", code, exitNotFound)
	}
}

// TestReportCLI writes the Markdown and HTML reports of the sweep.
func TestReportCLI(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + filepath.Join(dir, "records.db")
	sweep(t, dsn)
	md := filepath.Join(dir, "report.md")
	ok(t, "--dsn", dsn, "report", "sweep", "--group-by", "lr", "-o", md)
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"# Reproducibility report: sweep", ". 10 runs, configurations by lr.", "| crashed | 1 |", "| lr | 0.001, 0.01, 0.1 | 3 |",
		"![loss](report-loss.png)", "1 NaN/Inf", "1 missing"} {
		if !strings.Contains(text, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(text, "<script>") {
		t.Error("report.md holds <script>")
	}
	if _, err := os.Stat(filepath.Join(dir, "report-loss.png")); err != nil {
		t.Error(err)
	}
	html := filepath.Join(dir, "report.html")
	ok(t, "--dsn", dsn, "report", "sweep", "-o", html, "--metric", "loss", "--where", "lr>=0.01")
	b, _ = os.ReadFile(html)
	if !strings.Contains(string(b), "data:image/svg&#43;xml;base64,") || strings.Contains(string(b), "<script>") || strings.Contains(string(b), "lr=0.001") {
		t.Error("report.html: no inline curve, unescaped markup, or a run --where left out")
	}
	for _, args := range [][]string{
		{"report", "sweep"},
		{"report", "sweep", "-o", "r.txt"},
		{"report", "sweep", "--group-by", "a..b", "-o", md},
		{"report", "sweep", "--where", "lr ?? 1", "-o", md},
	} {
		if _, _, code := cli(t, "", append([]string{"--dsn", dsn}, args...)...); code != exitUsage {
			t.Errorf("record %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
	if _, _, code := cli(t, "", "--dsn", dsn, "report", "nope", "-o", md); code != exitNotFound {
		t.Errorf("report of a missing collection: exit %d, want %d", code, exitNotFound)
	}
}
