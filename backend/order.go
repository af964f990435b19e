package backend

import (
	"iter"
	"math"
	"slices"
	"strings"
	"time"
)

// Rank classes of OrderBy values: numbers, then strings, then times, then
// everything else.
const (
	RankNumber = iota // int64 and float64 other than NaN, ±Inf included
	RankString
	RankTime
	RankOther // missing, null, bool, NaN, arrays and objects
)

// Rank returns the class of the value at path in doc for Query.OrderBy.
func Rank(doc map[string]any, path []string) int {
	v, ok := Lookup(doc, path)
	if !ok {
		return RankOther
	}
	return rankOf(v)
}

func rankOf(v any) int {
	switch x := v.(type) {
	case int64:
		return RankNumber
	case float64:
		if math.IsNaN(x) {
			return RankOther
		}
		return RankNumber
	case string:
		return RankString
	case time.Time:
		return RankTime
	}
	return RankOther
}

// CompareAt orders two documents by their values at path, the order that
// Lister.List must follow for Query.OrderBy, ascending: first by Rank
// (numbers, strings, times, the rest), then within a rank numbers
// numerically (-0 equals 0; an int64 and a float64 compare exactly),
// strings byte-wise and times chronologically; values of RankOther are
// all equal. Desc reverses this order except that RankOther stays last;
// ties are broken by id in the listing direction. See Less.
func CompareAt(a, b map[string]any, path []string) int {
	va, _ := Lookup(a, path)
	vb, _ := Lookup(b, path)
	ra, rb := rankOf(va), rankOf(vb)
	if ra != rb {
		return cmpOrdered(int64(ra), int64(rb))
	}
	switch ra {
	case RankNumber:
		return compareNumbers(va, vb)
	case RankString:
		return strings.Compare(va.(string), vb.(string))
	case RankTime:
		return va.(time.Time).Compare(vb.(time.Time))
	}
	return 0
}

// Less reports whether item a comes before item b in the order q asks
// for: by id, or by the value at q.OrderBy (CompareAt) and then by id,
// all reversed by q.Desc except that RankOther values stay last. It is the definition
// every adapter's List must agree with.
func Less(q Query, a, b Item) bool {
	if q.OrderBy != nil {
		ra, rb := Rank(a.Doc, q.OrderBy), Rank(b.Doc, q.OrderBy)
		if ra != rb {
			if ra == RankOther || rb == RankOther {
				return rb == RankOther
			}
			if q.Desc {
				return ra > rb
			}
			return ra < rb
		}
		if c := CompareAt(a.Doc, b.Doc, q.OrderBy); c != 0 {
			return (c < 0) != q.Desc
		}
	}
	if q.Desc {
		return a.ID > b.ID
	}
	return a.ID < b.ID
}

// compareNumbers compares two numbers (int64 or non-NaN float64) exactly.
func compareNumbers(a, b any) int {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y)
		case float64:
			return -compareFloatInt(y, x)
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return compareFloatInt(x, y)
		case float64:
			return cmpOrdered(x, y)
		}
	}
	return 0
}

// compareFloatInt compares a non-NaN float with an int64 exactly.
func compareFloatInt(f float64, i int64) int {
	switch {
	case f < -0x1p63:
		return -1
	case f >= 0x1p63:
		return 1
	}
	t := math.Trunc(f)
	if c := cmpOrdered(int64(t), i); c != 0 {
		return c
	}
	return cmpOrdered(f, t) // the fraction decides
}

// SortItems yields the items of seq in q's order (Less). It holds every
// item in memory: an adapter uses it only for an order it cannot express
// natively (an unusual key in q.OrderBy, say), not for the common case.
func SortItems(q Query, seq iter.Seq2[Item, error]) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var items []Item
		for it, err := range seq {
			if err != nil {
				yield(Item{}, err)
				return
			}
			items = append(items, it)
		}
		slices.SortStableFunc(items, func(a, b Item) int {
			switch {
			case Less(q, a, b):
				return -1
			case Less(q, b, a):
				return 1
			}
			return 0
		})
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// MergeSorted merges streams that are each already in q's order (Less)
// into one stream in q's order, holding one item per stream. An adapter
// that orders different kinds of values with different queries (plain
// numbers through an index, tagged values in another query) merges them
// with it. The first error is yielded and ends the stream.
func MergeSorted(q Query, seqs ...iter.Seq2[Item, error]) iter.Seq2[Item, error] {
	if len(seqs) == 1 {
		return seqs[0]
	}
	return func(yield func(Item, error) bool) {
		type head struct {
			it   Item
			next func() (Item, error, bool)
		}
		var heads []head
		stops := make([]func(), 0, len(seqs))
		defer func() {
			for _, stop := range stops {
				stop()
			}
		}()
		for _, s := range seqs {
			next, stop := iter.Pull2(s)
			stops = append(stops, stop)
			it, err, ok := next()
			if err != nil {
				yield(Item{}, err)
				return
			}
			if ok {
				heads = append(heads, head{it, next})
			}
		}
		for len(heads) > 0 {
			best := 0
			for i := 1; i < len(heads); i++ {
				if Less(q, heads[i].it, heads[best].it) {
					best = i
				}
			}
			if !yield(heads[best].it, nil) {
				return
			}
			it, err, ok := heads[best].next()
			switch {
			case err != nil:
				yield(Item{}, err)
				return
			case ok:
				heads[best].it = it
			default:
				heads = slices.Delete(heads, best, best+1)
			}
		}
	}
}
