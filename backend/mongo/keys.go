package mongo

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// keyEscape starts an escape in a key stored on FerretDB: keyEscape and
// four upper-case hex digits stand for one rune (U+241B SYMBOL FOR ESCAPE,
// which keys practically never hold and FerretDB stores as is).
const keyEscape = '␛'

// needsEscape reports whether the rune r at the start (first), end (last)
// or inside of a key must be escaped for FerretDB v1: control characters,
// '"' and '\' break the SQL JSON paths and documents it builds from keys;
// it refuses keys with leading or trailing white space in update paths
// and filters, and takes a key ending in '$' in a projection for the
// positional operator. keyEscape itself is always escaped, so that
// decoding is exact.
func needsEscape(r rune, first, last bool) bool {
	switch {
	case r < 0x20, r == '"', r == '\\', r == keyEscape:
		return true
	case last && r == '$':
		return true
	case first || last:
		return unicode.IsSpace(r)
	}
	return false
}

// encodeKey returns the form of a record key stored on FerretDB: k itself
// when no rune of it needs escaping (ordinary keys), else k with each such
// rune replaced by keyEscape and its code point in four upper-case hex
// digits. Every rune that needs escaping (control characters, white space,
// '"', '\', '$', keyEscape) is in the Basic Multilingual Plane. The result
// never holds '.', never starts with '$' and is never empty when k obeys
// the key rules of the record value model, and decodeKey(encodeKey(k))
// == k for every k.
func encodeKey(k string) string {
	var sb strings.Builder
	done := 0 // k[:done] is in sb
	for i := 0; i < len(k); {
		r, n := utf8.DecodeRuneInString(k[i:])
		if needsEscape(r, i == 0, i+n == len(k)) {
			if done == 0 {
				sb.Grow(len(k) + 12)
			}
			sb.WriteString(k[done:i])
			sb.WriteRune(keyEscape)
			const hex = "0123456789ABCDEF"
			sb.WriteByte(hex[r>>12&0xF])
			sb.WriteByte(hex[r>>8&0xF])
			sb.WriteByte(hex[r>>4&0xF])
			sb.WriteByte(hex[r&0xF])
			done = i + n
		}
		i += n
	}
	if done == 0 {
		return k
	}
	sb.WriteString(k[done:])
	return sb.String()
}

// decodeKey returns the record key of a key stored on FerretDB: each
// keyEscape followed by four upper-case hex digits becomes the rune they
// name. A keyEscape not followed by four such digits (a key written by another
// program) is kept as is.
func decodeKey(k string) string {
	if !strings.ContainsRune(k, keyEscape) {
		return k
	}
	var sb strings.Builder
	sb.Grow(len(k))
	const width = len(string(keyEscape))
	for {
		i := strings.IndexRune(k, keyEscape)
		if i < 0 {
			break
		}
		sb.WriteString(k[:i])
		r, ok := hex4(k[i+width:])
		if !ok {
			sb.WriteString(k[i : i+width])
			k = k[i+width:]
			continue
		}
		sb.WriteRune(r)
		k = k[i+width+4:]
	}
	sb.WriteString(k)
	return sb.String()
}

// hex4 parses the four upper-case hex digits at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
