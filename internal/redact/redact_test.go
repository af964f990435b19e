package redact_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/internal/redact"
	"github.com/recordlab/go-record/internal/redact/redacttest"
)

// TestSecretText checks each pattern Text knows without being told the
// secret.
func TestSecretText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"url userinfo", "dial postgres://alice:pw123@db:5432/x failed", "dial postgres://alice:[redacted]@db:5432/x failed"},
		{"url userinfo mongodb+srv", "mongodb+srv://alice:p%40ss@cluster0.example.com/db", "mongodb+srv://alice:[redacted]@cluster0.example.com/db"},
		{"url userinfo with @ and /", "postgres://alice:a@b/c@db/x", "postgres://alice:[redacted]@db/x"},
		{"url userinfo empty user", "mongodb://:secret1@h/", "mongodb://:[redacted]@h/"},
		{"query password", "postgres://h/db?password=abc123&sslmode=disable", "postgres://h/db?password=[redacted]&sslmode=disable"},
		{"query password upper case", "postgres://h/db?PASSWORD=abc123", "postgres://h/db?PASSWORD=[redacted]"},
		{"query pass", "x://h/?a=1&pass=abc123#frag", "x://h/?a=1&pass=[redacted]#frag"},
		{"query pwd", "x://h/?pwd=abc123", "x://h/?pwd=[redacted]"},
		{"query sslpassword", "x://h/?sslpassword=abc123&y=2", "x://h/?sslpassword=[redacted]&y=2"},
		{"query token", "x://h/?token=abc123", "x://h/?token=[redacted]"},
		{"query api_key", "x://h/?api_key=abc123", "x://h/?api_key=[redacted]"},
		{"query key", "x://h/?key=abc123", "x://h/?key=[redacted]"},
		{"query _key", "sqlite://x.db?_key=abc123", "sqlite://x.db?_key=[redacted]"},
		{"query _pragma_key", "sqlite://x.db?_pragma_key=abc123", "sqlite://x.db?_pragma_key=[redacted]"},
		{"jdbc ;password", "jdbc:sqlserver://h;user=u;password=abc123;db=x", "jdbc:sqlserver://h;user=u;password=[redacted];db=x"},
		{"libpq", "host=h user=u password=abc123 dbname=d", "host=h user=u password=[redacted] dbname=d"},
		{"libpq first", "password=abc123 host=h", "password=[redacted] host=h"},
		{"libpq spaces around =", "host=h password = abc123 dbname=d", "host=h password = [redacted] dbname=d"},
		{"libpq quoted", "host=h password='a b''c\\'d' dbname=d", "host=h password=[redacted] dbname=d"},
		{"libpq unterminated quote", "host=h password='a b c", "host=h password=[redacted]"},
		{"libpq sslpassword", "sslpassword=abc123 sslkey=/k.pem", "sslpassword=[redacted] sslkey=/k.pem"},
		{"libpq with & and '", "host=h password=a&b'c dbname=d", "host=h password=[redacted] dbname=d"},
		{"libpq in backticks", "cannot parse `host=h password=abc123`: x", "cannot parse `host=h password=[redacted]`: x"},
		{"libpq in double quotes", `cannot parse "host=h password=abc123": x`, `cannot parse "host=h password=[redacted]": x`},
		{"pragma key", "sqlite:///r.db?_pragma=key('abc123')&x=1", "sqlite:///r.db?_pragma=key([redacted])&x=1"},
		{"pragma key double quotes", `sqlite:///r.db?_pragma=key("abc123")`, "sqlite:///r.db?_pragma=key([redacted])"},
		{"pragma key unquoted", "r.db?_pragma=key(abc123)", "r.db?_pragma=key([redacted])"},
		{"pragma key with )", "r.db?_pragma=key('a)bc')", "r.db?_pragma=key([redacted])"},
		{"pragma hexkey", "r.db?_pragma=hexkey('2DD29CA851E7')", "r.db?_pragma=hexkey([redacted])"},
		{"pragma rekey", "r.db?_pragma=rekey('abc123')", "r.db?_pragma=rekey([redacted])"},
		{"pragma textkey", "r.db?_pragma=textkey('abc123')", "r.db?_pragma=textkey([redacted])"},
		{"pragma key encoded", "r.db?_pragma=key%28%27abc123%27%29&b=1", "r.db?_pragma=key%28[redacted]%29&b=1"},
		{"pragma key =", "r.db?_pragma=key=abc123&b=1", "r.db?_pragma=key=[redacted]&b=1"},
		{"SQL pragma key", "exec PRAGMA key = 'abc123'; x", "exec PRAGMA key = [redacted]; x"},
		{"SQL pragma key()", "pragma main.rekey('abc123'): error", "pragma main.rekey([redacted]): error"},
		{"two forms", "postgres://u:pw1@h/?password=pw2 and host=h password=pw3", "postgres://u:[redacted]@h/?password=[redacted] and host=h password=[redacted]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, redact.Text(c.in)); diff != "" {
				t.Errorf("Text(%q) (-want +got):\n%s", c.in, diff)
			}
		})
	}
}

