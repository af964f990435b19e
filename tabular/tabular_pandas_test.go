package tabular_test

import (
	"encoding/json"
	"math"
	"os/exec"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/tabular"
)

// pandasScript reads the two CSV tables with pandas and prints, as JSON,
// the row counts, the dtypes, every point (floats as the hex of their
// bits) and the cells of the runs table (floats as bits, NaN as "nan").
const pandasScript = `
import json, struct, sys
import pandas as pd

def bits(x):
    if isinstance(x, float):
        return "%016x" % struct.unpack(">Q", struct.pack(">d", x))[0]
    return x

runs = pd.read_csv(sys.argv[1], float_precision="round_trip")
points = pd.read_csv(sys.argv[2], float_precision="round_trip")
out = {
    "runs": len(runs), "points": len(points),
    "runs_dtypes": {c: str(t) for c, t in runs.dtypes.items()},
    "points_dtypes": {c: str(t) for c, t in points.dtypes.items()},
    "metric": points["metric"].tolist(),
    "step": [int(s) for s in points["step"]],
    "value": [bits(float(v)) for v in points["value"]],
    "cells": {r["id"]: {c: bits(v) if not isinstance(v, bool) else v for c, v in r.items()} for r in runs.to_dict("records")},
}
print(json.dumps(out))
`

// pandasPython returns a python3 that imports pandas, or skips the test.
func pandasPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import pandas").Run() == nil {
			return py
		}
	}
	t.Skip("pandas is not installed: no python3 on PATH or /usr/bin/python3 imports it (Debian: apt-get install python3-pandas)")
	return ""
}

// TestExportCSVPandas reads the CSV tables with pandas' read_csv: row
// counts, dtypes, every point value bit for bit (NaN as a NaN, ±Inf, -0,
// ±MaxFloat64), the hostile metric name and string, and what pandas makes
// of an empty string ("" is NaN) and of the string "NaN" (NaN too: pass
// keep_default_na=False to keep them).
func TestExportCSVPandas(t *testing.T) {
	py := pandasPython(t)
	s := open(t, "sqlite://"+t.TempDir()+"/records.db")
	sd := seed(t, s)
	dir := t.TempDir()
	if _, err := tabular.Export(t.Context(), s, dir, []string{sd.coll1, sd.coll2}, tabular.Options{Format: tabular.CSV}); err != nil {
		t.Fatal(err)
	}
	runs, points := tabular.Files(dir, tabular.CSV)
	out, err := exec.CommandContext(t.Context(), py, "-c", pandasScript, runs, points).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pandas: %v\n%s", err, stderr)
	}
	var got struct {
		Runs, Points int
		RunsDtypes   map[string]string `json:"runs_dtypes"`
		PointsDtypes map[string]string `json:"points_dtypes"`
		Metric       []string
		Step         []int64
		Value        []string
		Cells        map[string]map[string]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("pandas output: %v\n%s", err, out)
	}
	// The expected points in export order: coll1 r1 (loss, then the odd
	// metric, by name), r2, then coll2 r4.
	type key = [3]string
	order := []key{{sd.coll1, "r1", metricName}, {sd.coll1, "r1", "loss"}, {sd.coll1, "r2", "loss"}, {sd.coll2, "r4", "loss"}}
	var wantMetric []string
	var wantStep []int64
	var wantValue []float64
	for _, k := range order {
		for i, v := range sd.points[k] {
			wantMetric = append(wantMetric, k[2])
			wantStep = append(wantStep, int64(i))
			wantValue = append(wantValue, v)
		}
	}
	if got.Points != len(wantValue) || got.Runs != 4 {
		t.Errorf("pandas read %d runs and %d points, want 4 and %d", got.Runs, got.Points, len(wantValue))
	}
	if diff := cmp.Diff(map[string]string{"collection": "object", "id": "object", "metric": "object", "step": "int64", "value": "float64", "time": "object"}, got.PointsDtypes); diff != "" {
		t.Errorf("points dtypes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantMetric, got.Metric); diff != "" {
		t.Errorf("metric (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantStep, got.Step); diff != "" {
		t.Errorf("step (-want +got):\n%s", diff)
	}
	var values []float64
	for _, h := range got.Value {
		b, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, math.Float64frombits(b))
	}
	if diff := cmp.Diff(wantValue, values, sameOrNaN); diff != "" {
		t.Errorf("values (-want +pandas):\n%s", diff)
	}

	for col, want := range map[string]string{"lr": "float64", "num": "float64", "x.negzero": "float64", "x.nan": "float64",
		"metrics.loss.last": "float64", "status": "object", "note": "object", "mix": "object", "duration": "float64"} {
		if got.RunsDtypes[col] != want {
			t.Errorf("runs column %q: dtype %s, want %s", col, got.RunsDtypes[col], want)
		}
	}
	fbits := func(f float64) string { return strconv.FormatUint(math.Float64bits(f), 16) }
	pad := func(s string) string {
		for len(s) < 16 {
			s = "0" + s
		}
		return s
	}
	nan := pad(fbits(math.NaN()))
	for _, c := range []struct {
		id, col string
		want    any
	}{
		{"r1", "note", hostile}, // pandas keeps the CRLF
		{"r2", "note", nan},     // "" reads as NaN
		{"r3", "note", nan},     // so does the string "NaN"
		{"r1", "x.negzero", pad(fbits(negZero))},
		{"r1", "x.max", pad(fbits(math.MaxFloat64))},
		{"r1", "x.nmax", pad(fbits(-math.MaxFloat64))},
		{"r1", "x.tiny", pad(fbits(5e-324))},
		{"r1", "x.inf", pad(fbits(math.Inf(1)))},
		{"r1", "x.ninf", pad(fbits(math.Inf(-1)))},
		{"r1", "lr", pad(fbits(0.001))},
		{"r1", "status", "completed"},
		{"r3", "status", "crashed"},
		{"r2", "error", errText},
		{"r1", "models.m0.label", "small, \"quoted\""},
		{"r1", "metrics." + metricName + ".last", nan},
	} {
		got := got.Cells[c.id][c.col]
		if s, ok := got.(string); ok && len(s) == 16 && c.want == nan {
			if b, err := strconv.ParseUint(s, 16, 64); err == nil && math.IsNaN(math.Float64frombits(b)) {
				got = nan
			}
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("pandas %s %q (-want +got):\n%s", c.id, c.col, diff)
		}
	}
}
