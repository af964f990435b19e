// Command quickstart records the classic two-model experiment: it trains
// two small neural networks in plain Go on synthetic data and records, in
// the classic record's layout, its flags (learning_rate, epochs, seed) at
// the top level, a desc, and each model under models.model_<i> (params,
// losses, color, label), and logs the metric series model_<i>/loss and
// loss (the mean of both models' losses per epoch) into the embedded
// SQLite store (records.db in the working directory; $RECORD_DSN names
// another store). It then reads the record back by its id, as a separate
// reader would, prints it as indented JSON (the run's own fields first,
// then what the library manages, the host and the build), and plots both
// models' losses to losses.png in the working directory, as the classic
// example did with matplotlib.
//
//	go run ./examples/quickstart -learning_rate 0.5 -epochs 100
//	go run ./examples/quickstart -lr 0.05   # -lr is short for -learning_rate
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	_ "github.com/recordlab/go-record/backend/all"
	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(args []string) (err error) {
	flags := flag.NewFlagSet("quickstart", flag.ExitOnError)
	lr := flags.Float64("learning_rate", 0.5, "learning rate")
	flags.Float64Var(lr, "lr", 0.5, "short for -learning_rate")
	epochs := flags.Int("epochs", 100, "training epochs")
	seed := flags.Int64("seed", 42, "random seed")
	if err := flags.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()

	store, err := record.Open(ctx, "")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close(context.Background())) }()

	collection := time.Now().Format("Jan-02-2006") // a collection per day, like the classic record
	rec, err := store.Create(ctx, collection, record.WithSeed(*seed))
	if err != nil {
		return err
	}
	// Close seals the record: completed, or failed with the training error.
	if err := rec.Close(ctx, train(ctx, rec, flags, *lr, *epochs, *seed)); err != nil {
		return err
	}

	// Read it back the way a report or notebook would: by collection and id.
	reader, err := record.Open(ctx, "")
	if err != nil {
		return err
	}
	defer reader.Close(context.Background())
	snap, err := reader.Get(ctx, collection, rec.ID())
	if err != nil {
		return err
	}
	if err := printRecord(os.Stdout, snap); err != nil {
		return err
	}
	for _, name := range []string{"model_0", "model_1"} {
		losses, err := snap.Float64s("models." + name + ".losses")
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: loss %.4f -> %.4f over %d epochs\n", name, losses[0], losses[len(losses)-1], len(losses))
	}
	fmt.Fprintf(os.Stderr, "recorded %s/%s\n", collection, rec.ID())

	// Plot every model's losses in its own color and label (the classic
	// visualize()); "record plot COLLECTION ID -o losses.png" draws the same.
	if err := plot.Visualize(snap, "losses.png"); err != nil {
		return err
	}
	where, err := filepath.Abs("losses.png")
	if err != nil {
		where = "losses.png"
	}
	fmt.Fprintf(os.Stderr, "plotted the losses to %s\n", where)
	return nil
}

// train records the flags, trains the two models and records them.
func train(ctx context.Context, rec *record.Record, flags *flag.FlagSet, lr float64, epochs int, seed int64) error {
	if err := rec.Update(ctx, flags); err != nil { // every flag, typed, at the top level
		return err
	}
	if err := rec.Set(ctx, "desc", "two small MLPs learning two interleaved moons"); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	xs, ys := moons(rng, 200)
	colors := [][3]float64{{0.12, 0.47, 0.71}, {1.0, 0.50, 0.05}}
	hiddens := []int{3, 8}
	models := make([]*mlp, len(hiddens))
	losses := make([][]float64, len(hiddens))
	for i, hidden := range hiddens {
		models[i] = newMLP(rng, 2, hidden)
		losses[i] = make([]float64, 0, epochs)
	}
	for epoch := range epochs {
		metrics := record.Metrics{}
		var sum float64
		for i, m := range models {
			loss := m.trainEpoch(xs, ys, lr)
			losses[i] = append(losses[i], loss)
			metrics[fmt.Sprintf("model_%d/loss", i)] = loss
			sum += loss
		}
		metrics["loss"] = sum / float64(len(models))
		rec.Log(int64(epoch), metrics) // buffered, never blocks
	}
	for i, m := range models {
		name := fmt.Sprintf("model_%d", i)
		model := map[string]any{
			"params": m.params(),
			"losses": losses[i],
			"color":  colors[i],
			"label":  fmt.Sprintf("%s (%d hidden units)", name, hiddens[i]),
		}
		// One-level merge under models: each call adds a model, keeping the others.
		if err := rec.UpdateAt(ctx, "models", map[string]any{name: model}); err != nil {
			return err
		}
	}
	return nil
}

