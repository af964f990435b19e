package redact

import (
	"encoding/base64"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds redaction by value (token shapes in any text) and by
// name (flags, fields and variables whose names say secret), used by
// package record for everything it captures: the command line (Args),
// recorded flags and struct fields (Name, Text), the environment (Env) and
// build settings.

var (
	// Slack incoming webhooks: the path after /services/ is the secret.
	slackHook = regexp.MustCompile(`(?i)(https?://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_-]+`)
	// JSON Web Tokens: header.payload.signature, the first two base64url
	// JSON objects ("eyJ" is `{"` encoded).
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	// Tokens with a recognisable prefix: GitHub (ghp_, gho_, ghu_, ghs_,
	// ghr_, github_pat_), Slack (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-,
	// xoxe-), OpenAI/Anthropic-style sk- keys, Stripe sk_live_/rk_test_,
	// GitLab glpat-, Hugging Face hf_, npm npm_, Google AIza.
	tokenShape = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposre]-[A-Za-z0-9-]{10,}|sk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{30,}|AIza[A-Za-z0-9_-]{35})`)
	// AWS access key ids.
	awsKeyID = regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b`)
	// A 40-character AWS secret access key: looked for only in text that
	// holds an access key id (a 40-digit git hash would look the same).
	awsSecret = regexp.MustCompile(`(^|[^A-Za-z0-9/+])([A-Za-z0-9/+]{40})($|[^A-Za-z0-9/+=])`)
	// Authorization headers and bearer or basic credentials.
	authHeader = regexp.MustCompile(`(?i)(\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:bearer|basic|token|digest|negotiate|apikey)\s+)?)([^\s"'` + "`" + `,;]+)`)
	bearer     = regexp.MustCompile(`(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})`)
	basic      = regexp.MustCompile(`(?i)(\bbasic\s+)([A-Za-z0-9+/]{6,}={0,2})`)
	// name=value, name: value and "name": "value", where the name says
	// secret (see Name): the value is masked.
	assign = regexp.MustCompile(`((?:^|[^\w.-])(?:\\?")?)([A-Za-z_][\w.-]*)((?:\\?")?\s*(?:=|:\s)\s*)(\\"[^"\\]*(?:\\"|$)|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|(?:[^\s&;,"'\\` + "`" + `]|\\[^"])+)`)
)

// shapes masks the secrets that Text recognises by their form.
func shapes(s string) string {
	if !strings.ContainsAny(s, "=:/-_ ") && len(s) < 16 {
		return s
	}
	s = slackHook.ReplaceAllString(s, "${1}"+Mask)
	s = jwt.ReplaceAllString(s, Mask)
	s = tokenShape.ReplaceAllString(s, Mask)
	if awsKeyID.MatchString(s) {
		s = awsKeyID.ReplaceAllString(s, Mask)
		s = replaceSubmatch(s, awsSecret, 2, func(v string) bool {
			return strings.ContainsAny(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(v, "abcdefghijklmnopqrstuvwxyz")
		})
	}
	s = authHeader.ReplaceAllStringFunc(s, func(m string) string {
		sm := authHeader.FindStringSubmatch(m)
		if sm[2] == Mask {
			return m
		}
		return sm[1] + Mask
	})
	s = replaceSubmatch(s, bearer, 2, isToken)
	s = replaceSubmatch(s, basic, 2, isBasicCredential)
	return assignments(s)
}

// assignments masks the values of name=value, name: value and "name":
// "value" where the name says secret. A value whose name does not is
// searched too, since it may hold an assignment itself
// ("input=DB_PASSWORD=x", "url=https://h/?access_token=x").
func assignments(s string) string {
	if !strings.ContainsAny(s, "=:") {
		return s
	}
	var b strings.Builder
	pos := 0
	for pos < len(s) {
		m := assign.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		name, val := s[pos+m[4]:pos+m[5]], s[pos+m[8]:pos+m[9]]
		inner := strings.Trim(val, `"'\`)
		if !Name(lastSegment(name)) || inner == Mask || inner == "" {
			b.WriteString(s[pos : pos+m[8]])
			pos += m[8]
			continue
		}
		b.WriteString(s[pos : pos+m[8]])
		q := ""
		switch {
		case strings.HasPrefix(val, `\"`):
			q = `\"`
		case val[0] == '"' || val[0] == '\'':
			q = val[:1]
		}
		b.WriteString(q)
		b.WriteString(Mask)
		if q != "" && len(val) > len(q) && strings.HasSuffix(val, q) {
			b.WriteString(q)
		}
		pos += m[9]
	}
	b.WriteString(s[pos:])
	return b.String()
}

// replaceSubmatch replaces group g of every match of re by Mask where
// keep (if given) accepts the group's text.
func replaceSubmatch(s string, re *regexp.Regexp, g int, keep func(string) bool) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		if m[2*g] < 0 {
			continue
		}
		v := s[m[2*g]:m[2*g+1]]
		if v == Mask || keep != nil && !keep(v) {
			continue
		}
		b.WriteString(s[last:m[2*g]])
		b.WriteString(Mask)
		last = m[2*g+1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// isToken reports whether a word after "bearer" looks like a token, not
// like English ("bearer of news"): it holds a digit or a symbol, or is
// long and of mixed case.
func isToken(v string) bool {
	return strings.ContainsAny(v, "0123456789._~+/=-") ||
		len(v) >= 20 && strings.ToLower(v) != v && strings.ToUpper(v) != v
}

// isBasicCredential reports whether v is the base64 of "user:password",
// as in "Authorization: Basic dXNlcjpwYXNz": a word after "basic" that is
// not one ("basic statistics") stays.
func isBasicCredential(v string) bool {
	d, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		d, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
	}
	return err == nil && utf8.Valid(d) && strings.Contains(string(d), ":")
}

// lastSegment returns the part of a dotted or slashed name after its last
// '.' or '/': the variable of "-X main.apiKey".
func lastSegment(name string) string {
	if i := strings.LastIndexAny(name, "./"); i >= 0 {
		return name[i+1:]
	}
	return name
}

// secretWords are the words that make a name secret when the name ends
// with one (see Name).
var secretWords = []string{"password", "passwd", "passphrase", "secret", "token", "credential", "credentials", "apikey", "cookie"}

// secretPairs are the two last words that make a name secret.
var secretPairs = [][2]string{
	{"api", "key"}, {"private", "key"}, {"secret", "key"}, {"access", "key"},
	{"signing", "key"}, {"encryption", "key"}, {"master", "key"}, {"auth", "key"},
	{"client", "secret"}, {"api", "token"}, {"access", "token"}, {"refresh", "token"},
}

// Name reports whether a flag, field or variable name says its value is
// secret: its last word is password, passwd, passphrase, secret, token,
// credential(s), apikey or cookie, or ends with one of them
// ("PGPASSWORD", "hf_token", "apiToken", "client-secret"), or its last two
// words are api key, private key, secret key, access key, signing key,
// encryption key, master key or auth key ("api-key", "WANDB_API_KEY",
// "privateKey", "AWS_SECRET_ACCESS_KEY"). Words are split at anything
// but letters and digits and at camelCase humps. Look-alikes whose last
// word is something else stay public: token_count, max_tokens, tokenizer,
// keyboard, monkey, password_file, secret_name, passwordless.
func Name(name string) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	for _, w := range secretWords {
		if last == w || strings.HasSuffix(last, w) && w != "cookie" && w != "credentials" {
			return true
		}
	}
	if len(words) >= 2 {
		prev := words[len(words)-2]
		for _, p := range secretPairs {
			if prev == p[0] && last == p[1] {
				return true
			}
		}
	}
	// One word that glues a pair: privatekey, secretkey, accesskey.
	for _, p := range secretPairs {
		if last == p[0]+p[1] {
			return true
		}
	}
	return false
}

