package main

import (
	"context"
	"fmt"
)

var indexCmd = &command{
	name:    "index",
	args:    "COLLECTION PATH...",
	summary: "index values so ls --sort/--where on them read only what they show",
	help: `
Creates, where it does not exist yet, an index on the value at each dotted
PATH of the collection's records (for example metrics.loss.min), so that
"ls --sort PATH --limit N" and conditions on PATH read N records instead
of the whole collection. It is idempotent and safe to run while training
programs write. The memory backend has no indexes; there it does nothing.
SQLite and PostgreSQL keep one index per path for every collection of the
table; MongoDB one per collection.`,
	run: runIndex,
}

func runIndex(e *env, args []string) error {
	var dsn string
	fs := e.flags(&dsn)
	pos, err := e.parse(fs, args, 2, -1)
	if err != nil {
		return err
	}
	coll, paths := pos[0], pos[1:]
	if err := checkColl(coll); err != nil {
		return err
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	for _, p := range paths {
		if err := s.Index(e.ctx, coll, p); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "indexed %s %s\n", coll, p)
	}
	return nil
}