// moons returns n points of two interleaved half circles with noise, and
// their labels (0 or 1).
func moons(rng *rand.Rand, n int) ([][2]float64, []float64) {
	xs := make([][2]float64, n)
	ys := make([]float64, n)
	for i := range n {
		t := rng.Float64() * math.Pi
		if i%2 == 0 {
			xs[i] = [2]float64{math.Cos(t), math.Sin(t)}
		} else {
			xs[i] = [2]float64{1 - math.Cos(t), 0.5 - math.Sin(t)}
			ys[i] = 1
		}
		xs[i][0] += rng.NormFloat64() * 0.1
		xs[i][1] += rng.NormFloat64() * 0.1
	}
	return xs, ys
}

// mlp is a network with one tanh hidden layer and a sigmoid output.
type mlp struct {
	w1 [][]float64 // hidden x inputs
	b1 []float64
	w2 []float64 // hidden
	b2 float64
}

func newMLP(rng *rand.Rand, inputs, hidden int) *mlp {
	m := &mlp{w1: make([][]float64, hidden), b1: make([]float64, hidden), w2: make([]float64, hidden)}
	for j := range hidden {
		m.w1[j] = make([]float64, inputs)
		for k := range inputs {
			m.w1[j][k] = rng.NormFloat64()
		}
		m.w2[j] = rng.NormFloat64()
	}
	return m
}

// trainEpoch does one full-batch gradient step on binary cross-entropy
// and returns the loss before the step.
func (m *mlp) trainEpoch(xs [][2]float64, ys []float64, lr float64) float64 {
	hidden := len(m.b1)
	gw1 := make([][]float64, hidden)
	for j := range gw1 {
		gw1[j] = make([]float64, 2)
	}
	gb1 := make([]float64, hidden)
	gw2 := make([]float64, hidden)
	var gb2, loss float64
	h := make([]float64, hidden)
	for i, x := range xs {
		z := m.b2
		for j := range hidden {
			h[j] = math.Tanh(m.w1[j][0]*x[0] + m.w1[j][1]*x[1] + m.b1[j])
			z += m.w2[j] * h[j]
		}
		p := 1 / (1 + math.Exp(-z))
		p = math.Min(math.Max(p, 1e-12), 1-1e-12)
		loss -= ys[i]*math.Log(p) + (1-ys[i])*math.Log(1-p)
		dz := p - ys[i]
		gb2 += dz
		for j := range hidden {
			gw2[j] += dz * h[j]
			dh := dz * m.w2[j] * (1 - h[j]*h[j])
			gb1[j] += dh
			gw1[j][0] += dh * x[0]
			gw1[j][1] += dh * x[1]
		}
	}
	n := float64(len(xs))
	m.b2 -= lr * gb2 / n
	for j := range hidden {
		m.w2[j] -= lr * gw2[j] / n
		m.b1[j] -= lr * gb1[j] / n
		m.w1[j][0] -= lr * gw1[j][0] / n
		m.w1[j][1] -= lr * gw1[j][1] / n
	}
	return loss / n
}

// params returns the weights as nested number arrays.
func (m *mlp) params() map[string]any {
	return map[string]any{"w1": m.w1, "b1": m.b1, "w2": m.w2, "b2": m.b2}
}
