package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recordlab/go-record/record"
)

// bar draws a progress bar on stderr when stderr is a terminal.
type bar struct {
	e        *env
	on       bool
	label    string
	total, n int
	drawn    time.Time
}

func (e *env) progress(label string, total int) *bar {
	return &bar{e: e, on: isTerminal(e.stderr), label: label, total: total}
}

// countedProgress is a progress bar over the records of coll that satisfy
// opts, counted first (ids only) when the bar is drawn at all.
func (e *env) countedProgress(label string, s *record.Store, coll string, opts []record.ListOption) (*bar, error) {
	b := e.progress(label, 0)
	if !b.on {
		return b, nil
	}
	n, err := e.count(s, coll, opts)
	b.total = n
	return b, err
}

// count returns the number of records of coll that satisfy opts, reading
// their ids only.
func (e *env) count(s *record.Store, coll string, opts []record.ListOption) (int, error) {
	n := 0
	for _, err := range s.List(e.ctx, coll, append(slices.Clip(opts), record.Fields("id"))...) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

func (b *bar) add(n int) { b.set(b.n + n) }

// set moves the bar to n records.
func (b *bar) set(n int) {
	b.n = n
	if b.on && time.Since(b.drawn) > 100*time.Millisecond {
		b.draw()
	}
}

func (b *bar) draw() {
	b.drawn = time.Now()
	if b.total <= 0 {
		fmt.Fprintf(b.e.stderr, "\r%s  %d records", b.label, b.n)
		return
	}
	const width = 30
	full := min(width, b.n*width/b.total)
	fmt.Fprintf(b.e.stderr, "\r%s  [%s%s] %d/%d", b.label, strings.Repeat("=", full), strings.Repeat(" ", width-full), b.n, b.total)
}

// done draws the final state and ends the line.
func (b *bar) done() {
	if !b.on {
		return
	}
	b.on = false
	b.draw()
	fmt.Fprintln(b.e.stderr)
}
