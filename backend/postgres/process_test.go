package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/postgres"
	"github.com/recordlab/go-record/backendtest"
)

// Environment of a child process of TestMigrationRace.
const (
	childDSNEnv   = "RECORD_TEST_POSTGRES_CHILD_DSN"
	childStartEnv = "RECORD_TEST_POSTGRES_CHILD_START"
)

// TestMigrationRace starts 8 processes that open a fresh schema at the
// same instant: each must succeed, and the tables must be created once.
func TestMigrationRace(t *testing.T) {
	if dsn := os.Getenv(childDSNEnv); dsn != "" {
		migrationChild(t, dsn)
		return
	}
	dsn := serverDSN(t)
	schema := uniqueName("race_")
	t.Cleanup(func() {
		if _, err := server.admin.Exec(context.Background(), `drop schema if exists "`+schema+`" cascade`); err != nil {
			t.Error(err)
		}
	})
	child := withOptions(dsn, "x-schema="+schema)
	const procs = 8
	start := time.Now().Add(time.Second).UnixNano()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := range procs {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMigrationRace$", "-test.count=1")
			cmd.Env = append(os.Environ(), childDSNEnv+"="+child, childStartEnv+"="+strconv.FormatInt(start, 10))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("process %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	b, err := postgres.Open(t.Context(), child)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if items := listAll(t, b, "race", backend.Query{}); len(items) != procs {
		t.Errorf("%d records after %d processes, want %d", len(items), procs, procs)
	}
	var version int
	if err := server.admin.QueryRow(t.Context(), `select version from "`+schema+`".record_migrations where table_name = 'records'`).Scan(&version); err != nil || version != postgres.SchemaVersion {
		t.Errorf("migration version %d, %v; want %d", version, err, postgres.SchemaVersion)
	}
}

func migrationChild(t *testing.T, dsn string) {
	start, _ := strconv.ParseInt(os.Getenv(childStartEnv), 10, 64)
	time.Sleep(time.Until(time.Unix(0, start)))
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Insert(t.Context(), "race", strconv.Itoa(os.Getpid()), map[string]any{"pid": int64(os.Getpid())}); err != nil {
		t.Fatal(err)
	}
}

// TestServerRestart restarts the server while goroutines write: every
// operation fails with a clear error or succeeds, operations succeed again
// once the server is back, and nothing acknowledged is lost.
func TestServerRestart(t *testing.T) {
	serverDSN(t)
	if server.restart == nil {
		if backendtest.Required("postgres") {
			t.Logf("%s is not set: cannot restart the server given by %s", restartEnv, dsnEnv)
		}
		t.Skipf("set %s to a shell command that restarts the server (scripts/services/postgres.sh exports it)", restartEnv)
	}
	var b *postgres.Backend
	if dsn := os.Getenv(restartDSNEnv); dsn != "" {
		// A cluster of its own (scripts/services/postgres.sh starts one), so
		// that tests of other packages running meanwhile keep their server.
		var err error
		if b, err = postgres.Open(t.Context(), withOptions(dsn, "x-table="+uniqueName("t_"))); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
	} else {
		b = open(t)
	}
	ctx := t.Context()
	mustInsert(t, b, "c", "1", map[string]any{})
	var (
		acked   sync.Map // value appended -> true once Merge returned nil
		failed  atomic.Int64
		example atomic.Value // the text of one failure
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				v := int64(w*1_000_000 + i)
				err := b.Merge(ctx, "c", "1", []backend.Op{{Kind: backend.Append, Path: []string{"acked"}, Value: []any{v}}})
				if err == nil {
					acked.Store(v, true)
					continue
				}
				failed.Add(1)
				example.CompareAndSwap(nil, err.Error())
				if !strings.HasPrefix(err.Error(), "postgres: ") {
					t.Errorf("unclear error during the restart: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	restartAt := time.Now()
	if err := server.restart(ctx); err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatal(err)
	}
	t.Logf("server restarted in %v", time.Since(restartAt).Round(time.Millisecond))
	server.admin.Reset() // its connections died with the server
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	// Once the server is back, operations succeed (pgx dials anew).
	deadline := time.Now().Add(20 * time.Second)
	var doc map[string]any
	var err error
	for {
		if doc, err = b.Get(ctx, "c", "1"); err == nil || time.Now().After(deadline) {
			break
		}
		t.Logf("get after the restart: %v", err)
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("get after the restart: %v", err)
	}
	stored := map[int64]bool{}
	for _, v := range doc["acked"].([]any) {
		stored[v.(int64)] = true
	}
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		if !stored[k.(int64)] {
			t.Errorf("acknowledged append %d is lost", k)
		}
		return true
	})
	t.Logf("%d appends acknowledged, %d failed during the restart, %d stored; a failure: %v", n, failed.Load(), len(stored), example.Load())
	if err := b.Insert(ctx, "c", "2", map[string]any{}); err != nil {
		t.Errorf("insert after the restart: %v", err)
	}
	if err := b.Ping(ctx); err != nil {
		t.Errorf("ping after the restart: %v", err)
	}
}
