package mongo

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestKeysOrdinaryUnchanged: keys FerretDB holds as they are keep their
// stored form, so data written before the encoding reads the same.
func TestKeysOrdinaryUnchanged(t *testing.T) {
	for _, k := range []string{"a", "loss", "with space", "a$b", "x[0]", "it's", "日本", "🔥", "_id", "0", "-", "%22", "a\x7fb", "a\u00a0b", strings.Repeat("k", 1000)} {
		if got := encodeKey(k); got != k {
			t.Errorf("encodeKey(%q) = %q, want it unchanged", k, got)
		}
		if got := decodeKey(k); got != k {
			t.Errorf("decodeKey(%q) = %q, want it unchanged", k, got)
		}
	}
}

// TestKeysEncoded: the forms of keys FerretDB cannot hold.
func TestKeysEncoded(t *testing.T) {
	for k, want := range map[string]string{
		`a"b`:      "a␛0022b",
		`back\`:    "back␛005C",
		`both\"`:   "both␛005C␛0022",
		" ":        "␛0020",
		"  ":       "␛0020␛0020",
		" a b ":    "␛0020a b␛0020",
		"tab\tkey": "tab␛0009key",
		"\x1f":     "␛001F",
		"word$":    "word␛0024",
		"a$b$":     "a$b␛0024",
		"␛":        "␛241B",
		"a␛0022b":  "a␛241B0022b",
		"\u3000":   "␛3000",
		"\u2028x":  "␛2028x",
	} {
		if got := encodeKey(k); got != want {
			t.Errorf("encodeKey(%q) = %q, want %q", k, got, want)
		}
		if got := decodeKey(want); got != k {
			t.Errorf("decodeKey(%q) = %q, want %q", want, got, k)
		}
	}
	// Keys written by other programs with a stray keyEscape read as they are.
	for _, k := range []string{"␛", "a␛", "␛00", "␛00g0", "␛002"} {
		if got := decodeKey(k); got != k {
			t.Errorf("decodeKey(%q) = %q, want it unchanged", k, got)
		}
	}
}

// FuzzKeys: decodeKey inverts encodeKey (so encodeKey is one-to-one), and
// an encoded key holds nothing FerretDB cannot hold, keeps the key rules
// (no '.', no leading '$', not empty) and is unchanged by a second
// decode-encode round.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{"a", `a"b`, `\`, " ", " x ", "\x01", "word$", "␛", "␛0022", "␛␛", "a\u2028", "\u0085", "日本 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if k == "" || !utf8.ValidString(k) || strings.ContainsAny(k, ".\x00") || k[0] == '$' {
			return // not a key of the record value model
		}
		e := encodeKey(k)
		if got := decodeKey(e); got != k {
			t.Fatalf("decodeKey(encodeKey(%q)) = %q (encoded %q)", k, got, e)
		}
		if e == "" || strings.ContainsAny(e, ".\"\\\x00") || e[0] == '$' || strings.HasSuffix(e, "$") {
			t.Fatalf("encodeKey(%q) = %q breaks the key rules", k, e)
		}
		for _, r := range e {
			if r < 0x20 {
				t.Fatalf("encodeKey(%q) = %q holds a control character", k, e)
			}
		}
		first, _ := utf8.DecodeRuneInString(e)
		last, _ := utf8.DecodeLastRuneInString(e)
		if unicode.IsSpace(first) || unicode.IsSpace(last) {
			t.Fatalf("encodeKey(%q) = %q has white space at an end", k, e)
		}
		if encodeKey(e) == e && strings.ContainsRune(e, keyEscape) {
			t.Fatalf("encodeKey(%q) = %q: the escape of an escape is not escaped", k, e)
		}
	})
}
