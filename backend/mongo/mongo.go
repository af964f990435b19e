package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/recordlab/go-record/backend"
)

func init() {
	backend.Register("mongodb", open)
	backend.Register("mongodb+srv", open)
}

func open(ctx context.Context, dsn string) (backend.Backend, error) {
	return Open(ctx, dsn)
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
	_ backend.Pinger      = (*Backend)(nil)
	_ backend.SeriesStore = (*Backend)(nil)
)

// Backend stores records in a MongoDB database. It is safe for concurrent
// use by many goroutines.
type Backend struct {
	client  *mongo.Client
	db      *mongo.Database
	codec   codec
	ferret  bool
	secrets []string
	closed  atomic.Bool

	seqMu   sync.Mutex
	lastSeq int64

	indexed sync.Map // series collection name -> struct{}: index ensured
}

// Open connects to the MongoDB server of dsn (mongodb:// or mongodb+srv://,
// any option of the official driver) and returns a Backend on the database
// named by the DSN's path, DefaultDatabase if none. It asks the server for
// its build information, so it fails when the server does not answer
// before ctx ends (or before the driver's serverSelectionTimeoutMS).
func Open(ctx context.Context, dsn string) (*Backend, error) {
	secrets := passwords(dsn)
	native, _, err := backend.SplitOptions(dsn)
	if err != nil {
		return nil, fmt.Errorf("mongo: open: %w", scrub(err, secrets))
	}
	cs, err := connstring.ParseAndValidate(native)
	if err != nil {
		return nil, fmt.Errorf("mongo: open %s: %w: %w", backend.Redact(dsn), backend.ErrInvalid, scrub(err, secrets))
	}
	name := cs.Database
	if name == "" {
		name = DefaultDatabase
	}
	client, err := mongo.Connect(options.Client().ApplyURI(native))
	if err != nil {
		return nil, fmt.Errorf("mongo: open %s: %w: %w", backend.Redact(dsn), backend.ErrInvalid, scrub(err, secrets))
	}
	b := &Backend{client: client, db: client.Database(name), secrets: secrets}
	var info bson.Raw
	if info, err = b.db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Raw(); err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = client.Disconnect(dctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("mongo: open %s: %w", backend.Redact(dsn), scrub(err, secrets))
	}
	if isFerretDB(info) {
		b.ferret = true
		b.codec.tag = true
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

// Close disconnects from the server. Later calls return ErrClosed.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return fmt.Errorf("mongo: close: %w", backend.ErrClosed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo: close: %w", b.scrub(err))
	}
	return nil
}

// Ping checks that the server answers.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.ready("ping"); err != nil {
		return err
	}
	if err := b.client.Ping(ctx, readpref.Primary()); err != nil {
		return b.fail(ctx, "ping", nil, err)
	}
	return nil
}

// Insert stores a new record. A record over MaxDocBytes of BSON is
// ErrTooLarge and nothing is written.
func (b *Backend) Insert(ctx context.Context, coll, id string, doc map[string]any) error {
	if err := b.ready("insert"); err != nil {
		return err
	}
	what := coll + "/" + id
	if _, ok := doc["_id"]; ok {
		return fmt.Errorf("mongo: insert %s: top-level key _id is MongoDB's own: %w", what, backend.ErrInvalid)
	}
	d := append(bson.D{{Key: "_id", Value: storedID(id)}}, b.codec.encodeDoc(doc)...)
	raw, err := bson.Marshal(d)
	if err != nil {
		return fmt.Errorf("mongo: insert %s: %w: %w", what, backend.ErrInvalid, err)
	}
	if len(raw) > MaxDocBytes {
		return fmt.Errorf("mongo: insert %s: document of %d bytes exceeds %d: %w", what, len(raw), MaxDocBytes, backend.ErrTooLarge)
	}
	if _, err := b.db.Collection(coll).InsertOne(ctx, bson.Raw(raw)); err != nil {
		return b.fail(ctx, "insert "+what, nil, err)
	}
	return nil
}

// Get returns the record without MongoDB's _id.
func (b *Backend) Get(ctx context.Context, coll, id string) (map[string]any, error) {
	if err := b.ready("get"); err != nil {
		return nil, err
	}
	what := coll + "/" + id
	raw, err := b.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: storedID(id)}}).Raw()
	if err != nil {
		return nil, b.fail(ctx, "get "+what, nil, err)
	}
	doc, err := decodeDoc(raw, true)
	if err != nil {
		return nil, fmt.Errorf("mongo: get %s: decode: %w", what, err)
	}
	return doc, nil
}

// Delete removes a record and its series.
func (b *Backend) Delete(ctx context.Context, coll, id string) error {
	if err := b.ready("delete"); err != nil {
		return err
	}
	what := coll + "/" + id
	res, err := b.db.Collection(coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: storedID(id)}})
	if err != nil {
		return b.fail(ctx, "delete "+what, nil, err)
	}
	// Series go even when the record is absent: they may exist alone, and
	// a retried Delete must finish what an interrupted one began.
	if _, err := b.db.Collection(seriesCollection(coll)).DeleteMany(ctx, bson.D{{Key: "record", Value: storedID(id)}}); err != nil {
		return b.fail(ctx, "delete series of "+what, nil, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("mongo: delete %s: %w", what, backend.ErrNotFound)
	}
	return nil
}

// Drop removes a collection and its series.
func (b *Backend) Drop(ctx context.Context, coll string) error {
	if err := b.ready("drop"); err != nil {
		return err
	}
	if err := b.db.Collection(coll).Drop(ctx); err != nil {
		return b.fail(ctx, "drop "+coll, nil, err)
	}
	sc := seriesCollection(coll)
	if err := b.db.Collection(sc).Drop(ctx); err != nil {
		return b.fail(ctx, "drop "+sc, nil, err)
	}
	b.indexed.Delete(sc)
	return nil
}

func (b *Backend) ready(op string) error {
	if b.closed.Load() {
		return fmt.Errorf("mongo: %s: %w", op, backend.ErrClosed)
	}
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
	codeDuplicateKey      = 11000
	codeUpdateTooLarge    = 17419
	codeUpdateTooLarge2   = 17420
)

// fail classifies err of the operation described by what. Context errors
// pass through unchanged; invalid lists the server codes that mean the
// ops conflict with the document (Merge only).
func (b *Backend) fail(ctx context.Context, what string, invalid []int, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return ctx.Err()
	}
	err = b.scrub(err)
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
					break
				}
			}
		}
	}
	if class == nil {
		return fmt.Errorf("mongo: %s: %w", what, err)
	}
	return fmt.Errorf("mongo: %s: %w: %w", what, class, err)
}

func (b *Backend) scrub(err error) error { return scrub(err, b.secrets) }

// scrubbed hides secrets in the text of an error it keeps reachable.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// scrub returns err, or an error with the same chain whose text shows no
// secret, if its text contains one.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	hidden := msg
	for _, s := range secrets {
		hidden = strings.ReplaceAll(hidden, s, "xxxxx")
	}
	if hidden == msg {
		return err
	}
	return &scrubbed{msg: hidden, err: err}
}

// passwords returns the forms in which the password of dsn may appear in
// error text: as written and unescaped.
func passwords(dsn string) []string {
	_, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	_, pw, ok := strings.Cut(rest[:at], ":")
	if !ok || pw == "" {
		return nil
	}
	out := []string{pw}
	for _, un := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
		if u, err := un(pw); err == nil && u != pw && u != "" {
			out = append(out, u)
		}
	}
	return out
}
