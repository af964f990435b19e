package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

var reportCmd = &command{
	name:    "report",
	args:    "COLLECTION",
	summary: "write a reproducibility report of a collection's runs (Markdown or HTML)",
	help: `
Writes what a machine can answer of the ML Reproducibility Checklist for
the runs that match every --where: the hyperparameters that vary (their
values, or min .. max) and those that are constant, the runs and seeds of
each configuration, mean ± std and stderr of each metric's last value and
of its min (or max, where the metric's goal is max) per configuration,
the best run, the runtime of each run and in total, statuses (crashed and
failed counted), the machines (CPU, GPUs with memory, driver and CUDA
versions, memory, OS), the code version (git commit, dirty) and Go build,
the dependency modules, and the curves (mean ± std per configuration).

--group-by PATH[,PATH...] names what makes a configuration (default:
every param that varies, except seeds). --metric NAME (repeatable) limits
the metrics (default: all). -o FILE.md writes Markdown with the curves as
PNG files beside it (FILE-METRIC.png); -o FILE.html one self-contained
page with the curves inline. --no-curves leaves the curves out.`,
	run: runReport,
}

func runReport(e *env, args []string) error {
	var dsn, out, groupBy string
	var where, metrics strs
	var noCurves bool
	fs := e.flags(&dsn)
	fs.StringVar(&out, "o", "", "write the report to `FILE` (.md or .html)")
	fs.StringVar(&out, "output", "", "same as -o")
	fs.StringVar(&groupBy, "group-by", "", "configurations by the values at `PATHS` (comma-separated)")
	fs.Var(&where, "where", "report only runs where `PATH OP VALUE` holds (repeatable)")
	fs.Var(&metrics, "metric", "report the metric `NAME` (repeatable; default all)")
	fs.BoolVar(&noCurves, "no-curves", false, "leave the curves out")
	pos, err := e.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	coll := pos[0]
	if err := checkColl(coll); err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(out))
	if out == "" || (ext != ".md" && ext != ".html" && ext != ".htm") {
		return usageErrorf("missing or bad -o FILE: want a .md or .html file name")
	}
	var by []string
	if groupBy != "" {
		by = strings.Split(groupBy, ",")
		for _, p := range by {
			if _, err := record.ParsePath(p); err != nil {
				return usageErrorf("bad --group-by path %q", p)
			}
		}
	}
	opts, err := conds(where)
	if err != nil {
		return err
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	if err := e.mustExist(s, coll, dsn); err != nil {
		return err
	}
	rep, err := report.Build(e.ctx, s, coll, report.Options{
		GroupBy: by, Where: opts, Metrics: metrics, DSN: e.storeName(dsn), Curves: !noCurves,
	})
	if err != nil {
		if len(where) > 0 {
			if werr := e.checkWhere(s, coll, where); werr != nil {
				return werr
			}
		}
		return err
	}
	var buf bytes.Buffer
	if ext == ".md" {
		base := strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)) + "-"
		err = rep.Markdown(&buf, filepath.Dir(out), base)
	} else {
		err = rep.HTML(&buf)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
