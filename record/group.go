package record

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
)

// Group is the records of a collection that have the same values at the
// by paths.
type Group struct {
	// Values holds the value at each by path, in order, as the group's
	// first member (in id order) stores it; nil where the members have
	// none (the path is absent or null).
	Values []any
	// IDs are the members, in id order.
	IDs []string
	// Stats aggregates each metric path, keyed as given (e.g.
	// "metrics.loss.min").
	Stats map[string]Stat
	// Best names, per metric path, the member with the best finite number
	// there: the smallest, or the greatest where the metric's goal
	// (goals.<metric>, see WithGoal) is Maximize; ties go to the first id.
	// A path where no member has a finite number has no entry.
	Best map[string]string
}

// Stat aggregates the numbers at one path over a group's members.
type Stat struct {
	// N counts the members with a finite number there (int or float).
	N int
	// NonFinite counts the members with NaN or ±Inf there, which are not
	// averaged in; a metric summary field that is null because the
	// metric's points were all non-finite (min, max, mean, sum) or because
	// its last point was (last, see last_nonfinite) counts here too.
	NonFinite int
	// Missing counts the members without a number there: the path is
	// absent, null or holds something else (a string, a bool, an object).
	Missing int
	// Mean, Std, Stderr, Min and Max are over the N finite numbers. Std is
	// the sample standard deviation (divided by N-1) and Stderr is
	// Std/sqrt(N); both are NaN when N < 2, and all five are NaN when
	// N == 0. They are computed without overflow for any finite inputs
	// (±MaxFloat64 included): only a true result beyond MaxFloat64 (the
	// Std of -MaxFloat64 and MaxFloat64) is +Inf. Ints are converted to
	// float64 (beyond 2^53 to the nearest float).
	Mean, Std, Stderr, Min, Max float64
}

// Group groups the records of coll that satisfy opts (Where, WhereText,
// Limit, ...) by their values at the by paths and aggregates, per group,
// the numbers at each metric path: usually metric summaries such as
// "metrics.loss.min" or "metrics.acc.last", but any path holding numbers
// works. It reads the records as List streams them, and only the by
// paths, the metric paths (with the summary fields that say why one is
// null), "goals" and "id".
//
// Two records are in one group when their values at every by path are
// equal: numbers by value, as backend.CompareAt compares them, so int 1
// and float 1.0 (and 0 and -0) share a group; strings byte-wise; times by
// instant; bools, NaN, arrays and objects by their exact JSON form; an
// absent path and null are both "none" (nil). Groups come ordered by
// Values, path by path, in the order of backend.CompareAt (numbers, then
// strings, then times), then bools (false first), NaN, arrays and
// objects, and nil last.
//
// The aggregates are computed exactly in Go on every backend, over the
// members in id order, so every backend gives the same bits; no backend
// pushes the work down to SQL or Mongo aggregation (a group holds few
// members: the records themselves stream, and each group keeps only the
// finite numbers of its members).
func (s *Store) Group(ctx context.Context, coll string, by, metrics []string, opts ...ListOption) ([]Group, error) {
	byKeys, err := parsePaths(by)
	if err != nil {
		return nil, err
	}
	metricKeys, err := parsePaths(metrics)
	if err != nil {
		return nil, err
	}
	fields := append(slices.Clone(by), metrics...)
	fields = append(fields, "goals", "id")
	for _, mk := range metricKeys {
		if len(mk) == 3 && mk[0] == "metrics" {
			for _, f := range []string{"last_nonfinite", "finite", "count"} {
				fields = append(fields, pathString([]string{mk[0], mk[1], f}))
			}
		}
	}
	opts = append(slices.Clip(opts), Fields(fields...))
	groups := map[string]*groupAcc{}
	var order []*groupAcc
	var kb strings.Builder
	for snap, err := range s.List(ctx, coll, opts...) {
		if err != nil {
			return nil, err
		}
		kb.Reset()
		for _, p := range byKeys {
			v, _ := backend.Lookup(snap.doc, p)
			k := groupKey(v)
			kb.WriteString(strconv.Itoa(len(k)))
			kb.WriteByte(':')
			kb.WriteString(k)
		}
		g := groups[kb.String()]
		if g == nil {
			values := make([]any, len(byKeys))
			for i, p := range byKeys {
				values[i], _ = backend.Lookup(snap.doc, p)
			}
			g = newGroupAcc(values, len(metrics))
			groups[kb.String()] = g
			order = append(order, g)
		}
		g.ids = append(g.ids, snap.id)
		for i, p := range metricKeys {
			g.metrics[i].add(snap, p)
		}
	}
	slices.SortStableFunc(order, compareGroups)
	out := make([]Group, len(order))
	for i, g := range order {
		out[i] = Group{Values: g.values, IDs: g.ids, Stats: map[string]Stat{}, Best: map[string]string{}}
		for j, m := range metrics {
			acc := &g.metrics[j]
			out[i].Stats[m] = acc.stat()
			if acc.best != "" {
				out[i].Best[m] = acc.best
			}
		}
	}
	return out, nil
}

