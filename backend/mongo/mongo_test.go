package mongo_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
	"github.com/recordlab/go-record/internal/redact"
)

const coll = "Nov-25-2026"

// open opens a Backend on a fresh database; raw is that database through
// the official driver.
func open(t *testing.T) (*recmongo.Backend, *mongo.Database) {
	t.Helper()
	dsn := newDatabase(t)
	b, err := recmongo.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b, rawClient(t).Database(dbName(dsn))
}

// list collects what List yields, failing t on an error.
func list(t *testing.T, b *recmongo.Backend, c string, q backend.Query) []backend.Item {
	t.Helper()
	items := []backend.Item{}
	for it, err := range b.List(t.Context(), c, q) {
		if err != nil {
			t.Fatalf("List(%s, %+v): %v", c, q, err)
		}
		items = append(items, it)
	}
	return items
}

// readSeries collects what ReadSeries yields, failing t on an error.
func readSeries(t *testing.T, b *recmongo.Backend, c, id, name string) []backend.Point {
	t.Helper()
	var pts []backend.Point
	for batch, err := range b.ReadSeries(t.Context(), c, id, name) {
		if err != nil {
			t.Fatalf("ReadSeries(%s, %s, %s): %v", c, id, name, err)
		}
		pts = append(pts, batch...)
	}
	return pts
}

func TestClassicLayout(t *testing.T) {
	b, raw := open(t)
	ctx := t.Context()
	id := bson.NewObjectID().Hex()
	created := time.Date(2026, 11, 25, 9, 30, 0, 123e6, time.UTC)
	doc := map[string]any{
		"seed":    int64(42),
		"lr":      0.01,
		"created": created,
		"models": map[string]any{
			"model_0": map[string]any{
				"params": map[string]any{"hidden": int64(128), "dropout": 0.5},
				"losses": []any{0.9, 0.7},
				"color":  "red",
				"label":  "model_0",
			},
		},
	}
	if err := b.Insert(ctx, coll, id, doc); err != nil {
		t.Fatal(err)
	}
	err := b.Merge(ctx, coll, id, []backend.Op{
		{Kind: backend.Append, Path: []string{"models", "model_0", "losses"}, Value: []any{0.5, 0.25}},
		{Kind: backend.Set, Path: []string{"models", "model_1", "label"}, Value: "model_1"},
	})
	if err != nil {
		t.Fatal(err)
	}

	oid, _ := bson.ObjectIDFromHex(id)
	got, err := raw.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: oid}}).Raw()
	if err != nil {
		t.Fatalf("raw driver finds no document with ObjectId _id %s: %v", id, err)
	}
	types := map[string]bson.Type{
		"_id":                          bson.TypeObjectID,
		"seed":                         bson.TypeInt64,
		"lr":                           bson.TypeDouble,
		"created":                      bson.TypeDateTime,
		"models":                       bson.TypeEmbeddedDocument,
		"models.model_0":               bson.TypeEmbeddedDocument,
		"models.model_0.params":        bson.TypeEmbeddedDocument,
		"models.model_0.params.hidden": bson.TypeInt64,
		"models.model_0.losses":        bson.TypeArray,
		"models.model_0.color":         bson.TypeString,
		"models.model_0.label":         bson.TypeString,
		"models.model_1.label":         bson.TypeString,
	}
	for path, want := range types {
		if v := got.Lookup(strings.Split(path, ".")...); v.Type != want {
			t.Errorf("%s has BSON type %v, want %v", path, v.Type, want)
		}
	}
	// Reading models.*.losses as the classic Python code did.
	var classic struct {
		Models map[string]struct {
			Losses []float64 `bson:"losses"`
			Color  string    `bson:"color"`
			Label  string    `bson:"label"`
		} `bson:"models"`
		Created time.Time `bson:"created"`
	}
	if err := bson.Unmarshal(got, &classic); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{0.9, 0.7, 0.5, 0.25}, classic.Models["model_0"].Losses); diff != "" {
		t.Errorf("losses (-want +got):\n%s", diff)
	}
	if !classic.Created.Equal(created) {
		t.Errorf("created = %v, want %v", classic.Created, created)
	}
	back, err := b.Get(ctx, coll, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := back["_id"]; ok {
		t.Errorf("Get returns MongoDB's _id: %v", back["_id"])
	}
}

