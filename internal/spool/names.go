package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// suffix ends the name of every journal file.
const suffix = ".journal"

// storeKey names the directory of one store: the first 16 hex digits of
// the SHA-256 of its (redacted) DSN.
func storeKey(store string) string {
	sum := sha256.Sum256([]byte(store))
	return hex.EncodeToString(sum[:8])
}

// isStoreKey reports whether name has the form storeKey makes.
func isStoreKey(name string) bool {
	if len(name) != 16 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

// maxComponent bounds an escaped name component, so that
// <id>.<writer>.journal stays within the 255 bytes file systems allow.
const maxComponent = 120

// component escapes s for use in a file name: bytes outside
// [A-Za-z0-9_.-], a leading '.', and (with noDot, for the writer, whose
// name the '.' before it separates from the id) any '.' become %XX. A
// result over maxComponent bytes keeps a prefix and adds '~' and 32 hex
// digits of the SHA-256 of s; '~' is escaped elsewhere, so the forms
// never collide.
func component(s string, noDot bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		keep := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' ||
			c == '.' && i > 0 && !noDot
		if keep {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	out := b.String()
	if len(out) > maxComponent {
		sum := sha256.Sum256([]byte(s))
		out = out[:maxComponent-33] + "~" + hex.EncodeToString(sum[:16])
	}
	return out
}
