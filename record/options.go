package record

import (
	"time"

	"github.com/recordlab/go-record/backend"
)

// This file holds every option of the package: CreateOption for Create
// and Resume, ListOption for List, ListAll and Export.

// CreateOption configures Create and Resume.
type CreateOption func(*createConfig)

type createConfig struct {
	id            string
	idSet         bool
	seed          *int64
	parent        string
	goals         map[string]string
	flushInterval time.Duration
	batchSize     int
	hostFacts     bool
	env           []string
	interrupts    bool // WithInterruptHandling
	// systemInterval is the sampling interval of WithSystemMetrics; 0 is off.
	systemInterval time.Duration
	heartbeat      time.Duration
	memoryBound    int
	writeTimeout   time.Duration
}

// WithID gives the record an id of the caller's choosing instead of a
// generated one: [A-Za-z0-9_.-]{1,128}.
func WithID(id string) CreateOption { return func(c *createConfig) { c.id, c.idSet = id, true } }

// WithParent makes the record a child of the record parentID of the same
// collection (a sweep and its trials, a run and its folds): its id is
// stored at "parent", so the parent's children are
// List(ctx, coll, Where("parent", "=", parentID)). The parent must exist.
func WithParent(parentID string) CreateOption { return func(c *createConfig) { c.parent = parentID } }

// Goals say whether a metric is better when smaller or larger, for
// WithGoal; readers (record ls --best, groups, reports) rank by them.
const (
	Minimize = "min"
	Maximize = "max"
)

// WithGoal stores whether a metric is minimised (Minimize, the default
// for a metric with no goal) or maximised (Maximize, e.g. accuracy) at
// goals.<metric>.
func WithGoal(metric, goal string) CreateOption {
	return func(c *createConfig) {
		if c.goals == nil {
			c.goals = map[string]string{}
		}
		c.goals[metric] = goal
	}
}

// WithSeed stores the run's random seed at "seed".
func WithSeed(seed int64) CreateOption { return func(c *createConfig) { c.seed = &seed } }

// WithFlushInterval sets how often logged metrics are written in the
// background (default 1s). Flush and Close always write everything.
func WithFlushInterval(d time.Duration) CreateOption {
	return func(c *createConfig) { c.flushInterval = d }
}

// WithBatchSize sets how many buffered points trigger a background flush
// before the interval ends (default 1000).
func WithBatchSize(n int) CreateOption { return func(c *createConfig) { c.batchSize = n } }

// maxBatch caps WithBatchSize: one batch is one write and one spool entry.
const maxBatch = 100_000

// WithHeartbeat sets how often a running record's heartbeat is refreshed
// when nothing else is written (default DefaultHeartbeat, 30s). A running
// record whose heartbeat is older than 3 intervals reads as crashed.
func WithHeartbeat(d time.Duration) CreateOption { return func(c *createConfig) { c.heartbeat = d } }

// DefaultMemoryBound is the default of WithMemoryBound.
const DefaultMemoryBound = 32 << 20

// WithMemoryBound sets how many bytes of logged points may wait in memory
// for the store (default 32 MiB, about 700,000 points). Beyond it, and
// whenever the store cannot be reached, they wait in the spool on disk
// instead; Log never blocks and never drops a point.
func WithMemoryBound(bytes int) CreateOption { return func(c *createConfig) { c.memoryBound = bytes } }

// DefaultWriteTimeout is the default of WithWriteTimeout.
const DefaultWriteTimeout = 30 * time.Second

// WithWriteTimeout bounds each background write (default 30s): a write
// that a hung server does not answer in time is abandoned and retried
// (exactly once: a batch the server applied is not stored again), and
// what waits is spooled meanwhile.
func WithWriteTimeout(d time.Duration) CreateOption {
	return func(c *createConfig) { c.writeTimeout = d }
}

// WithoutHost leaves out the host, build and run facts that Create
// otherwise stores.
func WithoutHost() CreateOption { return func(c *createConfig) { c.hostFacts = false } }

