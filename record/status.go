package record

import (
	"time"

	"github.com/recordlab/go-record/backend"
)

// A running record's document says until when its writer promised a sign
// of life (alive_until, pushed forward by every write and every
// heartbeat). Past it, the record reads as crashed: readers rewrite the
// status they show; the stored status stays running until Resume or Close.

// markCrashed sets doc's status to crashed when it is a running record
// whose heartbeat is overdue at now. doc belongs to the caller.
func markCrashed(doc map[string]any, now time.Time) {
	if st, _ := doc["status"].(string); st != StatusRunning {
		return
	}
	if until, ok := doc[aliveKey].(time.Time); ok && now.After(until) {
		doc["status"] = StatusCrashed
	}
}

// statusConds translates list conditions on status into conditions on
// the stored document that select a superset of what they select on the
// status as read (crashed included). exact is false when the superset may
// be larger, so that the backend must not apply the limit.
func statusConds(where []backend.Cond, now time.Time) (pushed []backend.Cond, exact, touched bool) {
	exact = true
	for _, c := range where {
		if len(c.Path) != 1 || c.Path[0] != "status" {
			pushed = append(pushed, c)
			continue
		}
		touched = true
		v, _ := c.Value.(string)
		switch {
		case c.Cmp == backend.Eq && v == StatusCrashed:
			pushed = append(pushed,
				backend.Cond{Path: []string{"status"}, Cmp: backend.Eq, Value: StatusRunning},
				backend.Cond{Path: []string{aliveKey}, Cmp: backend.Lt, Value: now})
		case c.Cmp == backend.Eq && v == StatusRunning:
			pushed = append(pushed, c)
			exact = false
		case c.Cmp == backend.Eq:
			pushed = append(pushed, c)
		default:
			exact = false // Ne and orderings: decided on the status as read
		}
	}
	return pushed, exact, touched
}
