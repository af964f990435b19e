// Package redacttest is the corpus of DSNs with passwords that the tests
// of package redact, package record and the record CLI open, and the check
// that an error (or a printed message) shows none of their passwords. Only
// _test.go files import it.
package redacttest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recordlab/go-record/backend"
)

// Form is one DSN that carries a password.
type Form struct {
	// Name says what the form is, for subtest names.
	Name string
	// DSN is the text given to Open.
	DSN string
	// Password is the secret as written in the DSN.
	Password string
	// Class is the sentinel an Open error must still match with errors.Is
	// (backend.ErrInvalid for a DSN that cannot be parsed), or nil.
	Class error
	// Live is true when the form reaches a live test server, which may
	// accept it (FerretDB accepts any credentials): then there is no error
	// to check.
	Live bool
}

// Needles returns every text that must not appear where the form's error
// is shown: the password as written, percent-decoded and percent-encoded,
// and each run of four or more letters and digits in it (every password of
// the corpus is built from such unique runs, see frag), so that a partly
// printed password is caught too.
func (f Form) Needles() []string {
	return Needles(f.Password)
}

// Needles returns the texts that reveal pw; see Form.Needles.
func Needles(pw string) []string {
	var out []string
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	add(pw)
	if u, err := url.PathUnescape(pw); err == nil {
		add(u)
	}
	if u, err := url.QueryUnescape(pw); err == nil {
		add(u)
	}
	add(url.QueryEscape(pw))
	add(url.PathEscape(pw))
	for _, run := range alnum.FindAllString(pw, -1) {
		add(run)
	}
	return out
}

var alnum = regexp.MustCompile(`[A-Za-z0-9]{4,}`)

// frag returns a run of letters and digits that appears nowhere but in
// the password of one form: Zq01w, Zq02w, ...
func frag(n int) string { return fmt.Sprintf("Zq%02dw", n) }

// Env is what the corpus needs from the machine.
type Env struct {
	// Refused is a loopback port where nothing listens, so a connection
	// is refused at once (see FreePort).
	Refused int
	// Dir is a directory of the test's own (t.TempDir()).
	Dir string
	// Postgres and Mongo are the DSNs of live test servers
	// (RECORD_TEST_POSTGRES_DSN, RECORD_TEST_MONGO_DSN), or "".
	Postgres, Mongo string
}

// NewEnv returns an Env for t: a free port, a temporary directory and the
// test servers named by the environment.
func NewEnv(t testing.TB) Env {
	t.Helper()
	return Env{
		Refused:  FreePort(t),
		Dir:      t.TempDir(),
		Postgres: os.Getenv("RECORD_TEST_POSTGRES_DSN"),
		Mongo:    os.Getenv("RECORD_TEST_MONGO_DSN"),
	}
}