// splitWords splits a name into lower-case words at every character that
// is not a letter or digit and at camelCase humps ("apiKey", "APIKey").
func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// Env returns the value of the environment variable name as package
// record stores it: Mask when the name says secret (see Name) and the
// value is not empty, else the value with every secret Text finds masked.
func Env(name, value string) string {
	if Name(name) && value != "" {
		return Mask
	}
	return Text(value)
}

// Args returns a copy of a command line with its secrets masked: the
// value of a flag whose name says secret (see Name), in both the
// "-name value" and "-name=value" forms, with one dash or two; the value
// of a NAME=value argument whose name says secret (also "-X
// main.apiKey=value" as the linker takes it); and every secret Text finds
// in any argument (a DSN's password, a token). Arguments after "--" are
// scrubbed by value only.
func Args(args []string) []string {
	out := make([]string, len(args))
	flagsDone := false
	maskNext := false
	for i, a := range args {
		switch {
		case maskNext:
			maskNext = false
			if !looksLikeFlag(a) {
				if a == "" {
					out[i] = a
				} else {
					out[i] = Mask
				}
				continue
			}
		case flagsDone:
			out[i] = Text(a)
			continue
		case a == "--" && i > 0:
			flagsDone = true
			out[i] = a
			continue
		}
		if looksLikeFlag(a) {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if Name(name) {
				if hasValue {
					out[i] = a[:strings.IndexByte(a, '=')+1] + maskUnlessEmpty(a[strings.IndexByte(a, '=')+1:])
				} else {
					out[i] = a
					maskNext = true
				}
				continue
			}
		}
		out[i] = Text(a)
	}
	return out
}

func maskUnlessEmpty(v string) string {
	if v == "" {
		return v
	}
	return Mask
}

// looksLikeFlag reports whether a is "-name" or "--name[=value]" with a
// name starting with a letter: "-1" and "-" are values.
func looksLikeFlag(a string) bool {
	if !strings.HasPrefix(a, "-") {
		return false
	}
	a = strings.TrimPrefix(a[1:], "-")
	r, _ := utf8.DecodeRuneInString(a)
	return a != "" && unicode.IsLetter(r)
}

// Fields returns a build setting or any text of space-separated
// arguments (an -ldflags value) with its secrets masked as Args masks
// them; text with no secret comes back unchanged.
func Fields(s string) string {
	f := strings.Fields(s)
	a := Args(f)
	changed := false
	for i := range f {
		changed = changed || a[i] != f[i]
	}
	if !changed {
		return s
	}
	return strings.Join(a, " ")
}
