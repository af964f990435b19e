package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/docops"
)

// The one-round-trip path of ApplyBatch and ApplyBatches.
//
// A record is written by one handle at a time in the common case, so the
// document as the last batch left it (the values at Reads and Guard, with
// the batch's ops applied) is a good guess of what the next batch will
// read. applyParts calls Update with that guess and sends the points and
// the ops as one statement whose UPDATE applies only where the stored
// values at every read path still equal the guessed ones (a compare and
// swap; PostgreSQL re-checks the condition on the newest row version when
// a concurrent write got there first). Update is pure and sees only those
// paths, so when they are equal its ops are exactly those it would return
// under the row lock. When they differ (another writer, a Merge, a
// restart) or the guess says nothing is to be applied, the statement
// changes nothing and applyParts takes the locking path. Correctness never
// depends on the guess: a wrong one costs one statement.

// guessKey names a record written through one Backend. The Backend's
// address is only an identity: a guess left by a closed Backend whose
// address is reused is a wrong guess, which is harmless.
type guessKey struct {
	backend  uintptr
	coll, id string
}

// maxGuesses bounds the guesses kept; when full, they are all dropped.
const maxGuesses = 4096

var guesses = struct {
	sync.Mutex
	m map[guessKey]map[string]any
}{m: map[guessKey]map[string]any{}}

func (b *Backend) guessKey(coll, id string) guessKey {
	return guessKey{uintptr(unsafe.Pointer(b)), coll, id}
}

// guess returns the document (coll, id) is believed to hold, read-only;
// nil when there is no guess.
func (b *Backend) guess(coll, id string) map[string]any {
	guesses.Lock()
	defer guesses.Unlock()
	return guesses.m[b.guessKey(coll, id)]
}

// remember stores as the guess of (coll, id) the projection doc with ops
// applied (doc is not changed), or forgets the guess when doc is nil.
func (b *Backend) remember(coll, id string, doc map[string]any, ops []backend.Op) {
	var after map[string]any
	if doc != nil {
		after = docops.CopyDoc(doc)
		if docops.Apply(after, ops) != nil {
			after = nil
		}
	}
	k := b.guessKey(coll, id)
	guesses.Lock()
	defer guesses.Unlock()
	if after == nil {
		delete(guesses.m, k)
		return
	}
	if len(guesses.m) >= maxGuesses {
		clear(guesses.m)
	}
	guesses.m[k] = after
}

// applyGuessed tries the one-statement path with the guess doc for the
// read paths fields (not nil). It reports whether the batch was applied;
// false with a nil error means the locking path must run.
func (b *Backend) applyGuessed(ctx context.Context, coll, id string, parts []backend.Part, fields [][]string, doc map[string]any,
	update func(map[string]any) ([]backend.Op, bool, error)) (bool, error) {
	ops, apply, err := update(doc)
	if err != nil || !apply || len(ops) == 0 {
		return false, nil // decided on a guess: ask again under the lock
	}
	expr, args, ok := fastMerge(doc, fields, ops, []any{coll, id})
	if !ok {
		data, err := encodeOps(ops)
		if err != nil {
			return false, nil // the locking path reports it
		}
		args = append(args, data)
		expr = b.merge + `(doc, $3::jsonb)`
	}
	var sb strings.Builder
	sb.WriteString(`with u as (update ` + b.records + ` set doc = ` + expr + `, updated_at = now() where collection = $1 and id = $2`)
	for _, f := range fields {
		v, ok := backend.Lookup(doc, f)
		var want any // SQL null: the path is absent
		if ok {
			enc, err := docjson.Append(nil, v)
			if err != nil {
				return false, nil
			}
			want = string(enc)
		}
		args = append(args, f, want)
		n := len(args)
		sb.WriteString(" and doc #> $" + strconv.Itoa(n-1) + "::text[] is not distinct from $" + strconv.Itoa(n) + "::jsonb")
	}
	sb.WriteString(" returning 1)")
	if rows := chunkRows(parts); len(rows) > 0 {
		sb.WriteString(`, i as (insert into ` + b.series + ` (collection, id, name, steps, vals, times, lo, hi, sums) select $1, $2, v.* from (values `)
		for i, r := range rows {
			if i > 0 {
				sb.WriteByte(',')
			}
			n := len(args)
			args = append(args, chunkArgs(coll, id, r.name, r.pts)[2:]...)
			sb.WriteString("($" + strconv.Itoa(n+1) + "::text, $" + strconv.Itoa(n+2) + "::int8[], $" + strconv.Itoa(n+3) +
				"::float8[], $" + strconv.Itoa(n+4) + "::timestamptz[], $" + strconv.Itoa(n+5) + "::int8, $" + strconv.Itoa(n+6) +
				"::int8, $" + strconv.Itoa(n+7) + "::bytea)")
		}
		sb.WriteString(`) v where exists (select from u))`)
	}
	sb.WriteString(` select count(*) from u`)
	var applied int
	if err := b.pool.QueryRow(ctx, sb.String(), args...).Scan(&applied); err != nil {
		return false, classifyCtx(ctx, err)
	}
	if applied == 1 {
		b.remember(coll, id, doc, ops)
		return true, nil
	}
	return false, nil
}
