package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/recordlab/go-record/backendtest"
)

// The server the tests use: RECORD_TEST_POSTGRES_DSN, else a postgres:16
// container when a Docker engine answers, else none (the tests skip, or
// fail under RECORD_TEST_REQUIRE=postgres).
const (
	dsnEnv     = "RECORD_TEST_POSTGRES_DSN"
	restartEnv = "RECORD_TEST_POSTGRES_RESTART"
	// restartDSNEnv names the server that restartEnv restarts, when it is
	// not the one of dsnEnv.
	restartDSNEnv = "RECORD_TEST_POSTGRES_RESTART_DSN"
)

var server struct {
	once    sync.Once
	dsn     string
	reason  string                          // why there is no server
	restart func(ctx context.Context) error // nil when the server cannot be restarted
	purge   func()
	admin   *pgxpool.Pool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.admin != nil {
		server.admin.Close()
	}
	if server.purge != nil {
		server.purge()
	}
	os.Exit(code)
}

// serverDSN returns the DSN of the test server, starting a container on
// first use if need be.
func serverDSN(t testing.TB) string {
	t.Helper()
	server.once.Do(startServer)
	if server.dsn == "" {
		backendtest.Unavailable(t, "postgres", server.reason)
	}
	return server.dsn
}

func startServer() {
	if dsn := os.Getenv(dsnEnv); dsn != "" {
		server.dsn = dsn
		if cmd := os.Getenv(restartEnv); cmd != "" {
			server.restart = func(ctx context.Context) error {
				out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput()
				if err != nil {
					return fmt.Errorf("%s: %v: %s", restartEnv, err, out)
				}
				return nil
			}
		}
	} else if err := startContainer(); err != nil {
		server.reason = fmt.Sprintf("set %s or run a Docker engine (%v)", dsnEnv, err)
		return
	}
	pool, err := pgxpool.New(context.Background(), server.dsn)
	if err != nil {
		server.dsn, server.reason = "", fmt.Sprintf("%s: %v", dsnEnv, err)
		return
	}
	server.admin = pool
}

func startContainer() error {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return err
	}
	if err := pool.Client.Ping(); err != nil {
		return fmt.Errorf("no Docker engine: %w", err)
	}
	// A fixed host port survives a container restart.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository:   "postgres",
		Tag:          "16",
		Env:          []string{"POSTGRES_PASSWORD=secret"},
		Cmd:          []string{"postgres", "-c", "fsync=off", "-c", "max_connections=200"},
		PortBindings: map[dc.Port][]dc.PortBinding{"5432/tcp": {{HostIP: "127.0.0.1", HostPort: port}}},
	}, func(hc *dc.HostConfig) {
		hc.AutoRemove = true
		hc.RestartPolicy = dc.RestartPolicy{Name: "no"}
	})
	if err != nil {
		return fmt.Errorf("start postgres:16: %w", err)
	}
	server.purge = func() { _ = pool.Purge(res) }
	_ = res.Expire(1800)
	dsn := "postgres://postgres:secret@127.0.0.1:" + port + "/postgres?sslmode=disable"
	pool.MaxWait = 2 * time.Minute
	if err := pool.Retry(func() error {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return err
		}
		return conn.Close(context.Background())
	}); err != nil {
		server.purge()
		server.purge = nil
		return fmt.Errorf("postgres:16 did not answer: %w", err)
	}
	server.dsn = dsn
	server.restart = func(ctx context.Context) error {
		if err := pool.Client.RestartContainer(res.Container.ID, 10); err != nil {
			return err
		}
		return pool.Retry(func() error {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return err
			}
			return conn.Close(ctx)
		})
	}
	return nil
}

// withOptions adds x- options (key=value pairs) to dsn.
func withOptions(dsn string, opts ...string) string {
	for _, o := range opts {
		if strings.Contains(dsn, "?") {
			dsn += "&" + o
		} else {
			dsn += "?" + o
		}
	}
	return dsn
}

func uniqueName(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newDSN returns a DSN naming a table of the test's own, dropped (with
// its series table) when the test ends.
func newDSN(t testing.TB) string {
	t.Helper()
	dsn := serverDSN(t)
	table := uniqueName("t_")
	t.Cleanup(func() { dropTable(t, "", table) })
	return withOptions(dsn, "x-table="+table)
}

// dropTable removes a table the tests made, its series table and its
// migration row.
func dropTable(t testing.TB, schema, table string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if schema == "" {
		schema = "public"
	}
	versions := pgx.Identifier{schema, "record_migrations"}.Sanitize()
	sql := `drop table if exists ` + pgx.Identifier{schema, table}.Sanitize() + `, ` +
		pgx.Identifier{schema, table + "_series"}.Sanitize()
	if _, err := server.admin.Exec(ctx, sql); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if _, err := server.admin.Exec(ctx, `delete from `+versions+` where table_name = $1`, table); err != nil {
		t.Logf("cleanup: %v", err)
	}
}
