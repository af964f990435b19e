package sqlite_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
)

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// hostileNames are file names that must survive the file: URI that
// x-create=false builds: URI delimiters, escapes, quotes, spaces,
// backslashes, control characters and invalid UTF-8.
var hostileNames = []string{
	"runs.db",
	"a?b.db",
	"a#b.db",
	"100%.db",
	"%3F.db",
	`q"uo'te.db`,
	`back\slash.db`,
	"sp ace.db",
	"tab\tnl\n.db",
	"inv\xffalid.db",
	"ünïcode.db",
	"semi;colon&amp=.db",
}

func dsnFor(path string) string {
	return "sqlite://" + url.PathEscape(path)
}

// TestOpenNoCreateMissing: x-create=false creates no file for a missing
// path, whatever its name, and says so with ErrNotFound naming the path.
func TestOpenNoCreateMissing(t *testing.T) {
	for _, name := range hostileNames {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		_, err := sqlite.Open(t.Context(), dsnFor(path)+"?x-create=false")
		if !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("%q: Open = %v, want ErrNotFound", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "no such store") {
			t.Errorf("%q: error %q does not say no such store", name, err)
		}
		if got := dirNames(t, dir); len(got) != 0 {
			t.Errorf("%q: Open created %q", name, got)
		}
	}
}

// TestOpenNoCreateExisting: x-create=false opens a store that exists,
// reads and writes it, and leaves no -wal or -shm file behind.
func TestOpenNoCreateExisting(t *testing.T) {
	for _, name := range hostileNames {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		b := open(t, dsnFor(path))
		doc := map[string]any{"v": "x\x00y\"\\", "n": int64(1)}
		if err := b.Insert(t.Context(), "c", "a", doc); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		b.Close()
		want := dirNames(t, dir)
		r, err := sqlite.Open(t.Context(), dsnFor(path)+"?x-create=false")
		if err != nil {
			t.Fatalf("%q: Open(x-create=false) = %v", name, err)
		}
		if _, err := r.Get(t.Context(), "c", "a"); err != nil {
			t.Errorf("%q: Get = %v", name, err)
		}
		if err := r.Insert(t.Context(), "c", "b", map[string]any{}); err != nil {
			t.Errorf("%q: Insert = %v", name, err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if got := dirNames(t, dir); !slices.Equal(got, want) {
			t.Errorf("%q: files %q after x-create=false, want %q", name, got, want)
		}
	}
}

// TestOpenNoCreateNotAStore: an empty file, or an SQLite file without the
// tables of x-table, is ErrNotFound and gets no tables.
func TestOpenNoCreateNotAStore(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(t.Context(), dsnFor(empty)+"?x-create=false")
	if !errors.Is(err, backend.ErrNotFound) || !strings.Contains(err.Error(), "has no table records") {
		t.Errorf("empty file: Open = %v, want ErrNotFound naming the table", err)
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("empty file changed: %v, %v", fi, err)
	}
	other := filepath.Join(dir, "other.db")
	open(t, dsnFor(other)).Close()
	_, err = sqlite.Open(t.Context(), dsnFor(other)+"?x-table=exp&x-create=false")
	if !errors.Is(err, backend.ErrNotFound) || !strings.Contains(err.Error(), "has no table exp") {
		t.Errorf("other table: Open = %v, want ErrNotFound naming exp", err)
	}
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database \x00\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(t.Context(), dsnFor(junk)+"?x-create=false"); err == nil || errors.Is(err, backend.ErrNotFound) {
		t.Errorf("junk file: Open = %v, want an error other than not found", err)
	}
}

// TestOpenCreateOption checks the values x-create accepts.
func TestOpenCreateOption(t *testing.T) {
	for _, v := range []string{"true", "1", "TRUE"} {
		dir := t.TempDir()
		b, err := sqlite.Open(t.Context(), dsnFor(filepath.Join(dir, "r.db"))+"?x-create="+v)
		if err != nil {
			t.Fatalf("x-create=%s: %v", v, err)
		}
		b.Close()
		if len(dirNames(t, dir)) == 0 {
			t.Errorf("x-create=%s created nothing", v)
		}
	}
	for _, v := range []string{"", "maybe", "NaN", "%22", "%00", "tru%C3%A9", "%FF"} {
		dir := t.TempDir()
		_, err := sqlite.Open(t.Context(), dsnFor(filepath.Join(dir, "r.db"))+"?x-create="+v)
		if !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("x-create=%q: Open = %v, want ErrInvalid", v, err)
		}
		if got := dirNames(t, dir); len(got) != 0 {
			t.Errorf("x-create=%q created %q", v, got)
		}
	}
}
