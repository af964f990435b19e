package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/redact"
)

func init() {
	opener := func(ctx context.Context, dsn string) (backend.Backend, error) { return Open(ctx, dsn) }
	backend.Register("mongodb", opener)
	backend.Register("mongodb+srv", opener)
}

// DefaultDatabase is the database used when the DSN names none.
const DefaultDatabase = "experiments"

// MaxDocBytes is the largest record document stored, in bytes of BSON
// (MongoDB's limit, enforced on FerretDB too).
const MaxDocBytes = 16 << 20

// Compile-time checks.
var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Deleter     = (*Backend)(nil)
	_ backend.Lister      = (*Backend)(nil)
	_ backend.Indexer     = (*Backend)(nil)
	_ backend.Pinger      = (*Backend)(nil)
	_ backend.SeriesStore = (*Backend)(nil)
	_ backend.BatchStore  = (*Backend)(nil)
)

// Backend stores records in a MongoDB database. It is safe for concurrent
// use by many goroutines.
type Backend struct {
	client *mongo.Client
	db     *mongo.Database
	codec  codec
	ferret bool

	seqMu   sync.Mutex
	lastSeq int64

	indexed sync.Map // series collection name -> struct{}: index ensured

	locks recordLocks // ApplyBatch on FerretDB
}

// Open connects to the MongoDB server of dsn (mongodb:// or mongodb+srv://,
// any option of the official driver) and returns a Backend on the database
// named by the DSN's path, DefaultDatabase if none. It asks the server for
// its build information, so it fails when the server does not answer
// before ctx ends (or before the driver's serverSelectionTimeoutMS).
func Open(ctx context.Context, dsn string) (*Backend, error) {
	b, err := open(ctx, dsn)
	if err != nil && err != ctx.Err() {
		return nil, redact.Error(err, redact.Secrets(dsn)...)
	}
	return b, err
}

func open(ctx context.Context, dsn string) (*Backend, error) {
	native, _, err := backend.SplitOptions(dsn)
	if err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	cs, err := connstring.ParseAndValidate(native)
	if err != nil {
		return nil, fmt.Errorf("mongo: %w: %w", backend.ErrInvalid, err)
	}
	name := cs.Database
	if name == "" {
		name = DefaultDatabase
	}
	client, err := mongo.Connect(options.Client().ApplyURI(native))
	if err != nil {
		return nil, fmt.Errorf("mongo: %w: %w", backend.ErrInvalid, err)
	}
	b := &Backend{client: client, db: client.Database(name)}
	info, err := b.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw()
	if err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
		return nil, fail(ctx, err)
	}
	if isFerretDB(info) {
		b.ferret = true
		b.codec.tag = true
		b.codec.keys = true
	}
	return b, nil
}

// isFerretDB reports whether a buildInfo reply comes from FerretDB: v1
// adds "ferretdbVersion" and "ferretdbFeatures", v2 a "ferretdb" document.
func isFerretDB(info bson.Raw) bool {
	elems, _ := info.Elements()
	for _, e := range elems {
		if strings.HasPrefix(e.Key(), "ferretdb") {
			return true
		}
	}
	return false
}

// FerretDB reports whether the server is FerretDB, whose limits this
// backend works around (see the package documentation).
func (b *Backend) FerretDB() bool { return b.ferret }

// Database returns the name of the database the backend uses.
func (b *Backend) Database() string { return b.db.Name() }

// Client returns the driver's client, for what this package does not
// offer; Close disconnects it.
func (b *Backend) Client() *mongo.Client { return b.client }

// Close disconnects from the server.
func (b *Backend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.client.Disconnect(ctx); err != nil {
		return fail(ctx, err)
	}
	return nil
}

// Ping checks that the server answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.client.Ping(ctx, readpref.Primary()); err != nil {
		return fail(ctx, err)
	}
	return nil
}

