package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recordlab/go-record/record"
)

// checkWhere explains an empty result of --where. A condition compares
// values of one kind (number, string, time, bool, null): a value of
// another kind never matches it (except with !=), which the store cannot
// tell from "no record matches". So when --where selected nothing, the
// records of coll are read again at each condition's path, and a
// condition that no record could match because every value there is of
// another kind (or, for < <= > >=, a bool, which has no order) is a
// usage error, exit status 2, matching record.ErrInvalid, that names the
// path and both kinds. A condition on a path that no record has, or one
// whose kind some records hold, just selects nothing.
func (e *env) checkWhere(s *record.Store, coll string, where []string) error {
	for _, w := range where {
		path, cmp, value, err := record.ParseCondition(w)
		if err != nil || value == nil || cmp == "!=" {
			continue
		}
		want := kindOf(value)
		var seen []string
		for snap, err := range s.List(e.ctx, coll, record.Fields(path)) {
			if err != nil {
				return err
			}
			v, ok := snap.Get(path)
			if !ok {
				continue
			}
			if k := kindOf(v); !slices.Contains(seen, k) {
				seen = append(seen, k)
			}
			if kindOf(v) == want {
				break
			}
		}
		switch {
		case len(seen) == 0, slices.Contains(seen, want) && !(want == "bool" && cmp != "=" && cmp != "!="):
			continue
		case slices.Contains(seen, want):
			return &usageError{
				msg: fmt.Sprintf("bad --where %q: %s compares bool values at %q, which have no order (use = or !=)", w, cmp, path),
				err: record.ErrInvalid,
			}
		}
		slices.Sort(seen)
		hint := " (quote a value to compare it as a string)"
		switch {
		case want == "string" && slices.Contains(seen, "time"):
			hint = " (write a time as 2026-11-26, 2026-11-26 10:00 or 2026-11-26T10:00:00Z, unquoted)"
		case want == "string":
			hint = ""
		}
		return &usageError{
			msg: fmt.Sprintf("bad --where %q: compares a %s with the %s values at %q, which never match%s",
				w, want, strings.Join(seen, " and "), path, hint),
			err: record.ErrInvalid,
		}
	}
	return nil
}

// kindOf names the kind of a stored value for checkWhere's messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int64, float64:
		return "number"
	case string:
		return "string"
	case time.Time:
		return "time"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