// TestSecretLookAlikes checks text that looks like a secret but is not one
// and must come back unchanged.
func TestSecretLookAlikes(t *testing.T) {
	for _, s := range []string{
		"token_count=5",
		"x://h/?token_count=5&max_tokens=100&temperature=0.7",
		"--max_tokens=4096",
		"commit 3f9a1c2e8b7d6f5a4c3b2a1908f7e6d5c4b3a291 (HEAD -> main)",
		"keyboard=1",
		"x://h/?keyboard=1&monkey=2&hotkey=3&x-key=4",
		"password_length=12 &password_policy=strict",
		"sslkey=/etc/ssl/client.key sslcert=/etc/ssl/client.crt",
		"/home/alice/runs/records.db",
		"sqlite:///abs/runs.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)",
		"PRAGMA journal_mode(WAL); PRAGMA keyboard_layout",
		"postgres://alice@db:5432/experiments?sslmode=disable",
		"mongodb://h1:27017,h2:27017/experiments?replicaSet=rs0",
		"https://github.com/recordlab/go-record/tree/main",
		"golang.org/x/term@v0.48.0",
		"git@github.com:recordlab/go-record.git",
		"alice@example.com wrote at 12:30:45",
		"the password is required",
		"key: value, api key rotation",
		"loss=0.73 lr=1e-3 epochs=10",
	} {
		if got := redact.Text(s); got != s {
			t.Errorf("Text(%q) = %q; want it unchanged", s, got)
		}
		if got := redact.DSN(s); got != s {
			t.Errorf("DSN(%q) = %q; want it unchanged", s, got)
		}
	}
}

