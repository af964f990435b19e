package main

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// TestQuickstart runs the quickstart as a new user would, in an empty
// directory with no RECORD_DSN, and checks what it recorded and plotted.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(record.DSNEnv, "")
	out, err := os.Create(filepath.Join(dir, "stdout.json"))
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	err = run(nil)
	os.Stdout = stdout
	out.Close()
	if err != nil {
		t.Fatalf("quickstart: %v", err)
	}

	st, err := record.Open(t.Context(), "sqlite://records.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	runs, err := st.ListAll(t.Context(), time.Now().Format("Jan-02-2006"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("records in today's collection: %d, %v; want 1", len(runs), err)
	}
	snap := runs[0]
	if snap.Status() != record.StatusCompleted {
		t.Errorf("status = %q", snap.Status())
	}
	if epochs, err := snap.Int64("epochs"); err != nil || epochs != 100 {
		t.Errorf("epochs = %d, %v; want the flag's int 100", epochs, err)
	}
	if lr, err := snap.Float64("learning_rate"); err != nil || lr != 0.5 {
		t.Errorf("learning_rate = %v, %v", lr, err)
	}
	for _, m := range []string{"model_0", "model_1"} {
		losses, err := snap.Float64s("models." + m + ".losses")
		if err != nil || len(losses) != 100 || losses[99] >= losses[0] {
			t.Errorf("%s losses: %d values, %v; want 100, decreasing", m, len(losses), err)
		}
		if _, err := snap.Float64s("models." + m + ".color"); err != nil {
			t.Errorf("%s color: %v", m, err)
		}
		if _, err := snap.Slice("models." + m + ".params.w1"); err != nil {
			t.Errorf("%s params.w1: %v", m, err)
		}
		ser, err := snap.LoadSeries(t.Context(), m+"/loss")
		if err != nil || len(ser.Values) != 100 {
			t.Errorf("%s/loss series: %d points, %v", m, len(ser.Values), err)
		}
	}
	for _, p := range []string{"host.hostname", "build.go_version"} {
		if _, ok := snap.Get(p); !ok {
			t.Errorf("%s missing", p)
		}
	}
	f, err := os.Open("losses.png")
	if err != nil {
		t.Fatalf("losses.png: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() < 400 {
		t.Fatalf("losses.png: %v, %v", img, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "stdout.json")); len(b) < 1000 {
		t.Fatalf("the quickstart printed %d bytes, want the record as JSON", len(b))
	}
}
