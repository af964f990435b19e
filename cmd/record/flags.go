package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/recordlab/go-record/record"
)

// errHelpShown ends a command after --help printed its usage.
var errHelpShown = errors.New("help shown")

// flags returns a flag set for the command with the --dsn flag when dsn
// is not nil.
func (e *env) flags(dsn *string) *flag.FlagSet {
	fs := flag.NewFlagSet("record "+e.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if dsn != nil {
		fs.StringVar(dsn, "dsn", "", "store `DSN` (default $RECORD_DSN, else "+record.DefaultDSN+")")
	}
	return fs
}

// parse parses flags and positional arguments in any order (a "--" ends
// the flags) and checks the count of positional arguments: at least least,
// and at most most (-1 for no limit). --help prints the command's usage to
// stdout and returns errHelpShown.
func (e *env) parse(fs *flag.FlagSet, args []string, least, most int) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, e.help(fs))
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usageErrorf("%v (see record %s --help)", err, e.cmd.name)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < least {
		want := strings.Fields(e.cmd.args)
		missing := "arguments"
		if len(pos) < len(want) {
			missing = strings.Trim(want[len(pos)], "[]. ")
		}
		return nil, usageErrorf("missing %s (usage: record %s %s)", missing, e.cmd.name, e.cmd.args)
	}
	if most >= 0 && len(pos) > most {
		return nil, usageErrorf("too many arguments: %q (usage: record %s %s)", pos[most:], e.cmd.name, e.cmd.args)
	}
	return pos, nil
}

// help is the --help text of the current command.
func (e *env) help(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: record %s [flags] %s\n\n%s\n", e.cmd.name, e.cmd.args, e.cmd.summary)
	if h := strings.TrimSpace(e.cmd.help); h != "" {
		b.WriteString("\n" + h + "\n")
	}
	b.WriteString("\nflags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	b.WriteString("\nexit status: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 130 interrupted\n")
	return b.String()
}

// strs is a repeatable string flag.
type strs []string

func (s *strs) String() string     { return strings.Join(*s, ", ") }
func (s *strs) Set(v string) error { *s = append(*s, v); return nil }

// conds parses --where conditions.
func conds(where []string) ([]record.ListOption, error) {
	var opts []record.ListOption
	for _, w := range where {
		o := record.WhereText(w)
		if err := o.Err(); err != nil {
			return nil, usageErrorf("bad --where %q: %v", w, strings.TrimPrefix(err.Error(), "record: "))
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// checkColl and checkID turn bad names into usage errors.
func checkColl(coll string) error {
	if err := record.ValidCollection(coll); err != nil {
		return usageErrorf("bad collection name %q: want [A-Za-z0-9][A-Za-z0-9_.-]{0,119}", coll)
	}
	return nil
}

// checkRefs checks a collection name and record ids given on the command
// line.
func checkRefs(coll string, ids ...string) error {
	if err := checkColl(coll); err != nil {
		return err
	}
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return err
		}
	}
	return nil
}

func checkID(id string) error {
	if err := record.ValidID(id); err != nil {
		return usageErrorf("bad record id %q: want [A-Za-z0-9_.-]{1,128}", id)
	}
	return nil
}
