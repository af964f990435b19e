package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/report"
)

var plotCmd = &command{
	name:    "plot",
	args:    "COLLECTION [ID...]",
	summary: "draw records' losses or metric series as a PNG, SVG or PDF line chart",
	help: `
Without --series it draws, for each record, the losses array of every model
(models.*.losses), one line per model in the model's own color and with its
own label when the record stores them (models.NAME.color as [r, g, b] in
0..1, models.NAME.label), against the epoch. A record without models gets a
line per metric series, read from the store, against its steps.

--series PATH (repeatable) names what to draw instead: a path to an array
of numbers in the record, where '*' matches every key of an object
(models.*.losses, models.model_0.losses), or a metric name (loss,
metrics.loss) for its logged series.

Without IDs it plots the newest --limit records of the collection that
match every --where. Several records are told apart by dash pattern and by
their id in the legend. NaN values are gaps in the line; infinite values
and values beyond 1e300 in magnitude are drawn on the edge of the chart and
counted in the legend. Long series are read in batches and drawn with the
first, last, lowest and highest point of each pixel column, so spikes show.
-o - writes PNG to stdout.

--metric NAME is --series for a logged metric: with several IDs it
overlays their curves. --group-by PATH[,PATH...] (with one --metric, no
IDs) groups the records that match every --where by their values at the
paths (lr, or lr,batch; records that differ only by seed fall in one
group) and draws, per group, the mean over its members at each step with
a band of ± one standard deviation, labelled "lr=0.1 (n=5)". NaN and
infinite points are left out of the mean and counted in the legend.`,
	run: runPlot,
}

func runPlot(e *env, args []string) error {
	var dsn, out, title string
	var series, where strs
	var groupBy string
	var limit, width, height int
	fs := e.flags(&dsn)
	fs.StringVar(&out, "o", "", "write the chart to `FILE` (.png, .svg or .pdf; - for PNG on stdout)")
	fs.StringVar(&out, "output", "", "same as -o")
	fs.Var(&series, "series", "plot the array or metric series at `PATH` (repeatable)")
	fs.Var(&series, "metric", "plot the logged metric `NAME` (repeatable; same as --series)")
	fs.StringVar(&groupBy, "group-by", "", "draw the mean ± std of --metric per group of records with the same values at `PATHS` (comma-separated)")
	fs.Var(&where, "where", "without IDs, plot only records where `PATH OP VALUE` holds (repeatable)")
	fs.IntVar(&limit, "limit", 20, "without IDs, plot at most the newest `N` records")
	fs.StringVar(&title, "title", "", "chart title (default: the collection and id)")
	fs.IntVar(&width, "width", plot.DefaultWidth, "image width in `pixels`")
	fs.IntVar(&height, "height", plot.DefaultHeight, "image height in `pixels`")
	pos, err := e.parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	coll, ids := pos[0], pos[1:]
	if err := checkRefs(coll, ids...); err != nil {
		return err
	}
	if out == "" {
		return usageErrorf("missing -o FILE (.png, .svg or .pdf)")
	}
	if out != "-" {
		if _, err := plot.FormatOf(out); err != nil {
			return usageErrorf("bad -o %q: want a .png, .svg or .pdf file name", out)
		}
	}
	if limit <= 0 || width <= 0 || height <= 0 || width > 20000 || height > 20000 {
		return usageErrorf("bad --limit, --width or --height: want positive numbers (sizes up to 20000)")
	}
	if len(ids) > 0 && len(where) > 0 {
		return usageErrorf("--where selects records only when no IDs are given")
	}
	opts, err := conds(where)
	if err != nil {
		return err
	}
	if groupBy != "" && (len(ids) > 0 || len(series) != 1) {
		return usageErrorf("--group-by wants one --metric and no IDs")
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	if groupBy != "" {
		return plotGroups(e, s, coll, dsn, strings.Split(groupBy, ","), series[0], where, opts, out, title, width, height)
	}
	var snaps []*record.Snapshot
	if len(ids) > 0 {
		for _, id := range ids {
			snap, err := s.Get(e.ctx, coll, id)
			if err != nil {
				return err
			}
			snaps = append(snaps, snap)
		}
	} else {
		// The newest records, asked of the store, then oldest first.
		opts = append(opts, record.NewestFirst(), record.Limit(limit))
		if snaps, err = s.ListAll(e.ctx, coll, opts...); err != nil {
			return err
		}
		slices.Reverse(snaps)
		if len(snaps) == 0 {
			if err := e.mustExist(s, coll, dsn); err != nil {
				return err
			}
			if err := e.checkWhere(s, coll, where); err != nil {
				return err
			}
			return fmt.Errorf("no record of %s matches --where: %w", coll, record.ErrNotFound)
		}
	}
	chart, err := plot.Records(e.ctx, snaps, series...)
	if err != nil {
		return err
	}
	if title != "" {
		chart.Title = title
	}
	chart.Width, chart.Height = width, height
	if out != "-" {
		return chart.Save(out) // written only if the chart renders
	}
	var buf bytes.Buffer
	if err := chart.Render(&buf, plot.PNG); err != nil {
		return err
	}
	_, err = e.stdout.Write(buf.Bytes())
	return err
}

// plotGroups draws the mean ± std curves of a metric over the groups of
// records with the same values at the by paths.
func plotGroups(e *env, s *record.Store, coll, dsn string, by []string, metric string, where []string, opts []record.ListOption, out, title string, width, height int) error {
	for _, p := range by {
		if _, err := record.ParsePath(p); err != nil {
			return usageErrorf("bad --group-by path %q", p)
		}
	}
	groups, err := s.Group(e.ctx, coll, by, nil, opts...)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		if err := e.mustExist(s, coll, dsn); err != nil {
			return err
		}
		if err := e.checkWhere(s, coll, where); err != nil {
			return err
		}
		return fmt.Errorf("no record of %s matches --where: %w", coll, record.ErrNotFound)
	}
	runs := make([]plot.RunGroup, len(groups))
	for i, g := range groups {
		runs[i].Label = report.GroupLabel(by, g.Values)
		for _, id := range g.IDs {
			snap, err := s.Get(e.ctx, coll, id)
			if err != nil {
				return err
			}
			runs[i].Runs = append(runs[i].Runs, snap)
		}
	}
	chart, err := plot.Groups(e.ctx, metric, runs)
	if err != nil {
		return err
	}
	if title != "" {
		chart.Title = title
	}
	chart.Width, chart.Height = width, height
	if out != "-" {
		return chart.Save(out)
	}
	var buf bytes.Buffer
	if err := chart.Render(&buf, plot.PNG); err != nil {
		return err
	}
	_, err = e.stdout.Write(buf.Bytes())
	return err
}
