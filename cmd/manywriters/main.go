// Command manywriters measures many processes writing at once into one
// store: it starts N OS processes (re-executing itself as the child) that
// each create runs and Log several metrics at full speed, with a Flush
// every few steps and Close at the end, into one PostgreSQL database, one
// SQLite file and one Mongo database; and, next to it, the same number of
// processes doing the same work with the raw driver into the same layout
// (the adapter's records and series tables or collections). For every
// writer count and mode it reports the aggregate points per second, the
// Flush latencies, the child processes' peak RSS and the errors by class,
// and then counts what is stored: every acknowledged point stored exactly
// once, each metric's summary equal to its stored points.
//
// Usage:
//
//	manywriters [-backends sqlite,postgres,mongo] [-procs 8,32,64] [-points 1000000]
//	            [-metrics 8] [-runs 2] [-flush-every 1000] [-batch 1000]
//	            [-postgres DSN] [-mongo DSN] [-sqlite FILE] [-verify] [-json] [-keep]
//
// -points is the total number of points of one configuration (one backend,
// one writer count, one mode), shared out evenly over processes, runs and
// metrics, so that every configuration does the same work. The PostgreSQL
// and Mongo DSNs default to $RECORD_TEST_POSTGRES_DSN and
// $RECORD_TEST_MONGO_DSN; each invocation writes into a schema (PostgreSQL),
// a database (Mongo) and a file (SQLite) of its own and removes them at
// the end unless -keep.
//
// The child processes are released together once all of them have opened
// the store, and the time of a configuration runs from that release to
// the last child's end (Close or the raw driver's last write); Create is
// inside it. Children create their runs without host facts
// (record.WithoutHost): what is measured is the write path.
//
// The exit status is 1 when a check fails (a lost or duplicated point, a
// summary that disagrees with the stored points, an error from the
// library), so a script or test can rely on it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childMain(spec))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manywriters:", err)
		os.Exit(2)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "manywriters: a check failed (see the table)")
		os.Exit(1)
	}
}
