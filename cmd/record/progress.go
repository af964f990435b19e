package main

import (
	"fmt"
	"strings"
	"time"
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

func (b *bar) add(n int) {
	b.n += n
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