func TestIDs(t *testing.T) {
	b, raw := open(t)
	ctx := t.Context()
	hexID := "6b07a0c1702b2363df7f83f1"
	ids := map[string]bson.Type{
		hexID:                      bson.TypeObjectID,
		"6B07A0C1702B2363DF7F83F1": bson.TypeString, // upper case reads back as written
		"run-7":                    bson.TypeString,
		"0123":                     bson.TypeString,
	}
	for id := range ids {
		if err := b.Insert(ctx, coll, id, map[string]any{"id": id}); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := raw.Collection(coll).Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		id := d.Lookup("id").StringValue()
		if got := d.Lookup("_id").Type; got != ids[id] {
			t.Errorf("id %s stored as %v, want %v", id, got, ids[id])
		}
	}
	items := list(t, b, coll, backend.Query{})
	var got []string
	for _, it := range items {
		got = append(got, it.ID)
		if it.Doc["id"] != it.ID {
			t.Errorf("item %s holds document of %v", it.ID, it.Doc["id"])
		}
	}
	want := []string{"0123", "6B07A0C1702B2363DF7F83F1", hexID, "run-7"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
	items = list(t, b, coll, backend.Query{Limit: 3, Where: []backend.Cond{{Path: []string{"id"}, Cmp: backend.Gt, Value: "1"}}})
	got = got[:0]
	for _, it := range items {
		got = append(got, it.ID)
	}
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("List with Where and Limit (-want +got):\n%s", diff)
	}
}

func TestSpecialFloats(t *testing.T) {
	b, raw := open(t)
	ctx := t.Context()
	nan := math.Float64frombits(0x7ff8000000000bad) // a NaN with a payload
	vals := map[string]float64{"nan": nan, "inf": math.Inf(1), "ninf": math.Inf(-1), "negz": math.Copysign(0, -1), "one": 1}
	doc := map[string]any{"list": []any{nan, math.Inf(-1), []any{nan}}}
	for k, v := range vals {
		doc[k] = v
	}
	if err := b.Insert(ctx, coll, "f", doc); err != nil {
		t.Fatal(err)
	}
	if err := b.Merge(ctx, coll, "f", []backend.Op{{Kind: backend.Append, Path: []string{"list"}, Value: []any{nan}}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, coll, "f")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		if f, ok := got[k].(float64); !ok || math.Float64bits(f) != math.Float64bits(v) {
			t.Errorf("%s = %v (%T), want bits %x", k, got[k], got[k], math.Float64bits(v))
		}
	}
	list := got["list"].([]any)
	if len(list) != 4 || math.Float64bits(list[0].(float64)) != math.Float64bits(nan) ||
		math.Float64bits(list[3].(float64)) != math.Float64bits(nan) ||
		math.Float64bits(list[2].([]any)[0].(float64)) != math.Float64bits(nan) {
		t.Errorf("list = %v", list)
	}
	// What the server holds: doubles on MongoDB, tagged binaries on FerretDB.
	stored, err := raw.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: "f"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	wantType := bson.TypeDouble
	if b.FerretDB() {
		wantType = bson.TypeBinary
	}
	for _, k := range []string{"nan", "inf", "ninf", "negz"} {
		v := stored.Lookup(k)
		if v.Type != wantType {
			t.Errorf("%s stored as %v, want %v", k, v.Type, wantType)
		}
		if sub, _, ok := v.BinaryOK(); ok && sub != 0x80 {
			t.Errorf("%s stored as binary subtype %#x, want 0x80", k, sub)
		}
	}
	if v := stored.Lookup("one"); v.Type != bson.TypeDouble {
		t.Errorf("1.0 stored as %v, want a double", v.Type)
	}
	pts := []backend.Point{{Step: 1, Value: nan, Time: time.UnixMilli(1).UTC()}, {Step: 2, Value: math.Copysign(0, -1), Time: time.UnixMilli(2).UTC()}}
	if err := b.AppendSeries(ctx, coll, "f", "loss", pts); err != nil {
		t.Fatal(err)
	}
	back := readSeries(t, b, coll, "f", "loss")
	if len(back) != 2 || math.Float64bits(back[0].Value) != math.Float64bits(nan) || !math.Signbit(back[1].Value) {
		t.Errorf("series = %v", back)
	}
}

