package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/recordlab/go-record/record"
)

// TestWhereTimes: --where compares times with RFC 3339 times, datetimes
// without zone (UTC) and plain dates (midnight UTC), on every backend.
// The seed's records were created at 10:00, 11:00 and 12:00 UTC on
// 2026-11-25.
func TestWhereTimes(t *testing.T) {
	cases := []struct {
		where string
		want  string // ids, one per line
	}{
		{"created>2026-11-25", "run-a\nrun-b\nrun-c\n"},
		{"created>=2026-11-25T11:00:00Z", "run-b\nrun-c\n"},
		{"created>2026-11-25T11:00:00", "run-c\n"},
		{"created<2026-11-25 11:00", "run-a\n"},
		{"created=2026-11-25T12:00:00+00:00", "run-c\n"},
		{"created<2026-11-25T12:30:00+01:00", "run-a\nrun-b\n"},
		{"created!=2026-11-25T10:00:00Z", "run-b\nrun-c\n"},
		{"created>2026-11-26", ""},
		{"params.exact.when<2026-01-02", ""},
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			seed(t, open(t, dsn))
			for _, c := range cases {
				_, stderr, code := cli(t, "", "--dsn", dsn, "ls", coll, "--where", c.where, "--json")
				if code != 0 {
					t.Errorf("--where %q: exit %d, %q", c.where, code, stderr)
					continue
				}
				out := ok(t, "--dsn", dsn, "ls", coll, "--where", c.where, "--json")
				var ids strings.Builder
				for line := range strings.Lines(out) {
					_, rest, _ := strings.Cut(line, `"id":`)
					id, _, _ := strings.Cut(strings.TrimLeft(rest, ` "`), `"`)
					ids.WriteString(id + "\n")
				}
				if ids.String() != c.want {
					t.Errorf("--where %q: ids %q, want %q", c.where, ids.String(), c.want)
				}
			}
		})
	}
}

// TestWhereIncomparable: a condition that no record can match because the
// values at its path are of another kind is a usage error (exit 2,
// record.ErrInvalid) naming the path and both kinds, in ls, export and
// plot; a condition that merely matches nothing is not.
func TestWhereIncomparable(t *testing.T) {
	bad := []struct {
		where string
		kinds []string // in the message
	}{
		{"created>abc", []string{"string", "time", `"created"`}},
		{`created>"2026-11-26"`, []string{"string", "time"}},
		{"optimizer>3", []string{"number", "string", `"optimizer"`}},
		{"optimizer=2026-11-25", []string{"time", "string"}},
		{"lr=adam", []string{"string", "number", `"lr"`}},
		{"lr<true", []string{"bool", "number"}},
		{`lr="q\"uo'te\\ \x01"`, []string{"string", "number"}},
		{"models.model_0.losses>1", []string{"number", "array"}},
		{"models>1", []string{"number", "object"}},
	}
	quiet := []string{
		"lr>1e308", "lr<-Inf", "lr>NaN", "lr=1.7976931348623157e308", "optimizer=nadam",
		"no.such.path>2026-11-26", "lr=null", "optimizer!=3", "created<2000-01-01",
		"lr>0.05 ",
	}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			dsn := st.dsn(t)
			seed(t, open(t, dsn))
			for _, c := range bad {
				for _, cmd := range [][]string{
					{"ls", coll, "--where", c.where},
					{"export", coll, "--where", c.where},
					{"plot", coll, "--where", c.where, "-o", "-"},
					{"ls", coll, "--where", "epochs=10", "--where", c.where},
				} {
					var out, errb strings.Builder
					code := run(t.Context(), append([]string{"--dsn", dsn}, cmd...), strings.NewReader(""), &out, &errb)
					msg := errb.String()
					if code != exitUsage || !strings.Contains(msg, "bad --where") {
						t.Errorf("record %q: exit %d, stderr %q; want 2 and bad --where", cmd, code, msg)
						continue
					}
					for _, k := range c.kinds {
						if !strings.Contains(msg, k) {
							t.Errorf("record %q: stderr %q does not name %s", cmd, msg, k)
						}
					}
					if out.Len() != 0 {
						t.Errorf("record %q wrote %q on stdout", cmd, out.String())
					}
				}
			}
			if _, stderr, code := cli(t, "", "--dsn", dsn, "ls", coll, "--where", "status=\xff\xfe"); code != exitUsage || !strings.Contains(stderr, "UTF-8") {
				t.Errorf("ls --where with invalid UTF-8: exit %d, %q; want 2", code, stderr)
			}
			for _, w := range quiet {
				if _, stderr, code := cli(t, "", "--dsn", dsn, "ls", coll, "--where", w); code != 0 {
					t.Errorf("ls --where %q: exit %d, %q; want 0", w, code, stderr)
				}
			}
		})
	}
}

// TestWhereBoolOrder: bools have no order, so < <= > >= on a path that
// holds only bools is a usage error; = and != are not.
func TestWhereBoolOrder(t *testing.T) {
	dsn := "mem://" + unique("bool")
	s := open(t, dsn)
	rec, err := s.Create(t.Context(), "c", record.WithID("a"), record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Update(t.Context(), map[string]any{"flag": true, "when": "2026-11-26"}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"flag<true", "flag>=false"} {
		if _, stderr, code := cli(t, "", "--dsn", dsn, "ls", "c", "--where", w); code != exitUsage || !strings.Contains(stderr, "no order") {
			t.Errorf("--where %q: exit %d, %q; want 2 and no order", w, code, stderr)
		}
	}
	for _, w := range []string{"flag=false", "flag!=true", `when="2026-11-27"`, "flag=null"} {
		if _, stderr, code := cli(t, "", "--dsn", dsn, "ls", "c", "--where", w); code != 0 {
			t.Errorf("--where %q: exit %d, %q; want 0", w, code, stderr)
		}
	}
	// A date compared with strings that look like dates: the message says
	// to quote it.
	if _, stderr, code := cli(t, "", "--dsn", dsn, "ls", "c", "--where", "when>2026-11-27"); code != exitUsage || !strings.Contains(stderr, "quote") {
		t.Errorf("--where when>2026-11-27 on strings: exit %d, %q", code, stderr)
	}
}

// TestWhereErrorClass: the incomparable error matches record.ErrInvalid.
func TestWhereErrorClass(t *testing.T) {
	err := error(&usageError{msg: "x", err: record.ErrInvalid})
	if !errors.Is(err, record.ErrInvalid) || exitCode(err) != exitUsage {
		t.Errorf("usageError with ErrInvalid: Is = %v, exit %d", errors.Is(err, record.ErrInvalid), exitCode(err))
	}
}