// TestSecretSecrets checks what Secrets finds in a DSN.
func TestSecretSecrets(t *testing.T) {
	cases := []struct {
		dsn  string
		want []string // each must be among the secrets
	}{
		{"postgres://alice:pw123@h/db", []string{"pw123"}},
		{"postgres://alice:p%40ss%2Fw0rd@h/db", []string{"p%40ss%2Fw0rd", "p@ss/w0rd"}},
		{"postgres://alice:a@b@h/db", []string{"a@b"}},
		{"postgres://alice:12/34@h/db", []string{"12/34"}},
		{"postgres://alice:ab#cd@h/db", []string{"ab#cd"}},
		{"postgres://alice:a b@h/db", []string{"a b"}},
		{"mongodb+srv://alice:s3cret@cluster0.example.com/db", []string{"s3cret"}},
		{"postgres://alice@h/db?password=p%26w&sslmode=disable", []string{"p%26w", "p&w"}},
		{"postgres://alice@h/db?sslpassword=abc&pwd=def&pass=ghi", []string{"abc", "def", "ghi"}},
		{"host=h user=u password=abc dbname=d", []string{"abc"}},
		{"host=h user=u password=a&b dbname=d", []string{"a&b"}},
		{"host=h password='a b''c' dbname=d", []string{"a b'c", "a b''c"}},
		{`host=h password='a b\'c' dbname=d`, []string{"a b'c"}},
		{"sqlite://r.db?_pragma=key('k3y')", []string{"k3y"}},
		{`sqlite://r.db?_pragma=key("k3y")`, []string{"k3y"}},
		{"sqlite://r.db?_pragma=key('k)3y')", []string{"k)3y"}},
		{"sqlite://r.db?_pragma=hexkey('2DD29C')", []string{"2DD29C"}},
		{"sqlite://r.db?_pragma=key%28%27k3y%27%29", []string{"k3y"}},
		{"sqlite://r.db?_key=k3y", []string{"k3y"}},
		{"alice:pw9x@host/db", []string{"pw9x"}},
	}
	for _, c := range cases {
		got := redact.Secrets(c.dsn)
		for _, w := range c.want {
			if !contains(got, w) {
				t.Errorf("Secrets(%q) = %q; want %q among them", c.dsn, got, w)
			}
		}
	}
	for _, dsn := range []string{"mem://", "sqlite://runs.db", "postgres://alice@h:5432/db?sslmode=disable", "mongodb://h1:27017,h2:27017/x"} {
		if got := redact.Secrets(dsn); len(got) != 0 {
			t.Errorf("Secrets(%q) = %q; want none", dsn, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSecretEscapedForms checks that Text masks a literal secret in every
// form a message may quote it: raw, URL-escaped, Go- and JSON-quoted.
func TestSecretEscapedForms(t *testing.T) {
	sec := `Zq1w a&b"c/d@e€`
	for _, form := range []string{
		sec,
		"Zq1w+a%26b%22c%2Fd%40e%E2%82%AC",
		"Zq1w%20a&b%22c%2Fd@e%E2%82%AC",
		"Zq1w%20a&b%22c%2Fd%40e%E2%82%AC",
		`Zq1w a&b\"c/d@e€`,
		`Zq1w a\u0026b\"c/d@e€`,
		`Zq1w a&b\"c/d@e\u20ac`,
	} {
		msg := "before " + form + " after"
		if got := redact.Text(msg, sec); strings.Contains(got, "Zq1w") {
			t.Errorf("Text(%q, secret) = %q; want the secret masked", msg, got)
		}
	}
	if got, want := redact.Text("scheme \"host=h password=zq1w a\xff\"", "ZQ1W A\xff"), "scheme \"host=h password=[redacted]\""; got != want {
		t.Errorf("Text ignoring case = %q; want %q", got, want)
	}
	if got := redact.Text("ab and abc", "ab"); got != "ab and abc" {
		t.Errorf("a secret of 2 bytes masked: %q", got)
	}
}

// TestSecretCorpusDSN checks that DSN masks the password of every form of
// the corpus, and that Error masks it in a message that quotes the DSN
// twice and wraps an error that holds it.
func TestSecretCorpusDSN(t *testing.T) {
	forms := redacttest.Forms(redacttest.Env{
		Refused:  1,
		Dir:      t.TempDir(),
		Postgres: "postgres://postgres@127.0.0.1:5432/postgres",
		Mongo:    "mongodb://127.0.0.1:27017/",
	})
	if len(forms) < 40 {
		t.Fatalf("the corpus has %d forms, want at least 40", len(forms))
	}
	for _, f := range forms {
		if got := redact.DSN(f.DSN); redacttest.Find(got, f.Needles()) != "" {
			t.Errorf("%s: DSN(%q) = %q", f.Name, f.DSN, got)
		}
		raw := &rawError{dsn: f.DSN}
		err := redact.Error(fmt.Errorf("open %s (%q): %w", f.DSN, f.DSN, raw), redact.Secrets(f.DSN)...)
		for _, leak := range redacttest.Leaks(err, f.Needles()) {
			t.Errorf("%s: %s", f.Name, leak)
		}
		var got *rawError
		if errors.As(err, &got) || got != nil {
			t.Errorf("%s: errors.As handed out an error that shows the password", f.Name)
		}
	}
}

// rawError is a driver error that keeps the DSN in a field, as
// pgconn.ParseConfigError does: %#v shows it.
type rawError struct{ dsn string }

func (e *rawError) Error() string { return "cannot parse" }

// cleanError is a driver error that shows no secret.
type cleanError struct{ code int }

func (e *cleanError) Error() string { return fmt.Sprintf("code %d", e.code) }

var errClass = errors.New("class")

// TestSecretError checks the error Error returns: its text, what it
// unwraps to, and what errors.Is and errors.As still find.
func TestSecretError(t *testing.T) {
	if redact.Error(nil, "x") != nil {
		t.Error("Error(nil) != nil")
	}
	dsn := "postgres://alice:Zq1w@h/db"
	secrets := redact.Secrets(dsn)
	inner := fmt.Errorf("dial %s: %w", dsn, &cleanError{code: 7})
	cause := fmt.Errorf("open %s: %w: %w", dsn, errClass, errors.Join(inner, context.DeadlineExceeded, &rawError{dsn: dsn}))
	err := redact.Error(cause, secrets...)

	want := "open postgres://alice:[redacted]@h/db: class: dial postgres://alice:[redacted]@h/db: code 7\ncontext deadline exceeded\ncannot parse"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
	if got, want := fmt.Sprintf("%#v", err), fmt.Sprintf("redact.Error(%q)", want); got != want {
		t.Errorf("%%#v = %s; want %s", got, want)
	}
	if errors.Unwrap(err) != nil {
		t.Error("errors.Unwrap(err) != nil: the raw error is reachable")
	}
	for _, leak := range redacttest.Leaks(err, []string{"Zq1w"}) {
		t.Error(leak)
	}
	if !errors.Is(err, errClass) || !errors.Is(err, context.DeadlineExceeded) {
		t.Error("errors.Is lost the class or the context error")
	}
	var ce *cleanError
	if !errors.As(err, &ce) || ce.code != 7 {
		t.Errorf("errors.As(*cleanError) = %v; want the driver's error", ce)
	}
	var re *rawError
	if errors.As(err, &re) || re != nil {
		t.Error("errors.As(*rawError) handed out an error whose Go syntax shows the password")
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		t.Error("errors.As(*os.PathError) = true; there is none")
	}
	if again := redact.Error(err); again != err {
		t.Error("Error(Error(err)) wrapped again")
	}
	twice := redact.Error(err, "other-secret")
	if twice.Error() != err.Error() || !errors.Is(twice, errClass) {
		t.Errorf("Error(Error(err), more) = %q", twice)
	}
	wrapped := fmt.Errorf("record: open: %w", err)
	for _, leak := range redacttest.Leaks(wrapped, []string{"Zq1w"}) {
		t.Error(leak)
	}
}
