package hw

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Redacted is the text that replaced the value of a captured variable
// whose name looked secret.
//
// Deprecated: Detect no longer redacts; package record redacts what it
// stores (by name and by value) in one place. Redacted is kept for
// programs that compare against it.
const Redacted = "[redacted]"

// secretWords mark a variable name as secret when the upper-cased name
// contains one of them.
var secretWords = []string{
	"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "KEY",
	"CREDENTIAL", "AUTH", "PRIVATE", "COOKIE", "SESSION", "SIGNATURE",
}

// IsSecretName reports whether the upper-cased name contains TOKEN,
// SECRET, PASSWORD, PASSWD, PASSPHRASE, KEY, CREDENTIAL, AUTH, PRIVATE,
// COOKIE, SESSION or SIGNATURE.
//
// Deprecated: Detect no longer uses it, and it matches look-alikes
// (KEYBOARD, AUTHOR, TOKEN_COUNT). Package record decides what is secret,
// by name and by value, when it stores the facts of Detect.
func IsSecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// captureEnv returns the variables of environ ("NAME=value" entries)
// whose names match one of patterns, with their values as they are
// (invalid UTF-8 replaced by U+FFFD): redacting secrets is the job of the
// caller that stores or shows them. Names package record cannot store as
// keys (holding '.', starting with '$') are skipped with an error.
func captureEnv(environ, patterns []string) (map[string]string, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	var errs []error
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("hw: env pattern %q: %w", p, err))
		}
	}
	env := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || !matchAny(patterns, name) {
			continue
		}
		if strings.Contains(name, ".") || strings.HasPrefix(name, "$") || !utf8.ValidString(name) {
			errs = append(errs, fmt.Errorf("hw: env %q: name cannot be a record key", name))
			continue
		}
		env[name] = strings.ToValidUTF8(value, "\uFFFD")
	}
	if len(env) == 0 {
		env = nil
	}
	return env, errors.Join(errs...)
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
