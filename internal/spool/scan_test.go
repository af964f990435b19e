package spool_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/redact"
	"github.com/recordlab/go-record/internal/spool"
)

func TestScanMissingRoot(t *testing.T) {
	infos, err := spool.Scan(filepath.Join(t.TempDir(), "none"))
	if infos != nil || err != nil {
		t.Errorf("Scan of a missing root = %v, %v; want nothing", infos, err)
	}
}

func TestScan(t *testing.T) {
	const pw, pw2 = "hunter2-s3cret", "pem-pass-77"
	raw := "postgres://alice:" + pw + "@db:5432/runs?sslpassword=" + pw2
	store := redact.Text(raw, redact.Secrets(raw)...)
	if strings.Contains(store, pw) || strings.Contains(store, pw2) {
		t.Fatalf("redact left a secret in %q", store)
	}
	root := t.TempDir()
	var want []spool.Info
	add := func(h spool.Header) {
		t.Helper()
		j, err := spool.Create(root, h)
		if err != nil {
			t.Fatal(err)
		}
		end, err := j.Append(spool.Entry{Seq: 1, Metric: "m", Points: []backend.Point{{Step: 1, Value: 1, Time: zonedWant}}})
		if err != nil {
			t.Fatal(err)
		}
		if rel, err := filepath.Rel(root, j.Path()); err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 2 {
			t.Errorf("journal of %+v at %s, outside root/<store>/<collection>/", h, j.Path())
		}
		want = append(want, spool.Info{Path: j.Path(), Header: j.Header(), Size: end})
		j.Close()
	}
	for _, st := range []string{store, "sqlite:///tmp/x.db"} {
		for _, coll := range []string{"runs", "Nov-25-2026", "..", "../../etc"} {
			for _, idw := range [][2]string{{"r1", "w1"}, {"a.b", "c"}, {"a", "b.c"}, {"..", "."}, {"x/../../y", "w/../../z"}, {"\xff\x00\"", strings.Repeat("long-writer-", 30)}} {
				add(spool.Header{Store: st, Collection: coll, ID: idw[0], Writer: idw[1], Created: zonedWant})
			}
		}
	}
	// A damaged journal and a leftover temporary file.
	bad := filepath.Join(filepath.Dir(want[0].Path), "bad.x.journal")
	if err := os.WriteFile(bad, []byte("not a journal"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(want[0].Path), ".tmp-123"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b spool.Info) int { return strings.Compare(a.Path, b.Path) })

	got, err := spool.Scan(root)
	if !errors.Is(err, spool.ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Scan error = %v, want ErrCorrupt naming %s", err, bad)
	}
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Errorf("Scan (-want +got):\n%s", diff)
	}
	paths := map[string]bool{}
	for _, in := range got {
		paths[in.Path] = true
	}
	if len(paths) != len(want) {
		t.Errorf("%d distinct paths for %d journals", len(paths), len(want))
	}

	// No password anywhere: not in what Scan says, nor in any name or
	// byte under root.
	shown := fmt.Sprintf("%v %+v %#v", got, got, err)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, _ error) error {
		shown += p
		if !d.IsDir() {
			b, _ := os.ReadFile(p)
			shown += string(b)
		}
		return nil
	})
	for _, sec := range []string{pw, pw2} {
		if strings.Contains(shown, sec) {
			t.Errorf("password %q shown", sec)
		}
	}
}
