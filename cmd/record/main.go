package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	_ "github.com/recordlab/go-record/backend/all" // registers every adapter
	"github.com/recordlab/go-record/record"
)

// Exit statuses; see the package documentation.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
	exitConflict = 4
)

// exitGrace is how long a command may take to return after SIGINT or
// SIGTERM cancelled its context before the program exits without it.
const exitGrace = 700 * time.Millisecond

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan int, 1)
	go func() { done <- run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr) }()
	select {
	case code := <-done:
		os.Exit(code)
	case sig := <-sigs:
		cause := &interrupted{sig: sig.(syscall.Signal)}
		cancel(cause)
		select {
		case code := <-done:
			os.Exit(code)
		case <-time.After(exitGrace):
		case <-sigs: // a second signal: do not wait
		}
		// The command did not stop in time: leave without it. Stores
		// stay consistent (SQLite's journal, servers' transactions).
		fmt.Fprintln(os.Stderr, "record: "+cause.Error())
		os.Exit(cause.code())
	}
}

// interrupted is the cause of a context cancelled by a signal. A command
// that ends because of it exits with 128 + the signal's number: 130 for
// SIGINT, 143 for SIGTERM.
type interrupted struct{ sig syscall.Signal }

func (e *interrupted) Error() string { return "interrupted by " + sigName(e.sig) }

func (e *interrupted) code() int { return 128 + int(e.sig) }

// Is makes an interruption match context.Canceled.
func (e *interrupted) Is(target error) bool { return target == context.Canceled }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis of the positional arguments
	summary string // one line
	help    string // what --help adds below the synopsis
	run     func(e *env, args []string) error
}

var commands []*command // filled by init so that help can list them

func init() {
	commands = []*command{
		collectionsCmd, lsCmd, showCmd, diffCmd, compareCmd, plotCmd, reportCmd, serveCmd,
		exportCmd, importCmd, copyCmd, syncCmd, indexCmd, rmCmd, dropCmd,
	}
}

// env is what a command runs with.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	dsn            string // --dsn before the command; "" = $RECORD_DSN, else the default
	cmd            *command
}

// isTerminal reports whether f is a terminal; tests replace it.
var isTerminal = func(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// run is the whole program: it parses args, runs one command and returns
// the exit status. It writes data only to stdout, and messages to stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	top := flag.NewFlagSet("record", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	top.StringVar(&e.dsn, "dsn", "", "")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage())
			return exitOK
		}
		return e.fail(usageErrorf("%v (see record --help)", err))
	}
	rest := top.Args()
	if len(rest) == 0 {
		return e.fail(usageErrorf("missing command (see record --help)"))
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage())
			return exitOK
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands {
		if c.name == name {
			e.cmd = c
			err := c.run(e, rest)
			if errors.Is(err, errHelpShown) {
				return exitOK
			}
			var sig *interrupted
			if errors.As(context.Cause(ctx), &sig) {
				// Whatever the command made of the cancelled context,
				// even when it got to its end (its output may be cut),
				// the signal is what the status reports.
				e.fail(sig)
				return sig.code()
			}
			return e.fail(err)
		}
	}
	return e.fail(usageErrorf("unknown command %q (commands: %s; see record --help)", name, commandNames()))
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func usage() string {
	var b strings.Builder
	b.WriteString("record lists, shows, compares, plots and moves recorded experiments.\n\n")
	b.WriteString("usage: record [--dsn DSN] COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
	}
	b.WriteString(`
The store is --dsn (before or after the command), else $RECORD_DSN, else
sqlite://records.db. "record COMMAND --help" describes a command.

exit status: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 130 interrupted
`)
	return b.String()
}

// fail prints err as one line on stderr and returns its exit status.
// Errors of package record hold no DSN password (it scrubs them), and
// the CLI names stores only through storeName.
func (e *env) fail(err error) int {
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	for _, p := range []string{"record: ", "plot: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if e.cmd != nil && !strings.HasPrefix(msg, e.cmd.name+":") && !strings.HasPrefix(msg, e.cmd.name+" ") {
		msg = e.cmd.name + ": " + msg
	}
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
	fmt.Fprintln(e.stderr, "record: "+msg)
	return exitCode(err)
}

func exitCode(err error) int {
	var ue *usageError
	var ce *conflictError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return exitConflict
	case errors.Is(err, record.ErrNotFound):
		return exitNotFound
	}
	return exitError
}

// usageError is a bad command line: exit status 2.
type usageError struct {
	msg string
	err error // the class it also matches, if any (record.ErrInvalid)
}

func (e *usageError) Error() string { return e.msg }

func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// conflictError is a record that exists with other content: exit status 4.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// open opens the store named by dsn, or the default store when dsn is "",
// creating it if needed: for the commands that write.
func (e *env) open(dsn string) (*record.Store, error) {
	if dsn == "" {
		dsn = e.dsn
	}
	return record.Open(e.ctx, dsn)
}

// openExisting opens the store as open does, for the commands that only
// read: it creates nothing, and a missing SQLite file is "no such store"
// (record.ErrNotFound, exit status 3).
func (e *env) openExisting(dsn string) (*record.Store, error) {
	if dsn == "" {
		dsn = e.dsn
	}
	return record.OpenExisting(e.ctx, dsn)
}

// storeName is the DSN a store was opened with, without password, for messages.
func (e *env) storeName(dsn string) string {
	if dsn == "" {
		dsn = e.dsn
	}
	return record.RedactDSN(record.ResolveDSN(dsn))
}
