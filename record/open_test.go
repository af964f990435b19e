package record_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordlab/go-record/record"
)

// TestOpenExisting: OpenExisting reports a missing SQLite store as
// ErrNotFound, naming the DSN as given, and creates nothing; it opens an
// existing one, and mem:// as Open does.
func TestOpenExisting(t *testing.T) {
	ctx := t.Context()
	for _, name := range []string{"typo.db", "a?b#c%d.db", `q"'\ .db`, "x\x01\xff.db"} {
		dir := t.TempDir()
		dsn := "sqlite://" + url.PathEscape(filepath.Join(dir, name))
		for _, d := range []string{dsn, dsn + "?x-table=exp", dsn + "?_pragma=cache_size(-2000)#frag"} {
			_, err := record.OpenExisting(ctx, d)
			if !errors.Is(err, record.ErrNotFound) {
				t.Fatalf("OpenExisting(%q) = %v, want ErrNotFound", d, err)
			}
			var re *record.Error
			if !errors.As(err, &re) || strings.Contains(re.Error(), "x-create") || !strings.Contains(err.Error(), "no such store") {
				t.Errorf("OpenExisting(%q) = %q, want a *record.Error saying no such store, without x-create", d, err)
			}
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%q: OpenExisting created %d files", name, len(ents))
		}
		s, err := record.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "c", record.WithID("a"), record.WithoutHost()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s, err = record.OpenExisting(ctx, dsn)
		if err != nil {
			t.Fatalf("OpenExisting(%q) of a store = %v", dsn, err)
		}
		if _, err := s.Get(ctx, "c", "a"); err != nil {
			t.Errorf("Get = %v", err)
		}
		s.Close(ctx)
	}
	// A '#' before the query is part of the file name, as for Open.
	dir0 := t.TempDir()
	for _, d := range []string{"sqlite://" + dir0 + "/h#sh.db", "sqlite://" + dir0 + "/h#sh.db?x-table=exp#frag", "sqlite://" + dir0 + "/h#sh.db?&"} {
		if _, err := record.OpenExisting(ctx, d); !errors.Is(err, record.ErrNotFound) || !strings.Contains(err.Error(), "h#sh.db") {
			t.Errorf("OpenExisting(%q) = %v, want ErrNotFound naming h#sh.db", d, err)
		}
	}
	if ents, _ := os.ReadDir(dir0); len(ents) != 0 {
		t.Errorf("OpenExisting created %d files", len(ents))
	}
	// An explicit x-create is the caller's: it wins.
	dir := t.TempDir()
	s, err := record.OpenExisting(ctx, "sqlite://"+filepath.Join(dir, "new.db")+"?x-create=true")
	if err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	if _, err := os.Stat(filepath.Join(dir, "new.db")); err != nil {
		t.Errorf("x-create=true: %v", err)
	}
	s, err = record.OpenExisting(ctx, "mem://")
	if err != nil {
		t.Fatalf("OpenExisting(mem://) = %v", err)
	}
	s.Close(ctx)
}