// Insert stores a new record. A record over MaxDocBytes of BSON is
// ErrTooLarge and nothing is written.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	if _, ok := doc["_id"]; ok {
		return errOwnID
	}
	raw, err := bson.Marshal(append(bson.D{{Key: "_id", Value: storedID(id)}}, b.codec.encodeDoc(doc)...))
	if err != nil {
		return fmt.Errorf("mongo: %w: %w", backend.ErrInvalid, err)
	}
	if len(raw) > MaxDocBytes {
		return fmt.Errorf("mongo: document of %d bytes exceeds %d: %w", len(raw), MaxDocBytes, backend.ErrTooLarge)
	}
	if _, err := b.db.Collection(coll).InsertOne(ctx, bson.Raw(raw)); err != nil {
		return fail(ctx, err)
	}
	return nil
}

// errOwnID refuses a top-level field _id, which MongoDB keeps for itself.
var errOwnID = fmt.Errorf("mongo: top-level key _id is MongoDB's own: %w", backend.ErrInvalid)

// Get returns the record without MongoDB's _id.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	raw, err := b.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: storedID(id)}}).Raw()
	if err != nil {
		return nil, fail(ctx, err)
	}
	return b.codec.decodeDoc(raw, true)
}

// Delete removes a record and its series.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	res, err := b.db.Collection(coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: storedID(id)}})
	if err != nil {
		return fail(ctx, err)
	}
	// Series go even when the record is absent: they may exist alone, and
	// a retried Delete must finish what an interrupted one began.
	if _, err := b.db.Collection(seriesCollection(coll)).DeleteMany(ctx, bson.D{{Key: "record", Value: storedID(id)}}); err != nil {
		return fail(ctx, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("mongo: %w", backend.ErrNotFound)
	}
	return nil
}

// Drop removes a collection and its series.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	if err := b.db.Collection(coll).Drop(ctx); err != nil {
		return fail(ctx, err)
	}
	sc := seriesCollection(coll)
	if err := b.db.Collection(sc).Drop(ctx); err != nil {
		return fail(ctx, err)
	}
	b.indexed.Delete(sc)
	return nil
}

// MongoDB and FerretDB error codes.
const (
	codeBadValue          = 2
	codeFailedToParse     = 9
	codeTypeMismatch      = 14
	codePathNotViable     = 28
	codeConflictingUpdate = 40
	codeInvalidNamespace  = 73
	codeObjectTooLarge    = 10334
	codeUpdateTooLarge    = 17419
	codeUpdateTooLarge2   = 17420
)

// fail classifies a driver error: it returns the context's error when ctx
// ended, else err beside the sentinel of its class, if any. invalid lists
// the server codes that mean ErrInvalid for the call (the ops of a Merge
// conflicting with the document).
func fail(ctx context.Context, err error, invalid ...int) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	var class error
	var se mongo.ServerError
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		class = backend.ErrNotFound
	case errors.Is(err, mongo.ErrClientDisconnected):
		class = backend.ErrClosed
	case errors.Is(err, driver.ErrDocumentTooLarge):
		class = backend.ErrTooLarge
	case mongo.IsDuplicateKeyError(err):
		class = backend.ErrExists
	case errors.As(err, new(topology.ServerSelectionError)), errors.As(err, new(*topology.ServerSelectionError)), mongo.IsNetworkError(err):
		class = backend.ErrUnavailable // no server answered (refused, down, frozen)
	case errors.As(err, &se):
		switch {
		case se.HasErrorCode(codeObjectTooLarge) || se.HasErrorCode(codeUpdateTooLarge) || se.HasErrorCode(codeUpdateTooLarge2):
			class = backend.ErrTooLarge
		case se.HasErrorCode(codeInvalidNamespace):
			class = backend.ErrInvalid
		default:
			for _, c := range invalid {
				if se.HasErrorCode(c) {
					class = backend.ErrInvalid
				}
			}
		}
	}
	if class == nil {
		return fmt.Errorf("mongo: %w", err)
	}
	return fmt.Errorf("mongo: %w: %w", class, err)
}
