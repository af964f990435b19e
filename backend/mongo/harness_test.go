package mongo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
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

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
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

// harness describes this backend to the conformance suite and the
// benchmarks, with the official driver as the raw baseline.
func harness(t testing.TB) backendtest.Harness {
	t.Helper()
	h := backendtest.Harness{
		New: func(t testing.TB) backend.Backend {
			b, err := recmongo.Open(t.Context(), newDatabase(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return b
		},
		NewDSN:      func(t testing.TB) string { return newDatabase(t) },
		MaxDocBytes: recmongo.MaxDocBytes,
		Raw:         rawBaseline,
	}
	serverDSN(t)
	if server.ferret {
		h.Unsupported = map[backendtest.Feature]string{
			backendtest.ConcurrentMerge: "FerretDB v1 loses concurrent updates to one document (real MongoDB does not)",
		}
	}
	return h
}

func TestConformance(t *testing.T) { backendtest.RunConformanceTests(t, harness(t)) }

// BenchmarkBackend runs the shared benchmarks beside the raw driver. On
// FerretDB keep them small (it reads every document for every query):
//
//	RECORD_BENCH_RECORDS=2000 RECORD_BENCH_POINTS=100000 go test -run '^$' -bench Backend -benchtime 3x ./backend/mongo
func BenchmarkBackend(b *testing.B) { backendtest.RunBenchmarks(b, harness(b)) }

// rawDB is the database of a Backend through the official driver.
func rawDB(be backend.Backend) *mongo.Database {
	b := be.(*recmongo.Backend)
	return b.Client().Database(b.Database())
}

// rawBaseline does what the benchmarks measure with the official driver
// alone, as a careful user of it would: batched inserts, projections,
// sort and limit on the server, bucket documents for series.
var rawBaseline = &backendtest.Raw{
	Insert: func(ctx context.Context, be backend.Backend, coll string, docs map[string]map[string]any) error {
		batch := make([]any, 0, len(docs))
		for id, doc := range docs {
			oid, err := bson.ObjectIDFromHex(id)
			if err != nil {
				return err
			}
			d := bson.M{"_id": oid}
			maps.Copy(d, doc)
			batch = append(batch, d)
		}
		_, err := rawDB(be).Collection(coll).InsertMany(ctx, batch, options.InsertMany().SetOrdered(false))
		return err
	},
	ListFields: func(ctx context.Context, be backend.Backend, coll string, fields [][]string) (int, error) {
		proj := bson.D{}
		for _, f := range fields {
			proj = append(proj, bson.E{Key: strings.Join(f, "."), Value: 1})
		}
		cur, err := rawDB(be).Collection(coll).Find(ctx, bson.D{}, options.Find().SetProjection(proj))
		if err != nil {
			return 0, err
		}
		defer cur.Close(ctx)
		n := 0
		for cur.Next(ctx) {
			var m bson.M
			if err := cur.Decode(&m); err != nil {
				return n, err
			}
			n++
		}
		return n, cur.Err()
	},
	Index: func(ctx context.Context, be backend.Backend, coll string, path []string) error {
		_, err := rawDB(be).Collection(coll).Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: strings.Join(path, "."), Value: 1}}})
		return err
	},
	TopN: func(ctx context.Context, be backend.Backend, coll string, path []string, n int) ([]string, error) {
		p := strings.Join(path, ".")
		cur, err := rawDB(be).Collection(coll).Find(ctx, bson.D{{Key: p, Value: bson.D{{Key: "$type", Value: "number"}}}},
			options.Find().SetSort(bson.D{{Key: p, Value: 1}}).SetLimit(int64(n)).SetProjection(bson.D{{Key: p, Value: 1}}))
		if err != nil {
			return nil, err
		}
		defer cur.Close(ctx)
		var ids []string
		for cur.Next(ctx) {
			ids = append(ids, cur.Current.Lookup("_id").ObjectID().Hex())
		}
		return ids, cur.Err()
	},
	AppendPoints: func(ctx context.Context, be backend.Backend, coll, id, name string, pts []backend.Point) error {
		oid, err := bson.ObjectIDFromHex(id)
		if err != nil {
			return err
		}
		steps, values, times := make(bson.A, len(pts)), make(bson.A, len(pts)), make(bson.A, len(pts))
		for i, p := range pts {
			steps[i], values[i], times[i] = p.Step, p.Value, bson.NewDateTimeFromTime(p.Time)
		}
		_, err = rawDB(be).Collection("_series."+coll).InsertOne(ctx, bson.D{
			{Key: "record", Value: oid}, {Key: "name", Value: name}, {Key: "seq", Value: time.Now().UnixNano()},
			{Key: "steps", Value: steps}, {Key: "values", Value: values}, {Key: "times", Value: times},
		})
		return err
	},
	ReadPoints: func(ctx context.Context, be backend.Backend, coll, id, name string, each func([]backend.Point)) (int, error) {
		oid, err := bson.ObjectIDFromHex(id)
		if err != nil {
			return 0, err
		}
		cur, err := rawDB(be).Collection("_series."+coll).Find(ctx, bson.D{{Key: "record", Value: oid}, {Key: "name", Value: name}},
			options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
		if err != nil {
			return 0, err
		}
		defer cur.Close(ctx)
		n := 0
		for cur.Next(ctx) {
			var bucket struct {
				Steps  []int64     `bson:"steps"`
				Values []float64   `bson:"values"`
				Times  []time.Time `bson:"times"`
			}
			if err := cur.Decode(&bucket); err != nil {
				return n, err
			}
			pts := make([]backend.Point, len(bucket.Steps))
			for i := range pts {
				pts[i] = backend.Point{Step: bucket.Steps[i], Value: bucket.Values[i], Time: bucket.Times[i].UTC()}
			}
			each(pts)
			n += len(pts)
		}
		return n, cur.Err()
	},
}