func TestTooLarge(t *testing.T) {
	b, raw := open(t)
	ctx := t.Context()
	c := raw.Collection(coll)
	err := b.Insert(ctx, coll, "big", map[string]any{"blob": strings.Repeat("x", recmongo.MaxDocBytes)})
	if !errors.Is(err, backend.ErrTooLarge) {
		t.Fatalf("Insert over 16 MiB: %v, want ErrTooLarge", err)
	}
	if n, _ := c.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("refused Insert wrote %d documents", n)
	}
	nine := strings.Repeat("y", 9<<20)
	if err := b.Insert(ctx, coll, "r", map[string]any{"a": nine}); err != nil {
		t.Fatal(err)
	}
	before, err := c.FindOne(ctx, bson.D{{Key: "_id", Value: "r"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []backend.Op{
		{Kind: backend.Set, Path: []string{"b"}, Value: nine},
		{Kind: backend.Append, Path: []string{"list"}, Value: []any{nine}},
		{Kind: backend.Set, Path: []string{"x", "y"}, Value: map[string]any{"z": nine}},
	} {
		err := b.Merge(ctx, coll, "r", []backend.Op{op})
		if !errors.Is(err, backend.ErrTooLarge) {
			t.Errorf("Merge %s %v to 18 MiB: %v, want ErrTooLarge", op.Kind, op.Path, err)
		}
	}
	after, err := c.FindOne(ctx, bson.D{{Key: "_id", Value: "r"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if !bytesEqual(before, after) {
		t.Fatalf("refused Merges changed the document (%d -> %d bytes)", len(before), len(after))
	}
	// Replacing the big value by another of the same size fits.
	if err := b.Merge(ctx, coll, "r", []backend.Op{{Kind: backend.Set, Path: []string{"a"}, Value: strings.Repeat("z", 9<<20)}}); err != nil {
		t.Fatalf("Merge replacing 9 MiB by 9 MiB: %v", err)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestMergeConflicts runs on both code paths: the FerretDB one (read,
// check, update) and, against FerretDB too, the MongoDB one (guarded
// update in one round trip, classification after the fact).
func TestMergeConflicts(t *testing.T) {
	for _, mode := range []string{"auto", "mongodb-path"} {
		t.Run(mode, func(t *testing.T) {
			b, _ := open(t)
			if mode == "mongodb-path" {
				recmongo.UseMongoDBMerge(b)
			}
			ctx := t.Context()
			start := map[string]any{"arr": []any{int64(1), int64(2)}, "sc": int64(5), "obj": map[string]any{"k": "v"}}
			if err := b.Insert(ctx, coll, "r", start); err != nil {
				t.Fatal(err)
			}
			bad := map[string]backend.Op{
				"set into array by index": {Kind: backend.Set, Path: []string{"arr", "0"}, Value: int64(9)},
				"set through array":       {Kind: backend.Set, Path: []string{"arr", "x", "y"}, Value: int64(9)},
				"set through scalar":      {Kind: backend.Set, Path: []string{"sc", "x"}, Value: int64(9)},
				"unset through scalar":    {Kind: backend.Unset, Path: []string{"sc", "x"}},
				"unset in array":          {Kind: backend.Unset, Path: []string{"arr", "1"}},
				"append to scalar":        {Kind: backend.Append, Path: []string{"sc"}, Value: []any{int64(1)}},
				"append to object":        {Kind: backend.Append, Path: []string{"obj"}, Value: []any{int64(1)}},
				"append into array":       {Kind: backend.Append, Path: []string{"arr", "0"}, Value: []any{int64(1)}},
			}
			for name, op := range bad {
				ops := []backend.Op{{Kind: backend.Set, Path: []string{"fine"}, Value: true}, op}
				err := b.Merge(ctx, coll, "r", ops)
				if !errors.Is(err, backend.ErrInvalid) {
					t.Errorf("%s: %v, want ErrInvalid", name, err)
				}
			}
			got, err := b.Get(ctx, coll, "r")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(start, got); diff != "" {
				t.Errorf("refused Merges changed the document (-want +got):\n%s", diff)
			}
			err = b.Merge(ctx, coll, "absent", []backend.Op{{Kind: backend.Set, Path: []string{"a"}, Value: int64(1)}})
			if !errors.Is(err, backend.ErrNotFound) {
				t.Errorf("Merge of an absent record: %v, want ErrNotFound", err)
			}
			err = b.Merge(ctx, coll, "r", []backend.Op{
				{Kind: backend.Set, Path: []string{"p", "q", "r"}, Value: int64(1)},
				{Kind: backend.Append, Path: []string{"arr"}, Value: []any{int64(3), []any{int64(4)}}},
				{Kind: backend.Unset, Path: []string{"obj", "k"}},
				{Kind: backend.Unset, Path: []string{"missing", "deep"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err = b.Get(ctx, coll, "r")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"arr": []any{int64(1), int64(2), int64(3), []any{int64(4)}}, "sc": int64(5), "obj": map[string]any{},
				"p": map[string]any{"q": map[string]any{"r": int64(1)}},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after Merge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDriverErrorsReachable(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	if err := b.Insert(ctx, coll, "r", map[string]any{"sc": int64(1)}); err != nil {
		t.Fatal(err)
	}
	err := b.Insert(ctx, coll, "r", map[string]any{})
	var we mongo.WriteException
	if !errors.Is(err, backend.ErrExists) || !errors.As(err, &we) {
		t.Errorf("duplicate Insert: %v, want ErrExists wrapping a mongo.WriteException", err)
	}
	recmongo.UseMongoDBMerge(b) // the path where the server reports the conflict
	err = b.Merge(ctx, coll, "r", []backend.Op{{Kind: backend.Append, Path: []string{"sc"}, Value: []any{int64(1)}}})
	if !errors.Is(err, backend.ErrInvalid) || !errors.As(err, &we) {
		t.Errorf("Append to a scalar: %v, want ErrInvalid wrapping a mongo.WriteException", err)
	}
	_, err = b.Get(ctx, coll, "absent")
	if !errors.Is(err, backend.ErrNotFound) || !errors.Is(err, mongo.ErrNoDocuments) {
		t.Errorf("Get of an absent record: %v, want ErrNotFound wrapping mongo.ErrNoDocuments", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Get(cctx, coll, "r"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v", err)
	}
}

func TestKeyID(t *testing.T) {
	b, _ := open(t)
	ctx := t.Context()
	err := b.Insert(ctx, coll, "r", map[string]any{"_id": "mine"})
	if !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("Insert with a top-level _id key: %v, want ErrInvalid", err)
	}
	if err := b.Insert(ctx, coll, "r", map[string]any{"nested": map[string]any{"_id": "fine"}}); err != nil {
		t.Fatal(err)
	}
	err = b.Merge(ctx, coll, "r", []backend.Op{{Kind: backend.Set, Path: []string{"_id"}, Value: "x"}})
	if !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("Merge of top-level _id: %v, want ErrInvalid", err)
	}
}

func TestSeriesLayout(t *testing.T) {
	b, raw := open(t)
	ctx := t.Context()
	id := bson.NewObjectID().Hex()
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	pts := []backend.Point{{Step: 0, Value: 0.5, Time: t0}, {Step: 1, Value: 0.25, Time: t0.Add(time.Millisecond)}}
	if err := b.AppendSeries(ctx, coll, id, "loss", pts); err != nil {
		t.Fatal(err)
	}
	oid, _ := bson.ObjectIDFromHex(id)
	bucket, err := raw.Collection("_series."+coll).FindOne(ctx, bson.D{{Key: "record", Value: oid}, {Key: "name", Value: "loss"}}).Raw()
	if err != nil {
		t.Fatalf("no bucket document in _series.%s: %v", coll, err)
	}
	var got struct {
		Steps  []int64     `bson:"steps"`
		Values []float64   `bson:"values"`
		Times  []time.Time `bson:"times"`
		Seq    int64       `bson:"seq"`
	}
	if err := bson.Unmarshal(bucket, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{0.5, 0.25}, got.Values); diff != "" || len(got.Steps) != 2 || got.Seq == 0 || !got.Times[1].Equal(t0.Add(time.Millisecond)) {
		t.Errorf("bucket %v", bucket)
	}
	specs, err := raw.Collection("_series." + coll).Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range specs {
		found = found || s.KeysDocument.String() == `{"record": {"$numberInt":"1"},"name": {"$numberInt":"1"},"seq": {"$numberInt":"1"}}`
	}
	if !found {
		t.Errorf("no index (record, name, seq) on _series.%s: %v", coll, specs)
	}
	if err := b.Insert(ctx, "other", "x", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	colls, err := b.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"other"}, colls); diff != "" {
		t.Errorf("Collections lists series collections or empty ones (-want +got):\n%s", diff)
	}
}

func TestDSN(t *testing.T) {
	base := serverDSN(t)
	ctx := t.Context()
	b, err := recmongo.Open(ctx, withDatabase(t, base, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Database() != recmongo.DefaultDatabase {
		t.Errorf("database %q, want %q", b.Database(), recmongo.DefaultDatabase)
	}
	if _, err := recmongo.Open(ctx, base+"?x-nope=1"); !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("unknown x- option: %v, want ErrInvalid", err)
	}
	generic, err := backend.Open(ctx, base)
	if err != nil {
		t.Fatalf("backend.Open(mongodb://...): %v", err)
	}
	generic.Close()
}

func TestPasswordNeverShown(t *testing.T) {
	ctx := t.Context()
	for _, dsn := range []string{
		"mongodb://alice:s3cr3t-pw@127.0.0.1:1/db?serverSelectionTimeoutMS=200",
		"mongodb://alice:s3cr3t%2Dpw@127.0.0.1:1/db?serverSelectionTimeoutMS=200",
		"mongodb://alice:s3cr3t-pw@127.0.0.1:1/db?connectTimeoutMS=notanumber",
		"mongodb://alice:s3cr3t-pw@127.0.0.1:1/db?x-unknown=1",
		"mongodb://alice:s3cr3t-pw@[bad/db",
		"mongodb+srv://alice:s3cr3t-pw@nonexistent.invalid/db?serverSelectionTimeoutMS=200",
	} {
		b, err := backend.Open(ctx, dsn)
		if err == nil {
			b.Close()
			t.Errorf("Open(%s) succeeded", redact.DSN(dsn))
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	// A server that refuses the credentials.
	base := serverDSN(t)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := backend.Open(cctx, strings.Replace(base, "mongodb://", "mongodb://alice:s3cr3t-pw@", 1)+"?authSource=admin&serverSelectionTimeoutMS=2000")
	if err == nil {
		defer b.Close()
		_, err = b.Get(cctx, coll, "x")
	}
	if err != nil && strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error shows the password: %v", err)
	}
}
