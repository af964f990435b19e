package redact_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/recordlab/go-record/internal/redact"
	"github.com/recordlab/go-record/internal/redact/redacttest"
)

// TestValueCorpus runs every input of the value corpus through Text
// (value alone and as name=value), Env and Args, and checks both
// directions: a secret never survives, a look-alike comes back as given.
func TestValueCorpus(t *testing.T) {
	vals := redacttest.Values()
	secrets, harmless := 0, 0
	for _, v := range vals {
		if v.IsSecret() {
			secrets++
		} else {
			harmless++
		}
	}
	if secrets < 60 || harmless < 30 {
		t.Fatalf("corpus has %d secrets and %d look-alikes; want at least 60 and 30", secrets, harmless)
	}
	for _, v := range vals {
		name := v.Name
		if name == "" {
			name = "input"
		}
		check := func(how, got, orig string) {
			t.Helper()
			if v.IsSecret() {
				if strings.Contains(got, v.Secret) {
					t.Errorf("%s(%q=%q) = %q shows the secret", how, name, v.Value, got)
				}
				if !strings.Contains(got, redact.Mask) {
					t.Errorf("%s(%q=%q) = %q lacks %s", how, name, v.Value, got, redact.Mask)
				}
			} else if got != orig {
				t.Errorf("%s(%q=%q) = %q; want it unchanged", how, name, v.Value, got)
			}
		}
		if v.Name == "" || !v.IsSecret() {
			check("Text", redact.Text(v.Value), v.Value)
		}
		check("Env", redact.Env(redacttest.EnvName(name), v.Value), v.Value)
		check("Args -f v", strings.Join(redact.Args([]string{"prog", "-" + name, v.Value}), " "), "prog -"+name+" "+v.Value)
		check("Args --f=v", strings.Join(redact.Args([]string{"prog", "--" + name + "=" + v.Value, "-v"}), " "), "prog --"+name+"="+v.Value+" -v")
		if !strings.ContainsAny(v.Value, " \t\n") {
			check("Text name=v", redact.Text(name+"="+v.Value), name+"="+v.Value)
		}
	}
}

func TestName(t *testing.T) {
	for _, n := range []string{
		"password", "passwd", "PGPASSWORD", "db_password", "DB-Password", "secret", "client_secret",
		"clientSecret", "token", "hf_token", "apiToken", "authToken", "api-key", "api_key", "apikey",
		"apiKey", "APIKey", "WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "credential", "credentials",
		"private-key", "privateKey", "PRIVATE_KEY", "privatekey", "passphrase", "session_cookie",
	} {
		if !redact.Name(n) {
			t.Errorf("Name(%q) = false; want true", n)
		}
	}
	for _, n := range []string{
		"", "token_count", "max_tokens", "tokenizer", "tokens", "keyboard", "monkey", "hotkey", "key",
		"num_keys", "password_file", "password_length", "secret_name", "passwordless", "secretary",
		"private_key_path", "lr", "learning_rate", "pwd", "author", "auth_method", "-", "__", "ünï",
	} {
		if redact.Name(n) {
			t.Errorf("Name(%q) = true; want false", n)
		}
	}
}

func TestArgs(t *testing.T) {
	in := []string{
		"train", "--dsn", "postgres://u:S3cret@h/x", "-password", "cliPW", "--api-key=K3y", "-token", "abc",
		"-token_count", "5", "-max_tokens=9", "-lr", "-1", "-secret=", "-password", "-v", "--", "-token", "pos",
	}
	want := []string{
		"train", "--dsn", "postgres://u:" + redact.Mask + "@h/x", "-password", redact.Mask, "--api-key=" + redact.Mask,
		"-token", redact.Mask, "-token_count", "5", "-max_tokens=9", "-lr", "-1", "-secret=", "-password", "-v",
		"--", "-token", "pos",
	}
	got := redact.Args(in)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("Args:\n got %q\nwant %q", got, want)
	}
	if in[4] != "cliPW" {
		t.Error("Args changed its input")
	}
	if got := redact.Args(nil); len(got) != 0 {
		t.Errorf("Args(nil) = %q", got)
	}
	// Hostile arguments: quotes, backslashes, control characters, invalid UTF-8.
	hostile := []string{"-password", "a\"b\\c\x00\xff", "-note", "a\"b\\c\x00\xff", "-x=\xff\xfe"}
	got = redact.Args(hostile)
	if got[1] != redact.Mask || got[3] != hostile[3] || got[4] != hostile[4] {
		t.Errorf("Args(hostile) = %q", got)
	}
}

