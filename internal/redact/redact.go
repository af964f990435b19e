// Package redact removes secrets from text and errors: DSN passwords in
// every form the adapters' drivers print them, so that no error a user can
// print (Error, %v, %+v, %#v, or anything reachable by errors.Unwrap)
// contains one. It is the one scrubber of the module; package record and
// the adapters call it, nothing else redacts on its own.
package redact

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Mask replaces every secret. Where a secret sits in a URL, the URL keeps
// its shape: postgres://user:[redacted]@host/x.
const Mask = "[redacted]"

// credKeys are the names of URL query parameters whose values are
// secrets (matched case-insensitively): passwords, tokens, keys, and the
// SQLite key parameters of the cgo drivers (_key, _pragma_key, _auth_pass).
const credKeys = `password|passwd|pass|pwd|sslpassword|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|key|_key|_pragma_key|_pragma_rekey|_auth_pass|authmechanismproperties`

// kvKeys are the libpq keywords whose values are secrets.
const kvKeys = `password|passwd|pwd|sslpassword`

// keyPragma matches the SQLite SEE/SQLCipher key pragmas: key, rekey,
// hexkey, hexrekey, textkey, textrekey.
const keyPragma = `(?:hex|text)?(?:re)?key`

var (
	// scheme://user:password@host: the password runs to the last '@'
	// before the next whitespace or quote.
	userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"'` + "`" + `]*:)([^\s"'` + "`" + `]*)@`)
	// ?password=... or &pwd=... in a URL query (also ;password= of JDBC).
	queryCred = regexp.MustCompile(`(?i)([?&;](?:` + credKeys + `)=)([^&#;\s"'` + "`" + `]*)`)
	// libpq key/value: password=secret or password='it''s \'secret\''.
	// The keyword must not follow ?, & or ; (that is a URL query, see
	// queryCred) nor a letter, digit or _ (my_password=). An unquoted value
	// runs to the next whitespace, quote or backtick.
	kvCred = regexp.MustCompile(`(?i)(^|[^\w?&;.-])((?:` + kvKeys + `)\s*=\s*)('(?:[^'\\]|\\.|'')*'?|[^\s"` + "`" + `]*)`)
	// SQLite key pragmas in a DSN: _pragma=key(...), _pragma=hexkey('...'),
	// percent-encoded or not; the value may be quoted.
	pragmaDSN = regexp.MustCompile(`(?i)(_pragma=` + keyPragma + `(?:\(|%28|=|%3D))('(?:[^']|'')*'|"(?:[^"]|"")*"|%27[^&\s"` + "`" + `]*?%27|%22[^&\s"` + "`" + `]*?%22|[^)&\s"` + "`" + `]*)`)
	// The same pragmas as SQL: PRAGMA key('...'), pragma rekey = "...".
	pragmaSQL = regexp.MustCompile(`(?i)(\bpragma\s+(?:\w+\.)?` + keyPragma + `\s*(?:\(|=)\s*)('(?:[^']|'')*'|"(?:[^"]|"")*"|[^)\s;"` + "`" + `]*)`)
	// A pragma value as package database/sql drivers receive it, decoded:
	// key('...'), key="...", hexkey(x'...').
	pragmaValue = regexp.MustCompile(`(?is)^\s*` + keyPragma + `\s*(?:\((.*)\)|=(.*))\s*$`)
	// libpq password values for Secrets, quoted or not (an unquoted one
	// runs to the next whitespace).
	kvSecret = regexp.MustCompile(`(?i)(?:^|[^\w?&;.-])(?:` + kvKeys + `)\s*=\s*('(?:[^'\\]|\\.|'')*'?|[^\s]*)`)
)

// Text returns s with every secret removed: the passwords of URLs
// (scheme://user:pw@host), credential query parameters (password, pass,
// pwd, key, token, ...), libpq key/value passwords (password=... quoted or
// not), SQLite key pragmas, every literal in secrets, raw or in its
// escaped forms (URL, Go and JSON quoting), and secrets recognised by
// their shape: Slack webhook URLs, JWTs, GitHub, Slack, GitLab, Hugging
// Face, npm, Google and sk- API tokens, AWS access key ids and the secret
// keys beside them, Authorization headers, bearer tokens and basic
// credentials, and the values of name=value, name: value and "name":
// "value" where the name says secret (see Name).
func Text(s string, secrets ...string) string {
	for _, sec := range expand(secrets) {
		s = replaceFold(s, sec, mask(sec))
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
	s = queryCred.ReplaceAllString(s, "${1}"+Mask)
	s = kvCred.ReplaceAllString(s, "${1}${2}"+Mask)
	s = pragmaDSN.ReplaceAllString(s, "${1}"+Mask)
	s = pragmaSQL.ReplaceAllString(s, "${1}"+Mask)
	return shapes(s)
}

// replaceFold replaces every sec in s by repl, ignoring the case of ASCII
// letters: drivers print some text lower-cased (a DSN's scheme, a host).
func replaceFold(s, sec, repl string) string {
	ls, lsec := asciiLower(s), asciiLower(sec)
	if !strings.Contains(ls, lsec) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(ls, lsec)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, ls = s[i+len(sec):], ls[i+len(sec):]
	}
}

// asciiLower lower-cases the ASCII letters of s only, so that byte
// offsets stay those of s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// mask returns what replaces sec: Mask, between the delimiters (see
// delims) that sec starts and ends with, so that masking a piece of a
// secret (see pieces) leaves the text around it as it was.
func mask(sec string) string {
	inner := strings.Trim(sec, delims)
	if inner == "" {
		return Mask
	}
	i := strings.Index(sec, inner)
	return sec[:i] + Mask + sec[i+len(inner):]
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
		if len(s) < 3 {
			continue
		}
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		add(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
		if u := url.UserPassword("", s).String(); len(u) > 1 {
			add(u[1:]) // as url.URL.String writes a password
		}
		if u, err := url.QueryUnescape(s); err == nil {
			add(u)
		}
		if u, err := url.PathUnescape(s); err == nil {
			add(u)
		}
		q := strconv.Quote(s)
		add(q[1 : len(q)-1])
		q = strconv.QuoteToASCII(s)
		add(q[1 : len(q)-1])
		if j, err := json.Marshal(s); err == nil {
			add(string(j[1 : len(j)-1]))
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Secrets returns the secret values a DSN carries, for Error and Text: the
// password of its user info (also when it holds unescaped '@', '/', '?',
// '#' or spaces), the values of credential query parameters (password,
// sslpassword, pass, pwd, key, _key, ...), libpq password= (quoted or
// not), and SQLite key pragmas, each as written and decoded. It never
// fails: text that does not parse yields what the patterns find.
func Secrets(dsn string) []string {
	var out []string
	add := func(vs ...string) {
		for _, v := range vs {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	// addDecoded adds v, decoded, and their pieces as they stand between
	// the delimiters that surround v in the DSN.
	addDecoded := func(v, before, after string) {
		add(v)
		add(pieces(before, v, after)...)
		for _, un := range []func(string) (string, error){url.QueryUnescape, url.PathUnescape} {
			if u, err := un(v); err == nil {
				add(u)
				add(pieces(before, u, after)...)
			}
		}
	}
	u, err := url.Parse(dsn)
	if err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
			add(pieces(":", p, "@")...)
		}
		q, _ := url.ParseQuery(u.RawQuery) // keeps the pairs that parse
		for k, vs := range q {
			for _, v := range vs {
				switch {
				case isCredKey(k):
					addDecoded(v, "=", "&")
				case strings.EqualFold(k, "_pragma"):
					add(pragmaSecrets(v)...)
				}
			}
		}
		// user:password@host without "//": the scheme is the user.
		if at := strings.LastIndexByte(u.Opaque, '@'); at > 0 {
			addDecoded(u.Opaque[:at], ":", "@")
		}
	}
	// The user info as written, up to each '@': a password with an
	// unescaped '/', '?' or '#' makes the URL parse otherwise, or not at all.
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		if _, pw, ok := strings.Cut(rest, ":"); ok {
			for i := strings.IndexByte(pw, '@'); i >= 0; {
				addDecoded(pw[:i], ":", "@")
				j := strings.IndexByte(pw[i+1:], '@')
				if j < 0 {
					break
				}
				i += 1 + j
			}
		}
	}
	for _, m := range queryCred.FindAllStringSubmatch(dsn, -1) {
		addDecoded(m[2], "=", "&")
	}
	for _, m := range kvSecret.FindAllStringSubmatch(dsn, -1) {
		add(kvSecrets(m[1])...)
	}
	for _, m := range pragmaDSN.FindAllStringSubmatch(dsn, -1) {
		v := m[2]
		if d, err := url.QueryUnescape(v); err == nil {
			v = d
		}
		add(m[2], v)
		add(unquoteSQL(v)...)
	}
	return out
}

func isCredKey(k string) bool {
	return queryCred.MatchString("?" + k + "=")
}

// pragmaSecrets returns the key of a decoded _pragma value such as
// key('secret'), or nothing if it is another pragma.
func pragmaSecrets(v string) []string {
	m := pragmaValue.FindStringSubmatch(v)
	if m == nil {
		return nil
	}
	arg := m[1] + m[2]
	return append([]string{arg}, unquoteSQL(arg)...)
}

// unquoteSQL returns the text inside SQL quotes, doubled quotes undone
// (x'ab' too), and the pieces of a value of several words.
func unquoteSQL(v string) []string {
	v = strings.TrimSpace(v)
	if len(v) >= 3 && (v[0] == 'x' || v[0] == 'X') && v[1] == '\'' {
		v = v[1:]
	}
	var out []string
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		q := v[:1]
		v = strings.ReplaceAll(v[1:len(v)-1], q+q, q)
		out = append(out, v)
	}
	return append(out, pieces("", v, "")...)
}

// kvSecrets returns a libpq value as written and as drivers read it: a
// quoted value unescaped with backslashes (libpq, pgx) and with doubled
// quotes (SQL), and, because drivers that read it differently print
// their pieces, each piece of it between quotes, backslashes and spaces.
func kvSecrets(v string) []string {
	out := []string{v}
	if !strings.HasPrefix(v, "'") {
		return append(append(out, strings.ReplaceAll(v, `\`, "")), pieces("=", v, " ")...)
	}
	inner := strings.TrimSuffix(v[1:], "'")
	out = append(out, inner)
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' && i+1 < len(inner) {
			i++
		}
		b.WriteByte(inner[i])
	}
	out = append(out, b.String(), strings.ReplaceAll(inner, "''", "'"))
	return append(out, pieces("", v, "")...)
}

// delims are the characters at which drivers and URL parsers split text.
const delims = "@:/?#&=;,'\"\\ \t()"

// pieces returns, for a secret that holds delimiters (see delims), each
// part of it between them (of 3 bytes or more) together with the
// delimiter before it and the one after it, where before and after stand
// around the secret in the DSN: a driver that splits the secret otherwise
// than intended prints such parts (postgres://u:a@b@host makes pgx look
// up the host "b@host"). The delimiter keeps a short part from masking
// the same word elsewhere in a message; Text keeps it.
func pieces(before, secret, after string) []string {
	if !strings.ContainsAny(secret, delims) {
		return nil
	}
	s := before + secret + after
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !strings.ContainsRune(delims, rune(s[i])) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 3 {
			if start > 0 {
				out = append(out, s[start-1:i])
			}
			if i < len(s) {
				out = append(out, s[start:i+1])
			}
		}
		start = -1
	}
	return out
}

// DSN returns dsn with its secrets masked, for messages.
func DSN(dsn string) string { return Text(dsn, Secrets(dsn)...) }

// Error returns err with every secret removed from its text, or nil when
// err is nil. The result does not unwrap to err, so nothing reachable by
// errors.Unwrap holds the raw text. errors.Is still sees err's chain (the
// sentinels, context errors); errors.As still finds the errors of err's
// chain (the driver's own types), but only those whose text (Error, %+v,
// %#v) shows no secret: one that would is not handed out.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if s, ok := err.(*scrubbed); ok && len(secrets) == 0 {
		return s
	}
	return &scrubbed{msg: Text(err.Error(), secrets...), err: err, secrets: secrets}
}

type scrubbed struct {
	msg     string
	err     error
	secrets []string
}

func (e *scrubbed) Error() string { return e.msg }

// GoString keeps %#v from printing the wrapped error's fields.
func (e *scrubbed) GoString() string { return fmt.Sprintf("redact.Error(%q)", e.msg) }

// Is reports whether the original error matches target.
func (e *scrubbed) Is(target error) bool { return errors.Is(e.err, target) }

// As finds the first error in the original chain that matches target,
// unless it shows a secret: in its text (Error, %+v, %#v) or in that of
// any error it unwraps to.
func (e *scrubbed) As(target any) bool {
	if !errors.As(e.err, target) {
		return false
	}
	v := reflect.ValueOf(target).Elem()
	if e.shows(v.Interface(), 0) {
		v.SetZero()
		return false
	}
	return true
}

// shows reports whether x, or an error it unwraps to, prints a secret.
func (e *scrubbed) shows(x any, depth int) bool {
	if x == nil || depth > 100 {
		return false
	}
	for _, f := range []string{"%v", "%+v", "%#v"} {
		if s := fmt.Sprintf(f, x); Text(s, e.secrets...) != s {
			return true
		}
	}
	switch u := x.(type) {
	case interface{ Unwrap() error }:
		return e.shows(u.Unwrap(), depth+1)
	case interface{ Unwrap() []error }:
		for _, err := range u.Unwrap() {
			if e.shows(err, depth+1) {
				return true
			}
		}
	}
	return false
}
