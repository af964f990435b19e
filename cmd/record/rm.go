package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

var rmCmd = &command{
	name:    "rm",
	args:    "COLLECTION ID...",
	summary: "delete records and their series",
	help: `
Deletes each named record with its metric series. A record that does not
exist is an error (exit status 3) after the others are deleted.`,
	run: runRm,
}

func runRm(e *env, args []string) error {
	var dsn string
	fs := e.flags(&dsn)
	pos, err := e.parse(fs, args, 2, -1)
	if err != nil {
		return err
	}
	coll, ids := pos[0], pos[1:]
	if err := checkRefs(coll, ids...); err != nil {
		return err
	}
	s, err := e.open(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	var first error
	for _, id := range ids {
		if err := s.Delete(e.ctx, coll, id); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var dropCmd = &command{
	name:    "drop",
	args:    "COLLECTION",
	summary: "delete a whole collection (asks first unless --yes)",
	help: `
Deletes every record of the collection and their series. It asks for
confirmation on the terminal; without a terminal it refuses unless --yes
is given. A collection that does not exist is exit status 3.`,
	run: runDrop,
}

func runDrop(e *env, args []string) error {
	var dsn string
	var yes bool
	fs := e.flags(&dsn)
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	pos, err := e.parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	coll := pos[0]
	if err := checkColl(coll); err != nil {
		return err
	}
	if !yes && !isTerminal(e.stdin) {
		return usageErrorf("refusing to drop %s without confirmation: stdin is not a terminal (add --yes)", coll)
	}
	s, err := e.open(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	if err := e.mustExist(s, coll, dsn); err != nil {
		return err
	}
	if !yes {
		n, err := e.count(s, coll, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "drop collection %s with %d records from %s? This cannot be undone. [y/N] ", coll, n, e.storeName(dsn))
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return fmt.Errorf("cancelled; %s is unchanged", coll)
		}
	}
	return s.Drop(e.ctx, coll)
}
