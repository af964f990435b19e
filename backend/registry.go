package backend

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/recordlab/go-record/internal/redact"
)

// schemeText is what a URL scheme may be (RFC 3986); other text before
// the first ':' is not a scheme, and is never echoed.
var schemeText = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// Opener opens a Backend from a DSN whose scheme it was registered for.
// It receives the whole DSN, x- options included; see SplitOptions.
type Opener func(ctx context.Context, dsn string) (Backend, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes an adapter available under a DSN scheme (case-insensitive).
// It panics if the scheme is empty, the opener nil, or the scheme taken.
func Register(scheme string, open Opener) {
	scheme = strings.ToLower(scheme)
	if scheme == "" || open == nil {
		panic("backend: Register with empty scheme or nil opener")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[scheme]; dup {
		panic("backend: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s := make([]string, 0, len(registry))
	for k := range registry {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Open opens the backend registered for the scheme of dsn, the text before
// the first ':'.
func Open(ctx context.Context, dsn string) (Backend, error) {
	i := strings.Index(dsn, ":")
	if i <= 0 || !schemeText.MatchString(dsn[:i]) {
		return nil, fmt.Errorf("backend: DSN %q has no scheme (want scheme://...): %w", redact.DSN(dsn), ErrInvalid)
	}
	scheme := strings.ToLower(dsn[:i])
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		return nil, redact.Error(fmt.Errorf("backend: unknown scheme %q (registered: %s; forgotten import?): %w",
			scheme, strings.Join(Schemes(), ", "), ErrInvalid), redact.Secrets(dsn)...)
	}
	return open(ctx, dsn)
}

// SplitOptions removes the x- query parameters from dsn and returns the DSN
// for the native driver and the options. A key not in known is ErrInvalid,
// naming the key; so is a key given twice.
func SplitOptions(dsn string, known ...string) (native string, opts map[string]string, err error) {
	opts = map[string]string{}
	q := strings.IndexByte(dsn, '?')
	if q < 0 {
		return dsn, opts, nil
	}
	base, query := dsn[:q], dsn[q+1:]
	frag := ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	var keep []string
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, kerr := url.QueryUnescape(k)
		if kerr != nil || !strings.HasPrefix(strings.ToLower(key), "x-") {
			keep = append(keep, part)
			continue
		}
		val, verr := url.QueryUnescape(v)
		if verr != nil {
			return "", nil, fmt.Errorf("backend: DSN option %s: bad escape: %w", key, ErrInvalid)
		}
		if !slices.Contains(known, key) {
			return "", nil, fmt.Errorf("backend: unknown DSN option %q (known: %s): %w", key, strings.Join(known, ", "), ErrInvalid)
		}
		if _, dup := opts[key]; dup {
			return "", nil, fmt.Errorf("backend: DSN option %s given twice: %w", key, ErrInvalid)
		}
		opts[key] = val
	}
	native = base
	if len(keep) > 0 {
		native += "?" + strings.Join(keep, "&")
	}
	return native + frag, opts, nil
}