func TestFields(t *testing.T) {
	for in, want := range map[string]string{
		"-X main.apiKey=abc123 -s -w":       "-X main.apiKey=" + redact.Mask + " -s -w",
		"-X main.version=1.2.3 -s -w":       "-X main.version=1.2.3 -s -w",
		"-X 'main.msg=hello  world'":        "-X 'main.msg=hello  world'",
		"-X main.dsn=postgres://u:pw9@h/x":  "-X main.dsn=postgres://u:" + redact.Mask + "@h/x",
		"-X=main.token=t0k -X main.count=3": "-X=main.token=" + redact.Mask + " -X main.count=3",
		`-X main.token=a\b\c -s`:            "-X main.token=" + redact.Mask + " -s",
		"":                                  "",
	} {
		if got := redact.Fields(in); got != want {
			t.Errorf("Fields(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestEnvHostile(t *testing.T) {
	for _, v := range []string{"", "\x00", "a\"b\\c", "\xff\xfe", "NaN", "+Inf", "1.7976931348623157e+308"} {
		if got := redact.Env("PLAIN", v); got != v {
			t.Errorf("Env(PLAIN, %q) = %q", v, got)
		}
		if got := redact.Env("API_TOKEN", v); v != "" && got != redact.Mask || v == "" && got != "" {
			t.Errorf("Env(API_TOKEN, %q) = %q", v, got)
		}
	}
}

// TestErrorValueCorpus checks that an error quoting a corpus secret is
// scrubbed by value too, without the DSN's own secrets being known.
func TestErrorValueCorpus(t *testing.T) {
	for _, v := range redacttest.Values() {
		if !v.IsSecret() || v.Name != "" {
			continue
		}
		err := redact.Error(fmt.Errorf("request %q failed: %w", v.Value, errors.New("code 7")))
		if strings.Contains(err.Error(), v.Secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), v.Secret) {
			t.Errorf("error shows %q: %v", v.Secret, err)
		}
	}
}

// TestTextHostile checks Text on hostile text: invalid UTF-8, control
// characters, quotes and backslashes next to secrets; and that masking
// twice changes nothing more.
func TestTextHostile(t *testing.T) {
	for in, want := range map[string]string{
		"password=\xff\xfe rest":               "password=" + redact.Mask + " rest",
		"\x00token=abc\x01def":                 "\x00token=" + redact.Mask,
		`"secret": "a\"b\\c"`:                  `"secret": "` + redact.Mask + `"`,
		"api_key='it''s'":                      "api_key='" + redact.Mask + "''s'",
		"NaN +Inf -Inf 1.7976931348623157e308": "NaN +Inf -Inf 1.7976931348623157e308",
		"\xff\xfe\xfd":                         "\xff\xfe\xfd",
	} {
		if got := redact.Text(in); got != want {
			t.Errorf("Text(%q) = %q; want %q", in, got, want)
		}
	}
	for _, v := range redacttest.Values() {
		for _, s := range []string{v.Value, corpusLine(v)} {
			once := redact.Text(s)
			if twice := redact.Text(once); twice != once {
				t.Errorf("Text(Text(%q)) = %q; want %q", s, twice, once)
			}
		}
	}
}

func corpusLine(v redacttest.Value) string {
	if v.Name == "" {
		return "input=" + v.Value
	}
	return v.Name + "=" + v.Value
}