func newConfig(opts []CreateOption) createConfig {
	c := createConfig{flushInterval: time.Second, batchSize: 1000, hostFacts: true,
		heartbeat: DefaultHeartbeat, memoryBound: DefaultMemoryBound, writeTimeout: DefaultWriteTimeout}
	for _, o := range opts {
		o(&c)
	}
	if c.flushInterval <= 0 {
		c.flushInterval = time.Second
	}
	if c.batchSize <= 0 {
		c.batchSize = 1000
	}
	c.batchSize = min(c.batchSize, maxBatch)
	if c.heartbeat <= 0 {
		c.heartbeat = DefaultHeartbeat
	}
	if c.memoryBound <= 0 {
		c.memoryBound = DefaultMemoryBound
	}
	if c.writeTimeout <= 0 {
		c.writeTimeout = DefaultWriteTimeout
	}
	return c
}

// WithEnv captures the environment variables whose names match the
// patterns (names or path.Match globs such as "CUDA_*") under run.env.
// Nothing is captured by default. Secrets are redacted by name and by
// value, as in the command line (run.args) and recorded flags: the value
// of a variable whose name says secret (HF_TOKEN, PGPASSWORD,
// WANDB_API_KEY, AWS_SECRET_ACCESS_KEY, but not TOKEN_COUNT or KEYBOARD)
// is stored as "[redacted]", and any other value keeps its text with the
// secrets it holds replaced: a URL's password
// (postgres://user:[redacted]@host/x), credential query parameters,
// libpq password=, tokens of known shapes (GitHub, Slack and its webhook
// URLs, AWS, sk- keys, JWTs) and bearer or basic credentials.
func WithEnv(patterns ...string) CreateOption {
	return func(c *createConfig) { c.env = append(c.env, patterns...) }
}

// WithSystemMetrics samples the machine every interval (15s when interval
// is 0) while the record is open and logs the samples as series named
// system/<metric>: system/cpu/percent, system/memory/used,
// system/disk/read_bytes_per_s, system/gpu/0/utilization, ... (see package
// hw for the list). Sampling stops at Close. A failing sample is skipped;
// it never fails the run.
func WithSystemMetrics(interval time.Duration) CreateOption {
	return func(c *createConfig) {
		if interval <= 0 {
			interval = 15 * time.Second
		}
		c.systemInterval = interval
	}
}

// WithInterruptHandling makes the record close itself as "interrupted"
// when the process receives SIGINT or SIGTERM: it flushes the metrics,
// stores status interrupted, the end time and the duration, then lets the
// signal do what it would have done (the process normally exits). Without
// it, a killed run stays "running", and Resume can continue it.
func WithInterruptHandling() CreateOption {
	return func(c *createConfig) { c.interrupts = true }
}

// A ListOption narrows Store.List.
type ListOption func(*listQuery)

// Err reports the error that List would report for this option alone (a
// bad path, comparison or value), so that a program can check options
// where it builds them, for example to reject a command-line flag early.
func (o ListOption) Err() error {
	var q listQuery
	o(&q)
	return q.err
}

type listQuery struct {
	backend.Query
	fields [][]string // Fields; nil means the whole document
	omit   [][]string // Omit
	cursor *cursor    // AfterValue
	err    error
}

// cursor is a position in an OrderBy listing: the value at the order's
// path (absent when ok is false) and the id.
type cursor struct {
	value any
	ok    bool
	id    string
}

// Where keeps records whose value at path compares with value: cmp is one
// of = != < <= > >=. Numbers compare numerically whether stored as ints or
// floats; a missing path or a value of another type matches only "!=".
func Where(path, cmp string, value any) ListOption {
	return func(q *listQuery) {
		c, err := newCond(path, cmp, value)
		if err != nil && q.err == nil {
			q.err = err
		}
		q.Where = append(q.Where, c)
	}
}

// Limit keeps at most n records (the first n in the listing order); 0
// means all.
func Limit(n int) ListOption {
	return func(q *listQuery) {
		if n < 0 && q.err == nil {
			q.err = invalid("value", "limit", "negative limit")
		}
		q.Limit = n
	}
}

