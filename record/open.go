package record

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// OpenExisting opens the store named by dsn, as Open does, without
// creating it: it is for programs that only read, so that a mistyped DSN
// is reported instead of leaving an empty store behind.
//
// For sqlite:// it adds the adapter's x-create=false option (unless the
// DSN sets x-create itself): no file, table or index is created and
// nothing is migrated; a missing file, or one without the store's tables,
// is an error matching ErrNotFound that names the path. Other adapters have no such option and are opened as by Open:
// a PostgreSQL table or MongoDB database that does not exist simply holds
// no collections and no records (PostgreSQL creates its table on open).
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	dsn = ResolveDSN(dsn)
	s, err := Open(ctx, existingDSN(dsn))
	var e *Error
	if errors.As(err, &e) {
		e.Op = "open " + RedactDSN(dsn) // the DSN as the caller wrote it
	}
	return s, err
}

// existingDSN adds x-create=false to a sqlite DSN that has no x-create.
// As in the adapter, the query starts at the first '?' and a fragment
// ('#') is recognised only in the query: a '#' before it is in the path.
func existingDSN(dsn string) string {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok || !strings.EqualFold(scheme, "sqlite") {
		return dsn
	}
	base, query, _ := strings.Cut(dsn, "?")
	frag := ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	for _, part := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); err == nil && strings.EqualFold(key, "x-create") {
			return dsn
		}
	}
	if query = strings.TrimSuffix(query, "&"); query != "" {
		query += "&"
	}
	return base + "?" + query + "x-create=false" + frag
}
