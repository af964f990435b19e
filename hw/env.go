package hw

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// Redacted replaces the value of a captured environment variable whose
// name looks secret.
const Redacted = "[redacted]"

// secretWords mark a variable name as secret when the upper-cased name
// contains one of them.
var secretWords = []string{
	"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "KEY",
	"CREDENTIAL", "AUTH", "PRIVATE", "COOKIE", "SESSION", "SIGNATURE",
}

// IsSecretName reports whether an environment variable's value is
// redacted by Detect: its upper-cased name contains TOKEN, SECRET,
// PASSWORD, PASSWD, PASSPHRASE, KEY, CREDENTIAL, AUTH, PRIVATE, COOKIE,
// SESSION or SIGNATURE ("HF_TOKEN", "AWS_SECRET_ACCESS_KEY",
// "WANDB_API_KEY", "PGPASSWORD").
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
// whose names match one of patterns, redacting secrets. A URL value with
// a password keeps its shape with the password replaced
// ("postgres://u:xxxxx@host/db"). Names package record cannot store as
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
		env[name] = redactValue(name, strings.ToValidUTF8(value, "\uFFFD"))
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

// redactValue returns value, or Redacted for a secret name, or value with
// a URL password masked.
func redactValue(name, value string) string {
	if IsSecretName(name) {
		return Redacted
	}
	if strings.Contains(value, "://") && strings.Contains(value, "@") {
		if u, err := url.Parse(value); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				return u.Redacted()
			}
		} else if err != nil {
			return Redacted // unparsable URL with a user part: keep nothing
		}
	}
	return value
}
