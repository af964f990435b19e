package backend_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/recordlab/go-record/backend"
)

// fake is a Backend that remembers the DSN it was opened with.
type fake struct {
	backend.Backend
	dsn string
}

// fakeOpener returns an Opener that opens fakes.
func fakeOpener(ctx context.Context, dsn string) (backend.Backend, error) {
	return &fake{dsn: dsn}, nil
}

func init() {
	backend.Register("regtest-fake", fakeOpener)
	backend.Register("Regtest-Upper", fakeOpener)
	backend.Register("regtest-fail", func(context.Context, string) (backend.Backend, error) {
		return nil, fmt.Errorf("regtest-fail: %w", backend.ErrInvalid)
	})
}

func TestRegisterPanics(t *testing.T) {
	cases := []struct {
		name   string
		scheme string
		open   backend.Opener
	}{
		{"EmptyScheme", "", fakeOpener},
		{"NilOpener", "regtest-nil", nil},
		{"Duplicate", "regtest-fake", fakeOpener},
		{"DuplicateOtherCase", "REGTEST-FAKE", fakeOpener},
		{"DuplicateOfUpper", "regtest-upper", fakeOpener},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatalf("Register(%q) did not panic", tc.scheme)
				}
				if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "backend: ") {
					t.Errorf("panic %q does not start with the package name", msg)
				}
			}()
			backend.Register(tc.scheme, tc.open)
		})
	}
	if slices.Contains(backend.Schemes(), "regtest-nil") {
		t.Fatal("a refused Register left its scheme registered")
	}
}

func TestSchemes(t *testing.T) {
	s := backend.Schemes()
	if !slices.IsSorted(s) {
		t.Fatalf("Schemes() = %q, not sorted", s)
	}
	for _, want := range []string{"regtest-fail", "regtest-fake", "regtest-upper"} {
		if !slices.Contains(s, want) {
			t.Errorf("Schemes() = %q, want it to hold %q (lower case)", s, want)
		}
	}
	s[0] = "changed"
	if backend.Schemes()[0] == "changed" {
		t.Fatal("Schemes returns the registry's own slice")
	}
}

func TestOpen(t *testing.T) {
	cases := []struct {
		name    string
		dsn     string
		wantErr error    // nil: opens a fake
		say     []string // the error says each of these
		notSay  []string // and none of these
	}{
		{"Registered", "regtest-fake://host/db", nil, nil, nil},
		{"SchemeCaseInsensitive", "REGTEST-Fake://host/db", nil, nil, nil},
		{"RegisteredInUpperCase", "regtest-upper://x", nil, nil, nil},
		{"NoSlashes", "regtest-fake:relative", nil, nil, nil},
		{"Unknown", "nope://host/db", backend.ErrInvalid,
			[]string{`"nope"`, "regtest-fake", "regtest-upper", "forgotten import?"}, nil},
		{"UnknownNamesSchemeInLowerCase", "NoPe://x", backend.ErrInvalid, []string{`"nope"`, "forgotten import?"}, nil},
		{"UnknownWithPassword", "nope://user:s3cr3t-pw@host/db", backend.ErrInvalid, []string{"forgotten import?"}, []string{"s3cr3t-pw"}},
		{"Empty", "", backend.ErrInvalid, []string{"scheme"}, nil},
		{"NoColon", "records.db", backend.ErrInvalid, []string{"scheme"}, nil},
		{"LeadingColon", "://host", backend.ErrInvalid, []string{"scheme"}, nil},
		{"NoSchemeWithPassword", "//user:s3cr3t-pw@host/db", backend.ErrInvalid, nil, []string{"s3cr3t-pw"}},
		{"OpenerError", "regtest-fail://x", backend.ErrInvalid, []string{"regtest-fail"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open(t.Context(), tc.dsn)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Open(%q): %v", tc.dsn, err)
				}
				f, ok := b.(*fake)
				if !ok || f.dsn != tc.dsn {
					t.Fatalf("Open(%q) = %#v, want a fake given the whole DSN", tc.dsn, b)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open(%q) = %v, want %v", tc.dsn, err, tc.wantErr)
			}
			for _, s := range tc.say {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Open(%q) error %q does not say %q", tc.dsn, err, s)
				}
			}
			for _, s := range tc.notSay {
				if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), s) {
					t.Errorf("Open(%q) error %q reveals %q", tc.dsn, err, s)
				}
			}
		})
	}
}
