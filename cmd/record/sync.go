package main

import (
	"context"
	"fmt"
)

var syncCmd = &command{
	name:    "sync",
	args:    "",
	summary: "ship the writes left in the spool (offline runs, unreachable stores) to the store",
	help: `
Ships every write that runs on this machine left in the spool for this
store: runs recorded offline (x-offline=true in the DSN) and the points
and seals that a run could not write because its store was unreachable
when it ended. Each batch is stored exactly once: running sync twice, or
again after it was interrupted, stores nothing twice. Journals still held
by a running program are skipped; journals of other stores are left alone
(a store is recognised by its DSN without its password, the only form the
spool keeps). The spool lives in $RECORD_SPOOL_DIR, else in the user's
cache directory (record/spool), or where the DSN's x-spool says.`,
	run: runSync,
}

func runSync(e *env, args []string) error {
	var dsn string
	fs := e.flags(&dsn)
	if _, err := e.parse(fs, args, 0, 0); err != nil {
		return err
	}
	s, err := e.open(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	rep, err := s.Sync(e.ctx)
	fmt.Fprintf(e.stdout, "synced %d journals: %d batches, %d points\n", rep.Journals, rep.Batches, rep.Points)
	for _, p := range rep.Busy {
		fmt.Fprintf(e.stderr, "record: skipped %s: a running program still writes it\n", p)
	}
	if len(rep.Other) > 0 {
		fmt.Fprintf(e.stderr, "record: left %d journals of other stores (give their DSN to sync them)\n", len(rep.Other))
	}
	return err
}
