package backend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
)

func TestSplitOptions(t *testing.T) {
	known := []string{"x-table", "x-schema"}
	cases := []struct {
		name       string
		dsn        string
		wantNative string
		wantOpts   map[string]string
		wantErr    string // non-empty: ErrInvalid whose text holds this
	}{
		{"NoQuery", "postgres://u:p@h/db", "postgres://u:p@h/db", map[string]string{}, ""},
		{"EmptyQuery", "postgres://h/db?", "postgres://h/db", map[string]string{}, ""},
		{"OnlyNative", "postgres://h/db?sslmode=disable&connect_timeout=5", "postgres://h/db?sslmode=disable&connect_timeout=5", map[string]string{}, ""},
		{"OnlyOption", "postgres://h/db?x-table=runs", "postgres://h/db", map[string]string{"x-table": "runs"}, ""},
		{"MixedKeepsNativeOrder", "postgres://h/db?sslmode=disable&x-table=runs&application_name=a&x-schema=s",
			"postgres://h/db?sslmode=disable&application_name=a", map[string]string{"x-table": "runs", "x-schema": "s"}, ""},
		{"EmptyValue", "mem://?x-table=", "mem://", map[string]string{"x-table": ""}, ""},
		{"NoEquals", "mem://?x-table", "mem://", map[string]string{"x-table": ""}, ""},
		{"EmptyParts", "mem://?&&x-table=t&&a=1&", "mem://?a=1", map[string]string{"x-table": "t"}, ""},
		{"EscapedValue", "mem://?x-table=my%20runs%26more", "mem://", map[string]string{"x-table": "my runs&more"}, ""},
		{"PlusIsSpace", "mem://?x-table=a+b", "mem://", map[string]string{"x-table": "a b"}, ""},
		{"EscapedKey", "mem://?x%2Dtable=t", "mem://", map[string]string{"x-table": "t"}, ""},
		{"NativeKeepsItsEscapes", "postgres://h/db?password=p%26w&x-table=t", "postgres://h/db?password=p%26w", map[string]string{"x-table": "t"}, ""},
		{"BadEscapeInNativeKeyKept", "mem://?a%zz=1&x-table=t", "mem://?a%zz=1", map[string]string{"x-table": "t"}, ""},
		{"Fragment", "mem://name?x-table=t#frag", "mem://name#frag", map[string]string{"x-table": "t"}, ""},
		{"FragmentWithNative", "mem://name?a=1&x-table=t#frag", "mem://name?a=1#frag", map[string]string{"x-table": "t"}, ""},
		{"FragmentOnly", "mem://name#frag", "mem://name#frag", map[string]string{}, ""},
		{"NotAnOptionWithoutDash", "mem://?xtable=1", "mem://?xtable=1", map[string]string{}, ""},
		{"Unknown", "mem://?x-nope=1", "", nil, `"x-nope"`},
		{"UnknownNamesKnown", "mem://?x-nope=1", "", nil, "x-table, x-schema"},
		{"UnknownUpperCase", "mem://?X-Table=t", "", nil, `"X-Table"`},
		{"UnknownEscaped", "mem://?x%2Dnope=1", "", nil, `"x-nope"`},
		{"Duplicate", "mem://?x-table=a&x-table=b", "", nil, "x-table given twice"},
		{"DuplicateEscaped", "mem://?x-table=a&x%2Dtable=b", "", nil, "given twice"},
		{"BadEscapeInValue", "mem://?x-table=%zz", "", nil, "bad escape"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			native, opts, err := backend.SplitOptions(tc.dsn, known...)
			if tc.wantErr != "" {
				if !errors.Is(err, backend.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SplitOptions(%q) error = %v, want ErrInvalid saying %s", tc.dsn, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitOptions(%q): %v", tc.dsn, err)
			}
			if native != tc.wantNative {
				t.Errorf("native = %q, want %q", native, tc.wantNative)
			}
			if diff := cmp.Diff(tc.wantOpts, opts); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitOptionsNoneKnown(t *testing.T) {
	if _, _, err := backend.SplitOptions("mem://?x-table=t"); !errors.Is(err, backend.ErrInvalid) {
		t.Fatalf("an x- option with none known: %v, want ErrInvalid", err)
	}
	native, opts, err := backend.SplitOptions("mem://?a=1")
	if err != nil || native != "mem://?a=1" || len(opts) != 0 {
		t.Fatalf("SplitOptions(mem://?a=1) = %q, %v, %v", native, opts, err)
	}
}

func TestSplitOptionsErrorHidesPassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:s3cr3t-pw@h/db?x-nope=1",
		"postgres://h/db?password=s3cr3t-pw&x-table=a&x-table=b",
		"postgres://h/db?password=s3cr3t-pw&x-table=%zz",
	} {
		_, _, err := backend.SplitOptions(dsn, "x-table")
		if err == nil || strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("SplitOptions(%q) error = %v: want one that hides the password", dsn, err)
		}
	}
}
