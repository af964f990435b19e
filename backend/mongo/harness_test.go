package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/recordlab/go-record/backendtest"
)

// DSNEnv names a MongoDB (or FerretDB) server for the tests, e.g.
// mongodb://127.0.0.1:27017/. Each test uses databases of its own on it.
const DSNEnv = "RECORD_TEST_MONGO_DSN"

// server is the MongoDB server the tests use, found once per process.
var server struct {
	once   sync.Once
	purge  func() // removes the container, if the tests started one
	dsn    string // base DSN, database path stripped
	ferret bool
	skip   string // why there is no server
}

// serverDSN returns the base DSN of the test server: $RECORD_TEST_MONGO_DSN,
// else a mongo:7 container started with dockertest when a Docker engine
// answers, else it skips (or fails when RECORD_TEST_REQUIRE names mongo).
func serverDSN(t testing.TB) string {
	t.Helper()
	server.once.Do(findServer)
	if server.skip != "" {
		backendtest.Unavailable(t, "mongo", server.skip)
	}
	return server.dsn
}

func findServer() {
	if dsn := os.Getenv(DSNEnv); dsn != "" {
		server.dsn = dsn
	} else if server.dsn = startContainer(); server.dsn == "" {
		server.skip = "set " + DSNEnv + " or run a Docker engine"
		return
	} else {
		// Child processes of the multi-process tests use the same container.
		os.Setenv(DSNEnv, server.dsn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(server.dsn))
	if err != nil {
		server.skip = "cannot connect to " + DSNEnv + ": " + err.Error()
		return
	}
	defer c.Disconnect(ctx)
	info, err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		server.skip = "server does not answer buildInfo: " + err.Error()
		return
	}
	// FerretDB v1 adds "ferretdbVersion" to buildInfo, v2 a "ferretdb" document.
	elems, _ := info.Elements()
	for _, e := range elems {
		server.ferret = server.ferret || strings.HasPrefix(e.Key(), "ferretdb")
	}
}

// startContainer runs mongo:7 when a Docker engine answers and returns its
// DSN, or "" when there is no engine. The container lives as long as the
// test process (dockertest removes it after 10 minutes at the latest).
func startContainer() string {
	pool, err := dockertest.NewPool("")
	if err != nil || pool.Client.Ping() != nil {
		return ""
	}
	res, err := pool.Run("mongo", "7", nil)
	if err != nil {
		return ""
	}
	_ = res.Expire(600)
	server.purge = func() { _ = pool.Purge(res) }
	dsn := "mongodb://" + res.GetHostPort("27017/tcp") + "/"
	pool.MaxWait = 2 * time.Minute
	err = pool.Retry(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := mongo.Connect(options.Client().ApplyURI(dsn))
		if err != nil {
			return err
		}
		defer c.Disconnect(ctx)
		return c.Ping(ctx, nil)
	})
	if err != nil {
		_ = pool.Purge(res)
		return ""
	}
	return dsn
}

// newDatabase returns a DSN naming a fresh database on the test server,
// dropped when t ends.
func newDatabase(t testing.TB) string {
	t.Helper()
	base := serverDSN(t)
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := "rt_" + hex.EncodeToString(r[:])
	dsn := withDatabase(t, base, name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := mongo.Connect(options.Client().ApplyURI(base))
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Disconnect(ctx)
		if err := c.Database(name).Drop(ctx); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return dsn
}

// withDatabase replaces the database path of a DSN.
func withDatabase(t testing.TB, dsn, db string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", DSNEnv, err)
	}
	u.Path = "/" + db
	return u.String()
}

// rawClient connects the official driver to the test server.
func rawClient(t testing.TB) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(serverDSN(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

// dbName returns the database named by a DSN of newDatabase.
func dbName(dsn string) string {
	u, _ := url.Parse(dsn)
	return strings.TrimPrefix(u.Path, "/")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.purge != nil {
		server.purge()
	}
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	h := backendtest.Harness{
		NewDSN:      func(t testing.TB) string { return newDatabase(t) },
		MaxDocBytes: 16 << 20,
	}
	serverDSN(t)
	if server.ferret {
		h.Unsupported = map[backendtest.Feature]string{
			backendtest.ConcurrentMerge: "FerretDB v1 loses concurrent updates to one document (real MongoDB does not)",
		}
	}
	backendtest.RunConformanceTests(t, h)
}
