package record_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/recordlab/go-record/backend"
	_ "github.com/recordlab/go-record/backend/all"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/internal/redact/redacttest"
	"github.com/recordlab/go-record/record"
)

// openers are the doors a DSN goes through: the library and the adapter
// registry (which calls the adapter's Open).
var openers = []struct {
	name string
	open func(ctx context.Context, dsn string) (func(), error)
}{
	{"record.Open", func(ctx context.Context, dsn string) (func(), error) {
		s, err := record.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return func() { s.Close(context.Background()) }, nil
	}},
	{"backend.Open", func(ctx context.Context, dsn string) (func(), error) {
		b, err := backend.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return func() { b.Close() }, nil
	}},
}

// TestSecretOpen opens every DSN form of the corpus through record.Open
// and backend.Open and checks that the error shows the password in no
// form (Error, %v, %+v, %#v, anything errors.Unwrap reaches) and still
// matches its class.
func TestSecretOpen(t *testing.T) {
	forms := redacttest.Forms(redacttest.NewEnv(t))
	if len(forms) < 40 {
		t.Fatalf("the corpus has %d DSN forms, want at least 40", len(forms))
	}
	for _, f := range forms {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			for _, o := range openers {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				closeIt, err := o.open(ctx, f.DSN)
				cancel()
				checkOpenError(t, o.name, f, closeIt, err)
			}
		})
	}
}

// TestSecretOpenEnv opens each form through $RECORD_DSN, as
// record.Open(ctx, "") does.
func TestSecretOpenEnv(t *testing.T) {
	for _, f := range redacttest.Forms(redacttest.NewEnv(t)) {
		if f.Live {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Setenv(record.DSNEnv, f.DSN)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			s, err := record.Open(ctx, "")
			closeIt := func() {}
			if s != nil {
				closeIt = func() { s.Close(context.Background()) }
			}
			checkOpenError(t, "record.Open($RECORD_DSN)", f, closeIt, err)
		})
	}
}

func checkOpenError(t *testing.T, door string, f redacttest.Form, closeIt func(), err error) {
	t.Helper()
	if err == nil {
		closeIt()
		if f.Live {
			t.Logf("%s: the server accepted the credentials: no error to check", door)
			return
		}
		t.Errorf("%s(%q) opened; want an error", door, f.DSN)
		return
	}
	t.Logf("%s: %v", door, err) // scrubbed, or the test fails below
	for _, leak := range redacttest.Leaks(err, f.Needles()) {
		t.Errorf("%s leaks the password: %s", door, leak)
	}
	if f.Class != nil && !errors.Is(err, f.Class) {
		t.Errorf("%s: errors.Is(err, %v) = false; err = %v", door, f.Class, err)
	}
}

// TestSecretDriverType checks that a scrubbed error still hands out the
// driver's own error type when that shows no password: the PostgreSQL
// server's refusal of an unknown role, with its SQLSTATE.
func TestSecretDriverType(t *testing.T) {
	env := redacttest.NewEnv(t)
	if env.Postgres == "" {
		backendtest.Unavailable(t, "postgres", "set RECORD_TEST_POSTGRES_DSN")
	}
	for _, f := range redacttest.Forms(env) {
		if f.Name != "postgres live unknown role" {
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := record.Open(ctx, f.DSN)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28000" {
			t.Fatalf("errors.As(%v, *pgconn.PgError) = %v; want SQLSTATE 28000", err, pgErr)
		}
		if n := redacttest.Find(fmt.Sprintf("%v %+v %#v", pgErr, pgErr, pgErr), f.Needles()); n != "" {
			t.Errorf("the driver's error shows %q", n)
		}
		return
	}
	t.Fatal("no form \"postgres live unknown role\" in the corpus")
}
