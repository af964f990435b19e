package record_test

import (
	"context"
	"flag"
	"fmt"

	_ "github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

func Example() {
	ctx := context.Background()
	store, err := record.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer store.Close(context.Background())

	rec, err := store.Create(ctx, "Nov-25-2026", record.WithSeed(42))
	if err != nil {
		panic(err)
	}
	flags := flag.NewFlagSet("train", flag.ContinueOnError)
	flags.Float64("lr", 0.01, "learning rate")
	flags.Int("epochs", 10, "epochs")
	_ = flags.Parse([]string{"-epochs", "3"})
	_ = rec.Update(ctx, flags) // lr and epochs at the top level, typed
	for epoch, loss := range []float64{0.9, 0.5, 0.3} {
		_ = rec.Append(ctx, "models.model_0.losses", loss)
		rec.Log(int64(epoch), record.Metrics{"loss": loss})
	}
	if err := rec.Close(ctx, nil); err != nil {
		panic(err)
	}

	snap, err := store.Get(ctx, "Nov-25-2026", rec.ID())
	if err != nil {
		panic(err)
	}
	epochs, _ := snap.Int64("epochs")
	lr, _ := snap.Float64("lr")
	losses, _ := snap.Float64s("models.model_0.losses")
	best, _ := snap.Float64("metrics.loss.min")
	series, _ := snap.LoadSeries(ctx, "loss")
	fmt.Println(snap.Status(), epochs, lr, losses, best, series.Steps)
	// Output: completed 3 0.01 [0.9 0.5 0.3] 0.3 [0 1 2]
}

func ExampleWhereText() {
	ctx := context.Background()
	store, _ := record.Open(ctx, "mem://")
	defer store.Close(context.Background())
	for i, lr := range []float64{0.1, 0.01, 0.001} {
		rec, _ := store.Create(ctx, "sweep", record.WithID(fmt.Sprintf("run-%d", i)), record.WithoutHost())
		_ = rec.Set(ctx, "lr", lr)
		_ = rec.Close(ctx, nil)
	}
	runs, _ := store.ListAll(ctx, "sweep", record.WhereText("lr<0.05"))
	for _, r := range runs {
		fmt.Println(r.ID())
	}
	// Output:
	// run-1
	// run-2
}

func ExampleNormalize() {
	type params struct {
		LR     float64 `json:"learning_rate"`
		Epochs int     `json:"epochs"`
		Layers []int   `json:"layers,omitempty"`
	}
	v, _ := record.Normalize(params{LR: 1, Epochs: 10})
	m := v.(map[string]any)
	fmt.Printf("%T %T %v\n", m["learning_rate"], m["epochs"], len(m))
	// Output: float64 int64 2
}

func ExampleNewestFirst() {
	ctx := context.Background()
	store, _ := record.Open(ctx, "mem://")
	defer store.Close(context.Background())
	for i := range 5 {
		rec, _ := store.Create(ctx, "runs", record.WithID(fmt.Sprintf("run-%d", i)), record.WithoutHost())
		_ = rec.Close(ctx, nil)
	}
	// The two newest runs, then the page after them.
	page, _ := store.ListAll(ctx, "runs", record.NewestFirst(), record.Limit(2))
	next, _ := store.ListAll(ctx, "runs", record.NewestFirst(), record.Limit(2), record.After(page[1].ID()))
	for _, r := range append(page, next...) {
		fmt.Println(r.ID())
	}
	// Output:
	// run-4
	// run-3
	// run-2
	// run-1
}

func ExampleRecord_Metric() {
	ctx := context.Background()
	store, err := record.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer store.Close(context.Background())
	rec, err := store.Create(ctx, "sweep", record.WithoutHost())
	if err != nil {
		panic(err)
	}
	loss := rec.Metric("loss") // once, before the loop
	for step := range int64(1000) {
		loss.Log(step, 1/float64(step+1))
	}
	if err := rec.Close(ctx, nil); err != nil {
		panic(err)
	}
	snap, err := store.Get(ctx, "sweep", rec.ID())
	if err != nil {
		panic(err)
	}
	n, _ := snap.Int64("metrics.loss.count")
	last, _ := snap.Float64("metrics.loss.last")
	fmt.Println(n, last)
	// Output: 1000 0.001
}