// FreePort returns a loopback TCP port that was free a moment ago: a
// connection to it is refused.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// Forms returns the corpus: more than 40 DSN forms, each with a password
// that Open must never show. The forms whose server is not in env are left
// out.
func Forms(env Env) []Form {
	n := 0
	next := func() string { n++; return frag(n) }
	pw2 := func(sep string) string { return next() + sep + next() }
	refused := fmt.Sprintf("127.0.0.1:%d", env.Refused)
	pgOpts := "sslmode=disable&connect_timeout=2"
	mgOpts := "serverSelectionTimeoutMS=300&connectTimeoutMS=300"
	missing := filepath.ToSlash(filepath.Join(env.Dir, "missing", "dir", "runs.db"))
	var fs []Form
	add := func(name, dsn, pw string, class error) {
		fs = append(fs, Form{Name: name, DSN: dsn, Password: pw, Class: class})
	}
	inv := backend.ErrInvalid

	// URL user info, PostgreSQL.
	p := next()
	add("postgres userinfo refused", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = next()
	add("postgresql userinfo refused", "postgresql://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("%40") + "%2F" + next()
	add("postgres percent-encoded @ /", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("%3A") + "%3F" + next() + "%23" + next()
	add("postgres percent-encoded : ? #", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("%26") + "%3D" + next() + "%27" + next() + "%22"
	add("postgres percent-encoded & = ' quote", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("%20") + "%20" + next()
	add("postgres percent-encoded spaces", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = next() + "%C3%A4%E2%82%AC" + next()
	add("postgres percent-encoded unicode", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = next() + "äö€✓" + next()
	add("postgres raw unicode", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("@")
	add("postgres raw @", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2(":")
	add("postgres raw :", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("/")
	add("postgres raw /", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("?")
	add("postgres raw ?", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("#")
	add("postgres raw #", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("&") + "=" + next()
	add("postgres raw & =", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2("'") + `"` + next()
	add("postgres raw quotes", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = pw2(" ")
	add("postgres raw space", "postgres://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)
	p = next()
	add("POSTGRES upper-case scheme", "POSTGRES://alice:"+p+"@"+refused+"/db?"+pgOpts, p, nil)

	// URL user info, MongoDB.
	p = next()
	add("mongodb userinfo refused", "mongodb://alice:"+p+"@"+refused+"/db?"+mgOpts, p, nil)
	p = pw2("%40") + "%2F" + next() + "%3A" + next()
	add("mongodb percent-encoded", "mongodb://alice:"+p+"@"+refused+"/db?"+mgOpts, p, nil)
	p = pw2("@")
	add("mongodb raw @", "mongodb://alice:"+p+"@"+refused+"/db?"+mgOpts, p, inv)
	p = pw2(":")
	add("mongodb raw :", "mongodb://alice:"+p+"@"+refused+"/db?"+mgOpts, p, inv)
	p = pw2("/")
	add("mongodb raw /", "mongodb://alice:"+p+"@"+refused+"/db?"+mgOpts, p, inv)
	p = next() + "%C3%A4%E2%82%AC" + next()
	add("mongodb percent-encoded unicode", "mongodb://alice:"+p+"@"+refused+"/db?"+mgOpts, p, nil)
	p = next()
	add("mongodb+srv unresolvable", "mongodb+srv://alice:"+p+"@cluster0.example.invalid/db?"+mgOpts, p, nil)
	p = next()
	add("mongodb+srv with port", "mongodb+srv://alice:"+p+"@cluster0.example.invalid:27017/db", p, inv)
	p = next()
	add("mongodb+srv two hosts", "mongodb+srv://alice:"+p+"@a.example.invalid,b.example.invalid/db", p, inv)

	// Credential query parameters.
	p = next()
	add("postgres ?password=", "postgres://alice@"+refused+"/db?password="+p+"&"+pgOpts, p, nil)
	p = pw2("%26") + "%3D" + next()
	add("postgres ?password= encoded", "postgres://alice@"+refused+"/db?"+pgOpts+"&password="+p, p, nil)
	p = next()
	add("postgres ?sslpassword=", "postgres://alice@"+refused+"/db?sslpassword="+p+"&"+pgOpts, p, nil)
	p = next()
	add("postgres ?pass=", "postgres://alice@"+refused+"/db?pass="+p+"&"+pgOpts, p, nil)
	p = next()
	add("postgres ?pwd=", "postgres://alice@"+refused+"/db?"+pgOpts+"&pwd="+p, p, nil)
	p = next()
	add("mongodb ?password=", "mongodb://"+refused+"/db?password="+p+"&"+mgOpts, p, nil)
	p = next()
	add("sqlite ?password=", "sqlite://"+missing+"?password="+p, p, nil)

	// libpq key/value text.
	p = next()
	add("libpq key/value", fmt.Sprintf("host=127.0.0.1 port=%d user=alice password=%s dbname=db", env.Refused, p), p, inv)
	p = pw2(":")
	add("libpq key/value with : in password", "host=127.0.0.1 user=alice password="+p+" dbname=db", p, inv)
	p = next() + " " + next() + "''" + next()
	add("libpq quoted password", "host=127.0.0.1 user=alice password='"+p+"' dbname=db", p, inv)
	p = next()
	add("postgres: key/value", fmt.Sprintf("postgres:host=127.0.0.1 port=%d user=alice password=%s", env.Refused, p), p, nil)
	p = next() + " " + next() + "''" + next()
	add("postgres: quoted key/value", "postgres:host=127.0.0.1 user=alice password='"+p+"' sslmode=disable", p, inv)
	p = next() + `\'` + next()
	add("postgresql: escaped quote key/value", "postgresql:host=127.0.0.1 sslpassword='"+p+"' user=alice", p, nil)

	// SQLite key pragmas.
	p = next()
	add("sqlite _pragma=key('...')", "sqlite://"+missing+"?_pragma=key('"+p+"')", p, nil)
	p = next()
	add(`sqlite _pragma=key("...")`, "sqlite://"+missing+`?_pragma=key("`+p+`")&_pragma=busy_timeout(100)`, p, nil)
	p = pw2(")")
	add("sqlite _pragma=key with )", "sqlite://"+missing+"?_pragma=key('"+p+"')", p, nil)
	p = "2DD29CA851E7B56E4697B0E1F08507293D761A05CE4D1B628663F411A8086D99"
	add("sqlite _pragma=hexkey", "sqlite://"+missing+"?_pragma=hexkey('"+p+"')", p, nil)
	p = next()
	add("sqlite _pragma=rekey", "sqlite://"+missing+"?_pragma=rekey('"+p+"')", p, nil)
	p = next()
	add("sqlite _pragma=key encoded", "sqlite://"+missing+"?_pragma=key%28%27"+p+"%27%29", p, nil)
	p = next()
	add("sqlite _key=", "sqlite://"+missing+"?_key="+p, p, nil)
	p = next()
	add("sqlite reserved parameter", "sqlite://"+filepath.ToSlash(env.Dir)+"/r.db?_txlock=deferred&_pragma=key('"+p+"')", p, inv)
	p = next()
	add("sqlite bad escape", "sqlite://"+filepath.ToSlash(env.Dir)+"/r.db?_pragma=key('"+p+"')&a=%zz", p, inv)

	// Unknown x- options next to a password.
	p = next()
	add("postgres unknown x- option", "postgres://alice:"+p+"@"+refused+"/db?x-bogus=1&"+pgOpts, p, inv)
	p = next()
	add("postgres bad x-table", "postgres://alice:"+p+"@"+refused+"/db?x-table=no-table!&"+pgOpts, p, inv)
	p = next()
	add("mongodb unknown x- option", "mongodb://alice:"+p+"@"+refused+"/db?x-bogus=1&"+mgOpts, p, inv)
	p = next()
	add("sqlite unknown x- option", "sqlite://"+filepath.ToSlash(env.Dir)+"/x.db?x-bogus=1&_pragma=key('"+p+"')", p, inv)
	p = next()
	add("mem unknown x- option", "mem://alice:"+p+"@shared?x-bogus=1", p, inv)

	// Malformed DSNs the drivers' parsers refuse.
	p = next()
	add("postgres bad port", "postgres://alice:"+p+"@127.0.0.1:notaport/db?"+pgOpts, p, inv)
	p = next()
	add("postgres bad sslmode", "postgres://alice:"+p+"@"+refused+"/db?sslmode=bogus", p, inv)
	p = next()
	add("postgres bad escape in password", "postgres://alice:"+p+"%zz@"+refused+"/db?"+pgOpts, p, inv)
	p = next()
	add("postgres bad IPv6 host", "postgres://alice:"+p+"@[::1/db?"+pgOpts, p, inv)
	p = next()
	add("postgres bad connect_timeout", "postgres://alice:"+p+"@"+refused+"/db?connect_timeout=soon", p, inv)
	p = next()
	add("mongodb bad port", "mongodb://alice:"+p+"@127.0.0.1:notaport/db?"+mgOpts, p, inv)
	p = next()
	add("mongodb bad escape in password", "mongodb://alice:"+p+"%zz@"+refused+"/db?"+mgOpts, p, inv)
	p = next()
	add("mongodb bad option value", "mongodb://alice:"+p+"@"+refused+"/db?connectTimeoutMS=soon", p, inv)
	p = next()
	add("unknown scheme", "foo://alice:"+p+"@"+refused+"/db", p, inv)
	p = next()
	add("no scheme", "alice:"+p+"@"+refused+"/db", p, inv)

	// Live servers that refuse the credentials.
	if env.Postgres != "" {
		if u, err := url.Parse(env.Postgres); err == nil {
			host := u.Host
			p = next()
			add("postgres live unknown role", "postgres://nosuchrole:"+p+"@"+host+"/postgres?"+pgOpts, p, nil)
			p = next()
			add("postgres live missing database", "postgres://postgres:"+p+"@"+host+"/no_such_db_zz?"+pgOpts, p, nil)
			p = next()
			add("postgres live sslmode=require", "postgres://postgres:"+p+"@"+host+"/postgres?sslmode=require&connect_timeout=2", p, nil)
		}
	}
	if env.Mongo != "" {
		if u, err := url.Parse(env.Mongo); err == nil {
			host := u.Host
			p = next()
			fs = append(fs, Form{Name: "mongodb live wrong password", Live: true, Password: p,
				DSN: "mongodb://alice:" + p + "@" + host + "/db?authSource=admin&serverSelectionTimeoutMS=2000"})
			p = next()
			fs = append(fs, Form{Name: "mongodb live SCRAM-SHA-1", Live: true, Password: p,
				DSN: "mongodb://alice:" + p + "@" + host + "/db?authMechanism=SCRAM-SHA-1&serverSelectionTimeoutMS=2000"})
		}
	}
	return fs
}

// Leaks returns where err shows one of the needles: its Error text, its
// %v, %+v, %#v, %s and %q forms, the same for every error reachable from
// it by errors.Unwrap (one error or a []error, recursively), and for any
// error that errors.As hands out as a generic unwrapper. It returns nil
// when nothing leaks.
func Leaks(err error, needles []string) []string {
	var out []string
	var walk func(path string, err error, depth int)
	walk = func(path string, err error, depth int) {
		if err == nil || depth > 100 {
			return
		}
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			text := fmt.Sprintf(f, err)
			if f == "%v" {
				text = err.Error()
				f = "Error()"
			}
			if n := Find(text, needles); n != "" {
				out = append(out, fmt.Sprintf("%s %s shows %q: %s", path, f, n, text))
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(path+".Unwrap()", u.Unwrap(), depth+1)
			return
		case interface{ Unwrap() []error }:
			for i, e := range u.Unwrap() {
				walk(fmt.Sprintf("%s.Unwrap()[%d]", path, i), e, depth+1)
			}
			return
		}
		// An error that does not unwrap may still hand out the errors
		// it keeps through an As method.
		var one interface {
			error
			Unwrap() error
		}
		if errors.As(err, &one) {
			walk(path+" errors.As(Unwrap() error)", one, depth+1)
		}
		var many interface {
			error
			Unwrap() []error
		}
		if errors.As(err, &many) {
			walk(path+" errors.As(Unwrap() []error)", many, depth+1)
		}
	}
	walk("err", err, 0)
	return out
}

// Find returns the first needle in text, or "". It ignores case: a
// password a driver printed in lower case (a DSN scheme) is still shown.
func Find(text string, needles []string) string {
	text = strings.ToLower(text)
	for _, n := range needles {
		if strings.Contains(text, strings.ToLower(n)) {
			return n
		}
	}
	return ""
}
