package backendtest

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/record"
)

// testGroup checks Store.Group over a generated sweep: 3 learning rates x
// 5 seeds, the children of one sweep record, one run whose losses are all
// NaN, one run without the loss metric, and lr stored as int 1 by two runs
// and float 1.0 by three (one group). Every backend must give the same
// groups, members, counts and best members as a reference computed here
// from the logged values, N/mean/std/stderr/min/max within 4 ulps of the
// reference computed in big floats, and the very same bits on every
// backend (groupBits).
func (s *suite) testGroup(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	const hostile = "adam \"q\" \\ \x01\n<script>"
	sweep, err := st.Create(ctx, coll, record.WithoutHost(), record.WithID("sweep"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sweep.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	lrs := []any{0.001, 0.01, int64(1)}
	metrics := []string{"metrics.loss.min", "metrics.loss.last", "metrics.acc.max"}
	type member struct {
		id   string
		nums map[string]float64 // per metric path; absent: missing; NaN: non-finite
	}
	refGroups := make([][]member, len(lrs))
	for li, lr := range lrs {
		for seed := range 5 {
			id := fmt.Sprintf("run-%d-%d", li, seed)
			rec, err := st.Create(ctx, coll, record.WithoutHost(), record.WithID(id), record.WithParent("sweep"),
				record.WithSeed(int64(seed)), record.WithGoal("acc", record.Maximize))
			if err != nil {
				t.Fatal(err)
			}
			v := lr
			if li == 2 && seed >= 2 {
				v = 1.0 // the same group as int 1
			}
			if err := rec.Update(ctx, map[string]any{"lr": v, "opt": hostile}); err != nil {
				t.Fatal(err)
			}
			m := member{id: id, nums: map[string]float64{}}
			lossMin, accMax := math.Inf(1), math.Inf(-1)
			var lossLast float64
			for step := range 6 {
				loss := (1 + 0.1*float64(seed)) / float64(step+1+li)
				if step == 5 {
					loss = 1.5*loss + 0.01 // the last is not the least
				}
				acc := 0.5 + 0.07*float64(seed) + 0.013*float64(step) - 0.1*float64(li)
				mt := record.Metrics{"acc": acc}
				switch {
				case li == 1 && seed == 2:
					mt["loss"] = math.NaN() // diverged from the start
				case li == 0 && seed == 4:
					// never logs a loss
				default:
					mt["loss"] = loss
					lossMin, lossLast = min(lossMin, loss), loss
				}
				accMax = max(accMax, acc)
				rec.Log(int64(step), mt)
			}
			switch {
			case li == 1 && seed == 2:
				m.nums["metrics.loss.min"], m.nums["metrics.loss.last"] = math.NaN(), math.NaN()
			case li == 0 && seed == 4:
			default:
				m.nums["metrics.loss.min"], m.nums["metrics.loss.last"] = lossMin, lossLast
			}
			m.nums["metrics.acc.max"] = accMax
			if err := rec.Close(ctx, nil); err != nil {
				t.Fatal(err)
			}
			refGroups[li] = append(refGroups[li], m)
		}
	}

	groups, err := st.Group(ctx, coll, []string{"lr", "opt"}, metrics, record.Where("parent", "=", "sweep"))
	if err != nil {
		t.Fatalf("Group: %v", err)
	}
	type shape struct {
		Values []any
		IDs    []string
		Best   map[string]string
		Counts map[string][3]int // N, NonFinite, Missing
	}
	var want, got []shape
	for li, members := range refGroups {
		w := shape{Values: []any{lrs[li], hostile}, Best: map[string]string{}, Counts: map[string][3]int{}}
		for _, m := range members {
			w.IDs = append(w.IDs, m.id)
		}
		for _, p := range metrics {
			var c [3]int
			best, bestX := "", 0.0
			for _, m := range members {
				x, ok := m.nums[p]
				switch {
				case !ok:
					c[2]++
				case math.IsNaN(x):
					c[1]++
				default:
					c[0]++
					maximize := p == "metrics.acc.max"
					if best == "" || maximize && x > bestX || !maximize && x < bestX {
						best, bestX = m.id, x
					}
				}
			}
			w.Counts[p] = c
			w.Best[p] = best
		}
		want = append(want, w)
	}
	for _, g := range groups {
		x := shape{Values: g.Values, IDs: g.IDs, Best: g.Best, Counts: map[string][3]int{}}
		for _, p := range metrics {
			x.Counts[p] = [3]int{g.Stats[p].N, g.Stats[p].NonFinite, g.Stats[p].Missing}
		}
		got = append(got, x)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("groups (-want +got):\n%s", d)
	}

	for li, g := range groups {
		for _, p := range metrics {
			var xs []float64
			for _, m := range refGroups[li] {
				if x, ok := m.nums[p]; ok && !math.IsNaN(x) {
					xs = append(xs, x)
				}
			}
			ref := referenceStat(xs)
			gs := g.Stats[p]
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"mean", gs.Mean, ref.Mean}, {"std", gs.Std, ref.Std}, {"stderr", gs.Stderr, ref.Stderr},
				{"min", gs.Min, ref.Min}, {"max", gs.Max, ref.Max}} {
				if !withinUlps(f.got, f.want, 4) {
					t.Errorf("group lr=%v %s %s = %v, reference %v", g.Values[0], p, f.name, f.got, f.want)
				}
			}
			key := fmt.Sprintf("%d %s", li, p)
			bits := [3]uint64{math.Float64bits(gs.Mean), math.Float64bits(gs.Std), math.Float64bits(gs.Stderr)}
			if w, ok := groupBits[key]; !ok || w != bits {
				t.Errorf("group lr=%v %s: mean, std, stderr bits %#x, want %#x (every backend the same)", g.Values[0], p, bits, w)
			}
		}
	}

	// Without the condition the sweep record, which has no lr, is a group
	// of its own, last; with a limit only the first records are grouped.
	all, err := st.Group(ctx, coll, []string{"lr"}, metrics)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[3].Values[0] != nil || !slices.Equal(all[3].IDs, []string{"sweep"}) {
		t.Errorf("groups without the condition: %+v", all)
	}
	lim, err := st.Group(ctx, coll, []string{"lr"}, metrics, record.Limit(3))
	if err != nil {
		t.Fatal(err)
	}
	if len(lim) != 1 || !slices.Equal(lim[0].IDs, []string{"run-0-0", "run-0-1", "run-0-2"}) {
		t.Errorf("groups with Limit(3): %+v", lim)
	}
}

