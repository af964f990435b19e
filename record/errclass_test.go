package record_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/recordlab/go-record/backend/all"
	"github.com/recordlab/go-record/record"
)

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestErrorClassUnavailable: a server that refuses connections, or a file
// that cannot be opened, is ErrUnavailable, with the driver's error still
// reachable and no password in the text.
func TestErrorClassUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://u:Sekr1tPw@" + freePort(t) + "/db?sslmode=disable&connect_timeout=5",
		"sqlite://" + filepath.Join(t.TempDir(), "no", "such", "dir", "runs.db"),
		"mongodb://u:Sekr1tPw@" + freePort(t) + "/db?serverSelectionTimeoutMS=1500&connectTimeoutMS=1000",
	} {
		_, err := record.Open(ctx, dsn)
		if !errors.Is(err, record.ErrUnavailable) {
			t.Errorf("Open(%s) = %v, want ErrUnavailable", record.RedactDSN(dsn), err)
		}
		if err != nil && strings.Contains(err.Error(), "Sekr1tPw") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// TestErrorClassFull: SQLite refusing a write for lack of room (here a
// page limit, as a full disk would) is ErrFull, the write is not applied,
// and what was stored before is intact.
func TestErrorClassFull(t *testing.T) {
	ctx := t.Context()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "full.db") + "?_pragma=max_page_count(200)"
	st, err := record.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	rec, err := st.Create(ctx, "c", record.WithID("keep"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Set(ctx, "note", "before"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	var full error
	for i := range 200 {
		if err := rec.Append(ctx, "blobs", big); err != nil {
			full = err
			break
		}
		_ = i
	}
	if !errors.Is(full, record.ErrFull) {
		t.Fatalf("writing past the page limit: %v, want ErrFull", full)
	}
	snap, err := st.Get(ctx, "c", "keep")
	if err != nil {
		t.Fatalf("Get after ErrFull: %v", err)
	}
	if note, _ := snap.Text("note"); note != "before" {
		t.Fatalf("note = %q after ErrFull, want before", note)
	}
}
