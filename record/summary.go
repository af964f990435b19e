package record

import (
	"cmp"
	"math"
	"time"

	"github.com/recordlab/go-record/backend"
)

// summary is the per-metric digest kept at metrics.<name>. It is the
// aggregate of the metric's stored points, whatever the order in which
// they arrived: each field combines commutatively (count, sum, finite,
// nans, infs and neg_infs add; min and max combine, ties going to the
// smaller step; last is the point with the greatest step, then the later
// time, then the greater value), so batches from any number of writers
// folded in any order give the same summary, and recomputing it from the
// points gives it again (sum up to the rounding of float addition, which
// is exact for values whose partial sums are representable).
//
// The fields a query ranks runs by (last, min, max, mean, sum) are finite
// numbers or null, so that plain SQL and Mongo queries, and expression
// indexes on them, work whatever was logged; NaN and infinite points are
// counted (nans, infs, neg_infs), and a non-finite last value is named in
// last_nonfinite ("NaN", "+Inf" or "-Inf"). The points keep every value
// exactly.
type summary struct {
	Count    int64
	Last     float64
	LastStep int64
	LastTime time.Time
	Min, Max float64 // over finite values; NaN when there are none
	MinStep  int64
	MaxStep  int64
	Sum      float64 // over finite values
	Finite   int64
	NaNs     int64
	Infs     int64 // +Inf points
	NegInfs  int64 // -Inf points
}

// newSummary is the summary of no points.
func newSummary() *summary { return &summary{Min: math.NaN(), Max: math.NaN()} }

// add folds pts into s.
func (s *summary) add(pts []backend.Point) {
	for _, p := range pts {
		if s.Count == 0 || s.before(p) {
			s.Last, s.LastStep, s.LastTime = p.Value, p.Step, p.Time
		}
		s.Count++
		v := p.Value
		switch {
		case math.IsNaN(v):
			s.NaNs++
			continue
		case math.IsInf(v, 1):
			s.Infs++
			continue
		case math.IsInf(v, -1):
			s.NegInfs++
			continue
		}
		if math.IsNaN(s.Min) || v < s.Min || (v == s.Min && p.Step < s.MinStep) {
			s.Min, s.MinStep = v, p.Step
		}
		if math.IsNaN(s.Max) || v > s.Max || (v == s.Max && p.Step < s.MaxStep) {
			s.Max, s.MaxStep = v, p.Step
		}
		s.Sum += v
		s.Finite++
	}
}

// before reports whether the summary's last point comes before p: by
// step, then time, then value (NaN smallest), so that last does not
// depend on the order points arrive in.
func (s *summary) before(p backend.Point) bool {
	if c := cmp.Compare(s.LastStep, p.Step); c != 0 {
		return c < 0
	}
	if c := s.LastTime.Compare(p.Time); c != 0 {
		return c < 0
	}
	return cmp.Compare(s.Last, p.Value) < 0
}

// finiteOrNil is v when it is finite, else nil (JSON null).
func finiteOrNil(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// nonFinite names a value that is not finite, for last_nonfinite.
func nonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return ""
}

// doc is the stored form of s.
func (s *summary) doc() map[string]any {
	doc := map[string]any{
		"count":     s.Count,
		"last":      finiteOrNil(s.Last),
		"last_step": s.LastStep,
		"last_time": s.LastTime,
		"nans":      s.NaNs,
		"infs":      s.Infs,
		"neg_infs":  s.NegInfs,
		"finite":    s.Finite,
	}
	if nf := nonFinite(s.Last); nf != "" {
		doc["last_nonfinite"] = nf
	}
	if s.Finite > 0 {
		doc["min"], doc["min_step"] = s.Min, s.MinStep
		doc["max"], doc["max_step"] = s.Max, s.MaxStep
		// A sum of finite values can still overflow: then it and the mean
		// are null rather than an infinity no query can compare.
		doc["sum"] = finiteOrNil(s.Sum)
		doc["mean"] = finiteOrNil(s.Sum / float64(s.Finite))
	}
	return doc
}

// op is the Set of s at metrics.<name>.
func (s *summary) op(name string) backend.Op {
	return backend.Op{Kind: backend.Set, Path: []string{"metrics", name}, Value: s.doc()}
}

// summaryFromDoc restores a summary written by doc; m may be nil.
func summaryFromDoc(m map[string]any) *summary {
	s := newSummary()
	if m == nil {
		return s
	}
	s.Count = asInt(m["count"])
	s.Last = asFloat(m["last"])
	switch m["last_nonfinite"] {
	case "NaN":
		s.Last = math.NaN()
	case "+Inf":
		s.Last = math.Inf(1)
	case "-Inf":
		s.Last = math.Inf(-1)
	}
	s.LastStep = asInt(m["last_step"])
	s.LastTime, _ = m["last_time"].(time.Time)
	s.NaNs = asInt(m["nans"])
	s.Infs = asInt(m["infs"])
	s.NegInfs = asInt(m["neg_infs"])
	s.Finite = asInt(m["finite"])
	if s.Finite > 0 {
		s.Min, s.MinStep = asFloat(m["min"]), asInt(m["min_step"])
		s.Max, s.MaxStep = asFloat(m["max"]), asInt(m["max_step"])
		s.Sum = asFloat(m["sum"])
	}
	return s
}

// equal reports whether two summaries store the same document.
func (s *summary) equal(o *summary) bool {
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	return s.Count == o.Count && same(s.Last, o.Last) && s.LastStep == o.LastStep &&
		s.LastTime.Equal(o.LastTime) && same(s.Min, o.Min) && same(s.Max, o.Max) &&
		s.MinStep == o.MinStep && s.MaxStep == o.MaxStep && same(s.Sum, o.Sum) &&
		s.Finite == o.Finite && s.NaNs == o.NaNs && s.Infs == o.Infs && s.NegInfs == o.NegInfs
}
func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