// groupBits holds the mean, std and stderr bits testGroup expects, per
// group index and metric path: what the memory backend gives, which every
// other backend must give too (the members' summaries round-trip exactly,
// and Group adds them in id order).
var groupBits = map[string][3]uint64{
	"0 metrics.loss.min":  {0x3fcd70a3d70a3d71, 0x3f9a70876aee57c3, 0x3f8a70876aee57c3},
	"0 metrics.loss.last": {0x3fd30a3d70a3d70a, 0x3fa08654a2d4f6da, 0x3f908654a2d4f6da},
	"0 metrics.acc.max":   {0x3fe68f5c28f5c28f, 0x3fbc558189986648, 0x3fa957bba5ff2441},
	"1 metrics.loss.min":  {0x3fc999999999999a, 0x3f9f28c9b380eb74, 0x3f8f28c9b380eb74},
	"1 metrics.loss.last": {0x3fd118de5ab277f5, 0x3fa407ef611c0514, 0x3f9407ef611c0514},
	"1 metrics.acc.max":   {0x3fe35c28f5c28f5c, 0x3fbc558189986648, 0x3fa957bba5ff2441},
	"2 metrics.loss.min":  {0x3fc5f15f15f15f16, 0x3f97213ab9772eeb, 0x3f84b01bcb6d0378},
	"2 metrics.loss.last": {0x3fce147ae147ae15, 0x3f9e5b9d136c6d93, 0x3f8b27247aff148c},
	"2 metrics.acc.max":   {0x3fe028f5c28f5c29, 0x3fbc558189986649, 0x3fa957bba5ff2442},
}

// referenceStat computes the aggregates of xs in 1000-bit floats.
func referenceStat(xs []float64) record.Stat {
	nan := math.NaN()
	r := record.Stat{N: len(xs), Mean: nan, Std: nan, Stderr: nan, Min: nan, Max: nan}
	if len(xs) == 0 {
		return r
	}
	const prec = 1000
	r.Min, r.Max = slices.Min(xs), slices.Max(xs)
	sum := new(big.Float).SetPrec(prec)
	for _, x := range xs {
		sum.Add(sum, big.NewFloat(x))
	}
	n := new(big.Float).SetPrec(prec).SetInt64(int64(len(xs)))
	mean := new(big.Float).SetPrec(prec).Quo(sum, n)
	r.Mean, _ = mean.Float64()
	if len(xs) < 2 {
		return r
	}
	ss := new(big.Float).SetPrec(prec)
	for _, x := range xs {
		d := new(big.Float).SetPrec(prec).Sub(big.NewFloat(x), mean)
		ss.Add(ss, d.Mul(d, d))
	}
	ss.Quo(ss, new(big.Float).SetPrec(prec).SetInt64(int64(len(xs)-1)))
	std := new(big.Float).SetPrec(prec).Sqrt(ss)
	r.Std, _ = std.Float64()
	r.Stderr, _ = new(big.Float).SetPrec(prec).Quo(std, new(big.Float).SetPrec(prec).Sqrt(n)).Float64()
	return r
}

// withinUlps reports whether got is within k ulps of want, or both are
// NaN.
func withinUlps(got, want float64, k float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return math.IsNaN(got) == math.IsNaN(want) && (math.IsNaN(got) || got == want)
	}
	u := math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)
	return math.Abs(got-want) <= k*u
}