// NewestFirst lists records in descending id order: newest first, since
// generated ids are time-ordered. With Limit(n) it gives the n newest.
// With OrderBy it reverses that order instead.
func NewestFirst() ListOption {
	return func(q *listQuery) { q.Desc = true }
}

// OrderBy lists records by their value at path, smallest first, or
// greatest first when desc is set; records with equal values come in id
// order (reversed with desc). Numbers compare numerically and come first,
// then strings (byte-wise), then times; records where the path is
// missing or holds anything else (null, a bool, NaN, an object) come
// last in either direction. With Limit(n) and an index on path (see
// Store.Index) the backend reads only n records.
func OrderBy(path string, desc bool) ListOption {
	return func(q *listQuery) {
		keys, err := ParsePath(path)
		if err != nil && q.err == nil {
			q.err = err
		}
		q.OrderBy, q.Desc = keys, desc
	}
}

// Fields restricts the snapshots List yields to the values at the given
// dotted paths (those a record lacks are absent), so that listing many
// records does not ship and decode what the caller never reads, such as
// the host facts. "id" and "collection" are stored fields like any other.
func Fields(paths ...string) ListOption {
	return func(q *listQuery) {
		if q.fields == nil {
			q.fields = [][]string{}
		}
		q.fields = append(q.fields, q.paths(paths)...)
	}
}

// paths parses dotted paths, keeping the first error for List.
func (q *listQuery) paths(texts []string) [][]string {
	var out [][]string
	for _, p := range texts {
		keys, err := ParsePath(p)
		if err != nil {
			if q.err == nil {
				q.err = err
			}
			continue
		}
		out = append(out, keys)
	}
	return out
}

// Omit leaves the values at the given dotted paths out of the snapshots
// List yields, and out of what the backend ships, for a caller that reads
// everything but a few large fields: Omit("host", "build", "run") lists
// runs without their machine facts. Conditions and OrderBy still see the
// omitted paths. With Fields, Omit removes from what Fields keeps.
func Omit(paths ...string) ListOption {
	return func(q *listQuery) { q.omit = append(q.omit, q.paths(paths)...) }
}

// After keeps only the records listed after the record id: pass the last
// id of one page (of Limit records) to get the next page.
func After(id string) ListOption {
	return func(q *listQuery) {
		if err := ValidID(id); err != nil && q.err == nil {
			q.err = err
		}
		q.After = id
	}
}

// AfterValue keeps only the records listed after the position (value,
// id) in OrderBy's order: pass the value the last record of a page (of
// Limit records) holds at OrderBy's path (nil if it holds none; any
// value is accepted, as Snapshot.Get returns it) and its id, to get the
// next page. Unlike an offset, a page far down a sorted
// listing reads about as little as the first: the backend is asked for
// the values from the cursor's on (a condition on the order's path that
// an index serves), and for the records of other kinds of value (strings
// after numbers, say) only when those are reached. It needs OrderBy.
func AfterValue(value any, id string) ListOption {
	return func(q *listQuery) {
		if err := ValidID(id); err != nil && q.err == nil {
			q.err = err
		}
		v, err := Normalize(value)
		if err != nil && q.err == nil {
			q.err = err
		}
		switch v.(type) {
		case bool, int64, float64, string, time.Time:
			q.cursor = &cursor{value: v, ok: true, id: id}
		default: // nil, an object or an array: all sort last, by id
			q.cursor = &cursor{id: id}
		}
	}
}

// WhereText keeps records that satisfy a condition written as text, such
// as "learning_rate=0.01", "metrics.loss.last<0.3" or `status!="failed"`:
// PATH OP VALUE with OP one of = == != < <= > >=. The value is typed from
// its text: an integer, a decimal, true, false, null, a time (RFC 3339,
// a date-time without zone read as UTC, or a plain date 2026-11-26 read as
// midnight UTC), or else a string (quoting keeps any text a string). Like
// Where, a bad condition is reported by List as an *InvalidError;
// ParseCondition parses one on its own.
func WhereText(cond string) ListOption {
	c, err := parseCond(cond)
	return func(q *listQuery) {
		if err != nil {
			if q.err == nil {
				q.err = err
			}
			return
		}
		q.Where = append(q.Where, c)
	}
}
