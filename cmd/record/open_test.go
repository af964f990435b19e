package main

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readingCommands are the commands that only read the store named by
// DSN, with arguments; out is a directory for plot's file.
func readingCommands(dsn, out string) [][]string {
	return [][]string{
		{"--dsn", dsn, "collections"},
		{"--dsn", dsn, "ls", coll},
		{"--dsn", dsn, "ls", coll, "--where", "created>2026-11-26", "--json"},
		{"--dsn", dsn, "show", coll, "run-a"},
		{"--dsn", dsn, "diff", coll, "run-a", "run-b"},
		{"--dsn", dsn, "plot", coll, "-o", filepath.Join(out, "p.png")},
		{"--dsn", dsn, "export", coll},
		{"--dsn", dsn, "export", coll, "--where", "lr>0"},
		{"copy", "--from", dsn, "--to", "mem://" + unique("dst")},
		{"copy", "--from", dsn, "--to", "mem://" + unique("dst"), coll},
		{"ls", "--dsn", dsn, coll},
		{"--dsn", dsn, "report", coll, "-o", filepath.Join(out, "r.md")},
		{"--dsn", dsn, "compare", coll, "run-a", "run-b"},
		{"--dsn", dsn, "ls", coll, "--group-by", "lr", "--metric", "loss.min"},
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

// TestReadingCommandsCreateNothing: a reading command on a SQLite DSN
// whose file does not exist creates no file and fails with "no such
// store", exit status 3; also through $RECORD_DSN, and for file names
// with URI delimiters, quotes and control characters.
func TestReadingCommandsCreateNothing(t *testing.T) {
	out := t.TempDir()
	for _, name := range []string{"typo.db", "a?b#c%d.db", `q"uo'te\ .db`, "ctl\x01\xff.db"} {
		dir := t.TempDir()
		path := filepath.Join(dir, name)
		dsn := "sqlite://" + url.PathEscape(path)
		for _, args := range readingCommands(dsn, out) {
			_, stderr, code := cli(t, "", args...)
			if code != exitNotFound || !strings.Contains(stderr, "no such store") || !strings.Contains(stderr, "does not exist") {
				t.Errorf("record %q: exit %d, stderr %q; want 3 and no such store", args, code, stderr)
			}
			if strings.Contains(stderr, "x-create") {
				t.Errorf("record %q: stderr %q shows the internal option", args, stderr)
			}
			if n := names(t, dir); len(n) != 0 {
				t.Fatalf("record %q created %q", args, n)
			}
		}
	}
	if n := names(t, out); len(n) != 0 {
		t.Errorf("plot wrote %q", n)
	}
	dir := t.TempDir()
	t.Setenv("RECORD_DSN", "sqlite://"+filepath.Join(dir, "env.db"))
	if _, stderr, code := cli(t, "", "collections"); code != exitNotFound || !strings.Contains(stderr, "no such store") {
		t.Errorf("collections via $RECORD_DSN: exit %d, stderr %q", code, stderr)
	}
	if n := names(t, dir); len(n) != 0 {
		t.Errorf("collections via $RECORD_DSN created %q", n)
	}
}

// TestReadingCommandsLeaveStore: on a SQLite store that exists, reading
// commands work and leave exactly the files that were there (no -wal or
// -shm), and writing commands still create a missing store.
func TestReadingCommandsLeaveStore(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite://" + url.PathEscape(filepath.Join(dir, "a?b#.db"))
	seed(t, open(t, dsn))
	want := names(t, dir)
	out := t.TempDir()
	for _, args := range readingCommands(dsn, out) {
		if _, stderr, code := cli(t, "", args...); code != 0 {
			t.Errorf("record %q: exit %d, stderr %q", args, code, stderr)
		}
	}
	// The store is closed by the test's cleanup; the commands' own
	// connections are closed: compare once open's is closed too.
	t.Cleanup(func() {
		if got := names(t, dir); !slices.Equal(got, want) {
			t.Errorf("files after reading commands: %q, want %q", got, want)
		}
	})

	// Writing commands create what is missing, as before.
	wdir := t.TempDir()
	wdsn := "sqlite://" + filepath.Join(wdir, "new.db")
	exported := ok(t, "--dsn", dsn, "export", coll)
	if _, stderr, code := cli(t, exported, "--dsn", wdsn, "import", coll); code != 0 {
		t.Fatalf("import into a new store: exit %d, %q", code, stderr)
	}
	if got := ok(t, "--dsn", wdsn, "collections"); got != coll+"\n" {
		t.Errorf("collections of the imported store = %q", got)
	}
	cdsn := "sqlite://" + filepath.Join(wdir, "copy.db")
	ok(t, "copy", "--from", dsn, "--to", cdsn)
	if got := ok(t, "--dsn", cdsn, "collections"); got != coll+"\n" {
		t.Errorf("collections of the copied store = %q", got)
	}
}
