package record

import (
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/recordlab/go-record/hw"
)

// TestReservedFlagError checks the error for a flag named like a reserved
// field: an *InvalidError at the flag's name that names the flag and the
// way out (UpdateAt under a key).
func TestReservedFlagError(t *testing.T) {
	for _, name := range []string{"id", "status", "error", "metrics.x", "created"} {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.Float64("lr", 0.1, "")
		fs.String(name, "", "")
		err := reservedFlagError(fs)
		var ie *InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) || ie.Path != name {
			t.Fatalf("reservedFlagError(-%s) = %v", name, err)
		}
		for _, want := range []string{"flag -" + name, "reserved", `UpdateAt(ctx, "flags", fs)`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.Float64("lr", 0.1, "")
	fs.String("identity", "", "")
	fs.String("status_file", "", "")
	if err := reservedFlagError(fs); err != nil {
		t.Errorf("look-alike names: %v", err)
	}
	// A reserved short alias of a long flag is stored under the long name:
	// not an error.
	var v string
	fs.StringVar(&v, "identifier", "", "")
	fs.StringVar(&v, "id", "", "")
	if err := reservedFlagError(fs); err != nil {
		t.Errorf("reserved alias of a long flag: %v", err)
	}
	if err := reservedFlagError(flag.NewFlagSet("empty", flag.ContinueOnError)); err != nil {
		t.Errorf("empty flag set: %v", err)
	}
}

// TestRedactFacts checks what Create stores of hw.Detect's facts: the
// build settings (-ldflags -X values), the environment, the command line
// and the git remote.
func TestRedactFacts(t *testing.T) {
	info := &hw.Info{
		Build: hw.Build{
			Settings: []hw.Setting{
				{Key: "-ldflags", Value: "-X main.apiKey=LdK3y -X main.version=1.2.3 -s -w"},
				{Key: "-ldflags", Value: "-X 'main.msg=two  words'"},
				{Key: "-tags", Value: "gpu,netgo"},
				{Key: "CGO_ENABLED", Value: "1"},
				{Key: "DEPLOY_TOKEN", Value: "dt0k"},
			},
			Git: &hw.Git{Remote: "https://ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/o/r.git"},
		},
		Run: hw.Run{
			Args: []string{"train", "-password", "pw\x00\"\\", "-lr", "NaN"},
			Env:  map[string]string{"HF_TOKEN": "hf1", "DATABASE_URL": "postgres://u:dbpw1@h/x", "KEYBOARD": "us"},
		},
	}
	RedactFacts(info)
	wantSettings := []hw.Setting{
		{Key: "-ldflags", Value: "-X main.apiKey=[redacted] -X main.version=1.2.3 -s -w"},
		{Key: "-ldflags", Value: "-X 'main.msg=two  words'"},
		{Key: "-tags", Value: "gpu,netgo"},
		{Key: "CGO_ENABLED", Value: "1"},
		{Key: "DEPLOY_TOKEN", Value: "[redacted]"},
	}
	if !reflect.DeepEqual(info.Build.Settings, wantSettings) {
		t.Errorf("settings = %q", info.Build.Settings)
	}
	if r := info.Build.Git.Remote; strings.Contains(r, "ghp_") || !strings.HasSuffix(r, "@github.com/o/r.git") {
		t.Errorf("git remote = %q", r)
	}
	if a := info.Run.Args; !reflect.DeepEqual(a, []string{"train", "-password", "[redacted]", "-lr", "NaN"}) {
		t.Errorf("args = %q", a)
	}
	wantEnv := map[string]string{"HF_TOKEN": "[redacted]", "DATABASE_URL": "postgres://u:[redacted]@h/x", "KEYBOARD": "us"}
	if !reflect.DeepEqual(info.Run.Env, wantEnv) {
		t.Errorf("env = %q", info.Run.Env)
	}
}
