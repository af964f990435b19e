package plot_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"

	_ "github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/plot"
	"github.com/recordlab/go-record/record"
)

// The classic visualize(): each model's losses in its own color and
// label, from a record read back by its id.
func Example() {
	ctx := context.Background()
	store, err := record.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close(context.Background())

	rec, err := store.Create(ctx, "Nov-25-2026", record.WithID("run-1"), record.WithoutHost())
	if err != nil {
		log.Fatal(err)
	}
	for i, name := range []string{"model_0", "model_1"} {
		model := map[string]any{
			"losses": []float64{0.9 - 0.1*float64(i), 0.5, 0.3, 0.2},
			"color":  [][3]float64{{0.12, 0.47, 0.71}, {1.0, 0.50, 0.05}}[i],
			"label":  fmt.Sprintf("%s (%d hidden units)", name, 3+5*i),
		}
		if err := rec.UpdateAt(ctx, "models", map[string]any{name: model}); err != nil {
			log.Fatal(err)
		}
	}
	if err := rec.Close(ctx, nil); err != nil {
		log.Fatal(err)
	}

	snap, err := store.Get(ctx, "Nov-25-2026", "run-1")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "plot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := plot.Visualize(snap, filepath.Join(dir, "losses.png")); err != nil {
		log.Fatal(err)
	}
	fmt.Println("plotted losses.png")
	// Output: plotted losses.png
}

// The loss series of several runs, read batch by batch, on one chart.
func ExampleMetrics() {
	ctx := context.Background()
	store, err := record.Open(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close(context.Background())
	for _, id := range []string{"run-1", "run-2"} {
		rec, err := store.Create(ctx, "sweep", record.WithID(id), record.WithoutHost())
		if err != nil {
			log.Fatal(err)
		}
		for step := range 1000 {
			rec.Log(int64(step), record.Metrics{"loss": 1 / float64(step+1)})
		}
		if err := rec.Close(ctx, nil); err != nil {
			log.Fatal(err)
		}
	}

	runs, err := store.ListAll(ctx, "sweep")
	if err != nil {
		log.Fatal(err)
	}
	chart, err := plot.Metrics(ctx, runs, "loss")
	if err != nil {
		log.Fatal(err)
	}
	chart.Title = "loss of the sweep"
	if err := chart.Render(io.Discard, plot.SVG); err != nil {
		log.Fatal(err)
	}
	for _, l := range chart.Lines {
		fmt.Println(l.Label)
	}
	// Output:
	// run-1 loss
	// run-2 loss
}

// A chart of any lines: values no axis can hold are clipped to its edge
// and counted in the legend.
func ExampleChart() {
	chart := &plot.Chart{
		Title:  "a diverging run",
		XLabel: "step",
		YLabel: "loss",
		Lines: []plot.Line{{
			Label: "loss",
			X:     []float64{0, 1, 2, 3},
			Y:     []float64{0.9, 0.7, 1e308, math.Inf(1)},
		}},
	}
	if err := chart.Render(io.Discard, plot.PNG); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rendered")
	// Output: rendered
}
