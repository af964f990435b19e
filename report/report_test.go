package report_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/recordlab/go-record/backend/memory"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

const coll = "sweep"

var lrs = []float64{0.1, 0.01, 0.001}

// finalLoss is the last loss of the run with lr and seed.
func finalLoss(lr float64, seed int) float64 { return 1/(1+lr*100) + float64(seed)/50 }

// fill writes the sweep: 3 learning rates x 5 seeds, a run of lr=0.01
// whose losses are NaN, a crashed run of lr=0.1 without metrics, and a
// hostile param in every run.
func fill(t *testing.T, s *record.Store) {
	t.Helper()
	ctx := t.Context()
	for _, lr := range lrs {
		for seed := range 5 {
			rec, err := s.Create(ctx, coll, record.WithID(fmt.Sprintf("lr%g-s%d", lr, seed)), record.WithSeed(int64(seed)), record.WithoutHost())
			if err != nil {
				t.Fatal(err)
			}
			if err := rec.Update(ctx, map[string]any{"lr": lr, "batch": 32, "note": "<script>alert(1)</script>|a\nb"}); err != nil {
				t.Fatal(err)
			}
			last := finalLoss(lr, seed)
			for i := range 10 {
				rec.Log(int64(i), record.Metrics{"loss": last + float64(9-i)/10})
			}
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec, err := s.Create(ctx, coll, record.WithID("nan"), record.WithSeed(7), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	rec.Update(ctx, map[string]any{"lr": 0.01, "batch": 32, "note": "<script>alert(1)</script>|a\nb"})
	for i := range 10 {
		rec.Log(int64(i), record.Metrics{"loss": math.NaN()})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	line := `{"id":"crashed","doc":{"lr":0.1,"batch":32,"note":"<script>alert(1)</script>|a\nb","status":"running",` +
		`"created":{"$time":"2020-01-01T00:00:00.000Z"},"alive_until":{"$time":"2020-01-01T00:01:00.000Z"}}}` + "\n"
	if _, err := s.Import(ctx, coll, strings.NewReader(line)); err != nil {
		t.Fatal(err)
	}
}

func stores(t *testing.T) map[string]string {
	return map[string]string{"mem": "mem://", "sqlite": "sqlite://" + filepath.Join(t.TempDir(), "r.db")}
}

// TestReportSweep builds the report of the sweep on each backend: the
// configurations' numbers equal a reference computed here, the statuses
// and runtime add up, and both renderings carry them.
func TestReportSweep(t *testing.T) {
	for name, dsn := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, err := record.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			fill(t, s)
			r, err := report.Build(t.Context(), s, coll, report.Options{Curves: true, DSN: "postgres://bob:s3cret@db/x"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Runs != 17 || strings.Join(r.GroupBy, ",") != "lr" || len(r.Configs) != 3 {
				t.Fatalf("%d runs, group by %v, %d configs; want 17, lr, 3", r.Runs, r.GroupBy, len(r.Configs))
			}
			if want := []string{"metrics.loss.last", "metrics.loss.min"}; fmt.Sprint(r.Columns) != fmt.Sprint(want) {
				t.Errorf("columns %v, want %v", r.Columns, want)
			}
			// Configs come in lr order: 0.001, 0.01, 0.1.
			for i, lr := range []float64{0.001, 0.01, 0.1} {
				c := r.Configs[i]
				var vals []float64
				for seed := range 5 {
					vals = append(vals, finalLoss(lr, seed))
				}
				mean, sd := meanStd(vals)
				st := c.Stats[0]
				wantRuns, nonFinite, missing := 5, 0, 0
				switch lr {
				case 0.01:
					wantRuns, nonFinite = 6, 1
				case 0.1:
					wantRuns, missing = 6, 1
				}
				if c.Label != fmt.Sprintf("lr=%g", lr) || c.Runs != wantRuns || st.N != 5 || st.NonFinite != nonFinite || st.Missing != missing ||
					!near(st.Mean, mean) || !near(st.Std, sd) || !near(st.Stderr, sd/math.Sqrt(5)) {
					t.Errorf("%s: runs %d stat %+v; want lr=%g runs %d mean %v std %v", c.Label, c.Runs, st, lr, wantRuns, mean, sd)
				}
				if len(c.Seeds) < 5 || c.Best[0] != fmt.Sprintf("lr%g-s0", lr) {
					t.Errorf("%s: seeds %v best %q", c.Label, c.Seeds, c.Best[0])
				}
				if !near(c.Stats[1].Mean, mean) { // the last loss is the min
					t.Errorf("%s: min mean %v, want %v", c.Label, c.Stats[1].Mean, mean)
				}
			}
			status := fmt.Sprint(r.Statuses)
			if !strings.Contains(status, "{completed 16}") || !strings.Contains(status, "{crashed 1}") {
				t.Errorf("statuses %v", status)
			}
			var total float64
			for _, row := range r.RunRows {
				if !math.IsNaN(row.Seconds) {
					total += row.Seconds
				}
			}
			if r.Timed != 16 || !near(r.TotalSeconds, total) {
				t.Errorf("runtime %v over %d runs, want %v over 16", r.TotalSeconds, r.Timed, total)
			}
			if len(r.Varying) != 2 || r.Varying[0].Path != "lr" || r.Varying[0].Values != "0.001, 0.01, 0.1" {
				t.Errorf("varying %+v", r.Varying)
			}
			if len(r.Curves) != 1 || len(r.Curves[0].PNG) < 1000 {
				t.Errorf("%d curves", len(r.Curves))
			}

			dir := t.TempDir()
			var md bytes.Buffer
			if err := r.Markdown(&md, dir, "rep-"); err != nil {
				t.Fatal(err)
			}
			var html bytes.Buffer
			if err := r.HTML(&html); err != nil {
				t.Fatal(err)
			}
			vals := []float64{finalLoss(0.1, 0), finalLoss(0.1, 1), finalLoss(0.1, 2), finalLoss(0.1, 3), finalLoss(0.1, 4)}
			mean, sd := meanStd(vals)
			cell := report.Number(mean) + " ± " + report.Number(sd)
			// The reference row of lr=0.1 under metrics.loss.last.
			wantRow := fmt.Sprintf("| lr=0.1 | %s | %s | 5 | %s .. %s | 1 missing | lr0.1-s0 |", cell, report.Number(sd/math.Sqrt(5)), report.Number(vals[0]), report.Number(vals[4]))
			if !strings.Contains(md.String(), wantRow) {
				t.Errorf("markdown lacks the row %q", wantRow)
			}
			for what, out := range map[string]string{"markdown": md.String(), "html": html.String()} {
				for _, want := range []string{cell, "1 missing", "1 NaN/Inf", "crashed", "lr=0.1", "bob"} {
					if !strings.Contains(out, want) {
						t.Errorf("%s lacks %q", what, want)
					}
				}
				for _, bad := range []string{"s3cret", "<script>", "a\nb"} {
					if strings.Contains(out, bad) {
						t.Errorf("%s holds %q", what, bad)
					}
				}
			}
			if !strings.Contains(md.String(), `| note | "&lt;script&gt;alert(1)&lt;/script&gt;\|a\\nb" |`) {
				t.Error("markdown: the hostile param is not escaped as expected")
			}
			if !strings.Contains(md.String(), "![loss](rep-loss.png)") {
				t.Error("markdown: no curve link")
			}
			if b, err := os.ReadFile(filepath.Join(dir, "rep-loss.png")); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
				t.Errorf("curve file: %v", err)
			}
			if !strings.Contains(html.String(), `src="data:image/svg&#43;xml;base64,PD94bWwg`) {
				t.Error("html: no inline SVG curve")
			}
			// Every table row of the Markdown has as many cells as its
			// header: no value broke out of its cell.
			checkTables(t, md.String())
		})
	}
}

// TestReportGroupByAndWhere groups by two paths and selects with Where.
func TestReportGroupByAndWhere(t *testing.T) {
	s, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	fill(t, s)
	r, err := report.Build(t.Context(), s, coll, report.Options{GroupBy: []string{"lr", "batch"}, Where: []record.ListOption{record.WhereText("lr>=0.01")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Configs) != 2 || r.Configs[0].Label != "lr=0.01, batch=32" || r.Runs != 12 || len(r.Curves) != 0 {
		t.Errorf("%d configs (%v), %d runs, %d curves", len(r.Configs), r.Configs, r.Runs, len(r.Curves))
	}
	if _, err := report.Build(t.Context(), s, "none", report.Options{}); err == nil {
		t.Error("a report of no runs")
	}
}

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":              `a\|b`,
		"x\ny\r":           `x\\u000ay\\u000d`,
		"<b>&":             "&lt;b&gt;&amp;",
		"*_`[]\\":          "\\*\\_\\`\\[\\]\\\\",
		"lr=0.1, plain ok": "lr=0.1, plain ok",
	} {
		if got := report.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func checkTables(t *testing.T, md string) {
	t.Helper()
	cells := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = -1
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cells < 0 {
			cells = n
		} else if n != cells {
			t.Errorf("row with %d bars under a header of %d: %s", n, cells, line)
		}
	}
}

func meanStd(vals []float64) (mean, sd float64) {
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	var ss float64
	for _, v := range vals {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(vals)-1))
}

func near(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-12*max(1, math.Abs(b)) }

// TestReportHostileValues reports runs whose params and metrics hold
// extreme numbers and hostile text: every table keeps its cells, the
// HTML holds no markup from the values, and the numbers print.
func TestReportHostileValues(t *testing.T) {
	s, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	xs := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 5e-324, 0}
	texts := []string{"<script>alert(1)</script>", "a|b", "line\nbreak", `quote " and \ backslash`, "\x00\x01\x1f\x7f", "`code` *bold* [x](y)", "&amp;"}
	for i, x := range xs {
		rec, err := s.Create(t.Context(), "odd", record.WithID(fmt.Sprintf("r%d", i)), record.WithoutHost())
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Update(t.Context(), map[string]any{"x": x, "text": texts[i], "kind": texts[i%2]}); err != nil {
			t.Fatal(err)
		}
		rec.Log(0, record.Metrics{"m": x})
		rec.Log(1, record.Metrics{"m": -x})
		if err := rec.Close(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	r, err := report.Build(t.Context(), s, "odd", report.Options{GroupBy: []string{"kind"}, Curves: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Configs) != 2 || len(r.Curves) != 1 {
		t.Fatalf("%d configs, %d curves", len(r.Configs), len(r.Curves))
	}
	var x report.Param
	for _, p := range r.Varying {
		if p.Path == "x" {
			x = p
		}
	}
	if x.Values != "-Inf .. +Inf and NaN (7 values)" {
		t.Errorf("x ranges over %q", x.Values)
	}
	var md, html bytes.Buffer
	if err := r.Markdown(&md, t.TempDir(), ""); err != nil {
		t.Fatal(err)
	}
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	checkTables(t, md.String())
	for what, out := range map[string]string{"markdown": md.String(), "html": html.String()} {
		for _, bad := range []string{"<script>", "line\nbreak", "\x00", "\x01", "&amp;amp;amp;"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s holds %q", what, bad)
			}
		}
	}
	for _, want := range []string{`a\|b`, `&lt;script&gt;`, "\\`code\\` \\*bold\\* \\[x\\](y)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
