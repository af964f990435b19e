package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// result is one configuration's measurement and check.
type result struct {
	Backend     string `json:"backend"`
	Mode        string `json:"mode"`
	Writers     int    `json:"writers"`
	Metrics     int    `json:"metrics"`
	StepsPerRun int64  `json:"steps_per_run"`

	Logged int64 `json:"logged"` // points the children logged
	Acked  int64 `json:"acked"`  // points acknowledged by a Flush or Close that returned nil
	Stored int64 `json:"stored"` // points counted in the store

	Seconds   float64 `json:"seconds"`
	PtsPerSec float64 `json:"pts_per_s"`
	Flushes   int     `json:"flushes"`
	FlushP50  float64 `json:"flush_p50_ms"`
	FlushP99  float64 `json:"flush_p99_ms"`
	FlushMax  float64 `json:"flush_max_ms"`
	CloseP99  float64 `json:"close_p99_ms"`
	PeakRSSMB float64 `json:"peak_rss_mb"`  // the largest child's
	ClientCPU float64 `json:"client_cpu_s"` // user+system CPU of all children
	ServerCPU float64 `json:"server_cpu_s"` // of -server-pid and its reaped children (0: not asked)
	Load      string  `json:"load"`         // 1-minute load average before the start

	Errors        map[string]int `json:"errors"` // by class (errorClass)
	Samples       []string       `json:"samples,omitempty"`
	ChildFailures int            `json:"child_failures"`

	Lost       int64 `json:"lost"`        // acknowledged points not stored
	Duplicated int64 `json:"duplicated"`  // points stored more than once
	Extra      int64 `json:"extra"`       // points stored beyond what was logged
	Unexpected int64 `json:"unexpected"`  // points stored for runs no child reported
	SummaryBad int64 `json:"summary_bad"` // metrics whose summary count is not their stored points
	StatusBad  int64 `json:"status_bad"`  // closed runs whose status is not completed
	ValueBad   int64 `json:"value_bad"`   // points read back (-verify) that differ from what was logged
	Verified   int64 `json:"verified"`    // points read back and compared
	SpoolLeft  int   `json:"spool_left"`  // files the library left in its spool
	OK         bool  `json:"ok"`

	runs []runResult
}

func (r *result) addSample(s string) {
	if len(r.Samples) < 5 {
		r.Samples = append(r.Samples, s)
	}
}

// check compares what the children say with what is stored (keyed by
// key(id, metric)) and, for the library, with the summaries.
func (r *result) check(metrics []string, st map[string]stored, sums map[string]summary) {
	seen := map[string]bool{}
	m := int64(len(metrics))
	for _, run := range r.runs {
		r.Logged += run.Logged * m
		r.Acked += run.Acked * m
		statusBad := false
		for _, name := range metrics {
			k := key(run.ID, name)
			seen[k] = true
			s := st[k]
			r.Stored += s.n
			if s.n < run.Acked {
				r.Lost += run.Acked - s.n
			}
			if s.n > run.Logged {
				r.Extra += s.n - run.Logged
			}
			r.Duplicated += s.n - s.distinct
			if sums == nil {
				continue
			}
			sum := sums[k]
			if sum.count != s.n || (!sum.found && s.n > 0) {
				r.SummaryBad++
				r.addSample(fmt.Sprintf("run %s metric %q: summary count %d, stored %d", run.ID, name, sum.count, s.n))
			}
			if run.Closed && sum.status != "completed" {
				statusBad = true
			}
		}
		if statusBad {
			r.StatusBad++
		}
	}
	for k, s := range st {
		if !seen[k] {
			r.Unexpected += s.n
		}
	}
}

// ok reports whether the check passed: nothing lost, duplicated or
// invented, and for the library also no error at all, summaries equal to
// the stored points and an empty spool. The raw driver's errors are
// reported, not judged.
func (r *result) ok() bool {
	pass := r.Lost == 0 && r.Duplicated == 0 && r.Extra == 0 && r.Unexpected == 0 &&
		r.ChildFailures == 0 && r.ValueBad == 0
	if r.Mode == modeLib {
		pass = pass && len(r.Errors) == 0 && r.SummaryBad == 0 && r.StatusBad == 0 && r.SpoolLeft == 0
	}
	return pass
}

// writeTables prints one Markdown table per backend, the library's row
// beside the raw driver's with their ratio.
func writeTables(w io.Writer, results []result, o settings) {
	byBackend := map[string][]result{}
	var order []string
	for _, r := range results {
		if byBackend[r.Backend] == nil {
			order = append(order, r.Backend)
		}
		byBackend[r.Backend] = append(byBackend[r.Backend], r)
	}
	fmt.Fprintf(w, "%d points per configuration, %d metrics, %d runs per process, Flush every %d steps, batch %d\n",
		o.points, o.metrics, o.runs, o.flushEvery, o.batch)
	for _, b := range order {
		fmt.Fprintf(w, "\n### %s\n\n", b)
		fmt.Fprintln(w, "| writers | mode | stored pts | s | pts/s | lib/raw | Flush p50 ms | Flush p99 ms | Flush max ms | Close p99 ms | peak RSS MB/proc | client CPU s | server CPU s | errors | lost | dup | summary≠ | check | load |")
		fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|")
		raw := map[int]float64{}
		for _, r := range byBackend[b] {
			if r.Mode == modeRaw {
				raw[r.Writers] = r.PtsPerSec
			}
		}
		for _, r := range byBackend[b] {
			ratio := ""
			if rp := raw[r.Writers]; r.Mode == modeLib && rp > 0 {
				ratio = fmt.Sprintf("%.2fx", r.PtsPerSec/rp)
			}
			check := "ok"
			if !r.OK {
				check = "FAIL"
			}
			fmt.Fprintf(w, "| %d | %s | %d | %.2f | %.0f | %s | %.1f | %.1f | %.1f | %.1f | %.0f | %.1f | %.1f | %s | %d | %d | %d | %s | %s |\n",
				r.Writers, r.Mode, r.Stored, r.Seconds, r.PtsPerSec, ratio, r.FlushP50, r.FlushP99, r.FlushMax, r.CloseP99,
				r.PeakRSSMB, r.ClientCPU, r.ServerCPU, errorsText(r.Errors), r.Lost, r.Duplicated, r.SummaryBad, check, r.Load)
		}
		for _, r := range byBackend[b] {
			for _, s := range r.Samples {
				fmt.Fprintf(w, "\n- %d writers, %s: %s", r.Writers, r.Mode, s)
			}
		}
		fmt.Fprintln(w)
	}
}

func errorsText(errs map[string]int) string {
	if len(errs) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}
