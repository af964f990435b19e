package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/recordlab/go-record/backend"
	_ "github.com/recordlab/go-record/backend/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "record-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	b, err := backend.Open(ctx, "sqlite://"+filepath.Join(dir, "runs.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.Insert(ctx, "Nov-25-2026", "run1", map[string]any{"learning_rate": 0.001, "epochs": int64(10)}); err != nil {
		log.Fatal(err)
	}
	err = b.Merge(ctx, "Nov-25-2026", "run1", []backend.Op{
		{Kind: backend.Set, Path: []string{"models", "model_0", "label"}, Value: "model_0"},
		{Kind: backend.Append, Path: []string{"models", "model_0", "losses"}, Value: []any{0.73, 0.52}},
	})
	if err != nil {
		log.Fatal(err)
	}
	doc, err := b.Get(ctx, "Nov-25-2026", "run1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(doc["epochs"], doc["learning_rate"], doc["models"])
	// Output: 10 0.001 map[model_0:map[label:model_0 losses:[0.73 0.52]]]
}
