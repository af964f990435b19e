// Package redact removes secrets from text and errors: DSN passwords in
// every form the adapters' drivers print them, so that no error a user can
// print (Error, %v, %+v, %#v, or anything reachable by errors.Unwrap)
// contains one. It is the one scrubber of the module; package record and
// the adapters call it, nothing else redacts on its own.
package redact

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// credential names whose values are secrets, in URL queries and libpq
// key/value text.
const credKeys = `password|passwd|pass|pwd|sslpassword|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|key|_key|_auth_pass|authmechanismproperties`

var (
	// scheme://user:password@host: the password runs to the last '@'
	// before the next whitespace or quote.
	userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"'` + "`" + `]*:)([^\s"'` + "`" + `]*)@`)
	// ?password=... or &pwd=... in a URL query.
	queryCred = regexp.MustCompile(`(?i)([?&;](?:` + credKeys + `)=)([^&#\s"'` + "`" + `]*)`)
	// libpq key/value: password=secret or password='it''s secret'.
	kvCred = regexp.MustCompile(`(?i)(\b(?:password|passwd|pwd|sslpassword)\s*=\s*)('(?:[^'\\]|\\.|'')*'|[^\s"'` + "`" + `&]*)`)
	// SQLite SEE/SQLCipher key pragmas: _pragma=key(...), _pragma=rekey("..."), _pragma=hexkey(...).
	pragmaKey = regexp.MustCompile(`(?i)((?:^|[?&])_pragma=(?:hex)?(?:re)?key\()([^)]*)(\))`)
)

// Text returns s with every secret removed: the passwords of URLs
// (scheme://user:pw@host), credential query parameters (password, pass,
// pwd, key, token, ...), libpq key/value passwords (password=... quoted or
// not), SQLite key pragmas, and every literal in secrets, raw or in its
// URL-escaped forms.
func Text(s string, secrets ...string) string {
	for _, sec := range expand(secrets) {
		s = strings.ReplaceAll(s, sec, Mask)
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
	s = queryCred.ReplaceAllString(s, "${1}"+Mask)
	s = kvCred.ReplaceAllString(s, "${1}"+Mask)
	s = pragmaKey.ReplaceAllString(s, "${1}"+Mask+"${3}")
	return s
}

// expand returns the secrets with their escaped and unescaped forms,
// longest first, so that a longer form is replaced before a shorter one
// inside it. Secrets shorter than 3 bytes are ignored: masking "a" would
// garble every message without protecting anything.
func expand(secrets []string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range secrets {
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		add(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
		if u, err := url.QueryUnescape(s); err == nil {
			add(u)
		}
		if u, err := url.PathUnescape(s); err == nil {
			add(u)
		}
		add(fmt.Sprintf("%q", s)[1 : len(fmt.Sprintf("%q", s))-1])
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Secrets returns the secret values a DSN carries, for Error and Text: the
// password of its user info, the values of credential query parameters,
// libpq password=, and SQLite key pragmas. It never fails: text that does
// not parse yields what the patterns find.
func Secrets(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	for _, m := range userinfo.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[2])
	}
	for _, m := range queryCred.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[2])
	}
	for _, m := range kvCred.FindAllStringSubmatch(dsn, -1) {
		v := m[2]
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			out = append(out, v, strings.ReplaceAll(strings.ReplaceAll(v[1:len(v)-1], `\'`, `'`), `''`, `'`))
			continue
		}
		out = append(out, v)
	}
	for _, m := range pragmaKey.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[2], strings.Trim(m[2], `"'`))
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// DSN returns dsn with its secrets masked, for messages.
func DSN(dsn string) string { return Text(dsn, Secrets(dsn)...) }

// Error returns err with every secret removed from its text, or nil when
// err is nil. The result does not unwrap to err, so nothing reachable by
// errors.Unwrap holds the raw text; errors.Is and errors.As still see err's
// chain (the sentinels, context errors, the driver's own types).
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if s, ok := err.(*scrubbed); ok && len(secrets) == 0 {
		return s
	}
	return &scrubbed{msg: Text(err.Error(), secrets...), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }

// GoString keeps %#v from printing the wrapped error's fields.
func (e *scrubbed) GoString() string { return fmt.Sprintf("redact.Error(%q)", e.msg) }

// Is reports whether the original error matches target.
func (e *scrubbed) Is(target error) bool { return errors.Is(e.err, target) }

// As finds the first error in the original chain that matches target.
func (e *scrubbed) As(target any) bool { return errors.As(e.err, target) }