// parsePaths parses dotted paths.
func parsePaths(texts []string) ([][]string, error) {
	out := make([][]string, len(texts))
	for i, p := range texts {
		keys, err := ParsePath(p)
		if err != nil {
			return nil, err
		}
		out[i] = keys
	}
	return out, nil
}

// groupAcc gathers one group while the records stream.
type groupAcc struct {
	values  []any
	vdoc    map[string]any // values keyed "0", "1", ... for backend.CompareAt
	ids     []string
	metrics []metricAcc
}

func newGroupAcc(values []any, metrics int) *groupAcc {
	g := &groupAcc{values: values, vdoc: make(map[string]any, len(values)), metrics: make([]metricAcc, metrics)}
	for i, v := range values {
		if v != nil {
			g.vdoc[strconv.Itoa(i)] = v
		}
	}
	return g
}

// compareGroups orders groups by their values, path by path.
func compareGroups(a, b *groupAcc) int {
	for i := range a.values {
		p := []string{strconv.Itoa(i)}
		if c := backend.CompareAt(a.vdoc, b.vdoc, p); c != 0 {
			return c
		}
		if backend.Rank(a.vdoc, p) != backend.RankOther {
			continue
		}
		va, vb := a.values[i], b.values[i]
		if c := cmp.Compare(otherRank(va), otherRank(vb)); c != 0 {
			return c
		}
		if x, ok := va.(bool); ok {
			if c := cmp.Compare(boolInt(x), boolInt(vb.(bool))); c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(groupKey(va), groupKey(vb)); c != 0 {
			return c
		}
	}
	return 0
}

// otherRank orders the values that backend.CompareAt holds equal.
func otherRank(v any) int {
	switch v.(type) {
	case bool:
		return 0
	case float64: // NaN
		return 1
	case []any:
		return 2
	case map[string]any:
		return 3
	case nil:
		return 5
	}
	return 4
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// groupKey is a text equal for two values exactly when they belong to one
// group.
func groupKey(v any) string {
	switch x := v.(type) {
	case nil:
		return "z"
	case int64:
		return "n" + strconv.FormatInt(x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return "o"
		case x == math.Trunc(x) && x >= -0x1p63 && x < 0x1p63:
			return "n" + strconv.FormatInt(int64(x), 10) // 1.0 is 1; -0 is 0
		}
		return "n" + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "s" + x
	case time.Time:
		return "t" + x.UTC().Format(time.RFC3339Nano)
	case bool:
		return "b" + strconv.FormatBool(x)
	}
	b, err := docjson.Marshal(v)
	if err != nil {
		return "?"
	}
	return "j" + string(b)
}

// metricAcc gathers the numbers of one metric path over a group.
type metricAcc struct {
	xs                 []float64 // the finite numbers, in id order
	ids                []string  // the member of each number
	nonFinite, missing int
	goal               string // of the first member that has one
	goalSet            bool
	best               string // set by stat
}

// add takes the number at path p of snap.
func (m *metricAcc) add(snap *Snapshot, p []string) {
	if !m.goalSet {
		if g, ok := backend.Lookup(snap.doc, []string{"goals", goalName(p)}); ok {
			m.goal, _ = g.(string)
			m.goalSet = true
		}
	}
	v, _ := backend.Lookup(snap.doc, p)
	var x float64
	switch n := v.(type) {
	case float64:
		x = n
	case int64:
		x = float64(n)
	default:
		if nullForNonFinite(snap.doc, p, v) {
			m.nonFinite++
		} else {
			m.missing++
		}
		return
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		m.nonFinite++
		return
	}
	m.xs = append(m.xs, x)
	m.ids = append(m.ids, snap.id)
}

// goalName is the metric whose goal ranks path p: <m> for metrics.<m>...,
// else the path's last key.
func goalName(p []string) string {
	if len(p) >= 2 && p[0] == "metrics" {
		return p[1]
	}
	return p[len(p)-1]
}

// nullForNonFinite reports whether v, the value at p, is a metric
// summary's null standing for non-finite points: metrics.<m>.last with
// last_nonfinite set, or min, max, mean or sum of a metric with points
// but no finite one.
func nullForNonFinite(doc map[string]any, p []string, v any) bool {
	if v != nil || len(p) != 3 || p[0] != "metrics" {
		return false
	}
	switch p[2] {
	case "last":
		_, ok := backend.Lookup(doc, []string{"metrics", p[1], "last_nonfinite"})
		return ok
	case "min", "max", "mean", "sum":
		finite, _ := backend.Lookup(doc, []string{"metrics", p[1], "finite"})
		count, _ := backend.Lookup(doc, []string{"metrics", p[1], "count"})
		f, ok1 := finite.(int64)
		c, ok2 := count.(int64)
		return ok1 && ok2 && f == 0 && c > 0
	}
	return false
}

// stat computes the aggregates of the finite numbers gathered, and sets
// best.
func (m *metricAcc) stat() Stat {
	st := Stat{N: len(m.xs), NonFinite: m.nonFinite, Missing: m.missing}
	nan := math.NaN()
	st.Mean, st.Std, st.Stderr, st.Min, st.Max = nan, nan, nan, nan, nan
	if st.N == 0 {
		return st
	}
	st.Min, st.Max = m.xs[0], m.xs[0]
	m.best = m.ids[0]
	for i, x := range m.xs {
		if m.goal == Maximize && x > st.Max || m.goal != Maximize && x < st.Min {
			m.best = m.ids[i]
		}
		st.Min, st.Max = min(st.Min, x), max(st.Max, x)
	}
	st.Mean, st.Std, st.Stderr = meanStd(m.xs, st.Min, st.Max)
	return st
}

// meanStd returns the mean, the sample standard deviation and its
// standard error (both NaN for one number) of the finite numbers xs,
// which lie within [lo, hi]: the mean as the compensated (Neumaier) sum
// divided by n, the variance by the corrected two-pass formula, also
// compensated. Numbers beyond 2^500 (or all below 2^-500) are first
// scaled by a power of two, which is exact, so that no sum or square
// overflows on the way.
func meanStd(xs []float64, lo, hi float64) (mean, std, stderr float64) {
	n := float64(len(xs))
	if lo == hi {
		if len(xs) < 2 {
			return lo, math.NaN(), math.NaN()
		}
		return lo, 0, 0
	}
	scale := 0
	if big := max(math.Abs(lo), math.Abs(hi)); big > 0x1p500 || big < 0x1p-500 {
		_, scale = math.Frexp(big)
	}
	y := func(x float64) float64 { return math.Ldexp(x, -scale) }
	var sum, comp float64
	for _, x := range xs {
		sum, comp = neumaier(sum, comp, y(x))
	}
	my := min(max((sum+comp)/n, y(lo)), y(hi))
	mean = math.Ldexp(my, scale)
	var sq, sqc, dev, devc float64
	for _, x := range xs {
		d := y(x) - my
		sq, sqc = neumaier(sq, sqc, d*d)
		dev, devc = neumaier(dev, devc, d)
	}
	d := dev + devc
	sd := math.Sqrt(max((sq+sqc)-d*d/n, 0) / (n - 1))
	return mean, math.Ldexp(sd, scale), math.Ldexp(sd/math.Sqrt(n), scale)
}

// neumaier adds x to the compensated sum (sum, comp).
func neumaier(sum, comp, x float64) (float64, float64) {
	t := sum + x
	if math.Abs(sum) >= math.Abs(x) {
		comp += (sum - t) + x
	} else {
		comp += (x - t) + sum
	}
	return t, comp
}
