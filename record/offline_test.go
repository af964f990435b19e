package record_test

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/record"
)

// A run with no store at all (x-offline=true) writes only the spool; sync
// then ships it to the store exactly once, values exact, and a second
// sync ships nothing.
func TestOfflineThenSync(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	db := filepath.Join(dir, "runs.db")
	off, err := record.Open(ctx, "sqlite://"+db+"?x-offline=true&x-spool="+spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := off.Create(ctx, "Nov-26-2026", record.WithSeed(7), record.WithBatchSize(100))
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.Float64("lr", 0.01, "")
	fs.String("note", "quote\" back\\ nul\x00 ctl\x01\u2028", "")
	if err := rec.Update(ctx, fs); err != nil {
		t.Fatal(err)
	}
	if err := rec.Append(ctx, "models.m0.losses", 0.5, math.Inf(1), math.MaxFloat64); err != nil {
		t.Fatal(err)
	}
	hostile := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1)}
	const n = 1_000
	for i := range n {
		rec.Log(int64(i), record.Metrics{"loss": hostile[i%len(hostile)], "acc": float64(i) / 4})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatalf("offline Close: %v", err)
	}
	if err := off.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an offline run touched the store: %v", err)
	}
	if _, err := off.Get(ctx, "Nov-26-2026", rec.ID()); err == nil {
		t.Fatal("Get on an offline store succeeded")
	}

	st, err := record.Open(ctx, "sqlite://"+db+"?x-spool="+spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	rep, err := st.Sync(ctx)
	if err != nil || rep.Journals != 1 || rep.Points != 2*n {
		t.Fatalf("Sync = %+v, %v; want 1 journal, %d points", rep, err, 2*n)
	}
	snap, err := st.Get(ctx, "Nov-26-2026", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status() != record.StatusCompleted {
		t.Errorf("status %q", snap.Status())
	}
	if v, _ := snap.Get("note"); v != "quote\" back\\ nul\x00 ctl\x01\u2028" {
		t.Errorf("note = %q", v)
	}
	if v, _ := snap.Int64("seed"); v != 7 {
		t.Errorf("seed = %d", v)
	}
	losses, _ := snap.Float64s("models.m0.losses")
	if len(losses) != 3 || !math.IsInf(losses[1], 1) || losses[2] != math.MaxFloat64 {
		t.Errorf("losses = %v", losses)
	}
	ser, err := snap.LoadSeries(ctx, "loss")
	if err != nil || len(ser.Values) != n {
		t.Fatalf("loss series: %d points, %v", len(ser.Values), err)
	}
	for i, v := range ser.Values {
		want := hostile[i%len(hostile)]
		if math.Float64bits(v) != math.Float64bits(want) && !(math.IsNaN(v) && math.IsNaN(want)) {
			t.Fatalf("point %d = %v, want %v", i, v, want)
		}
	}
	if c, _ := snap.Int64("metrics.acc.count"); c != n {
		t.Errorf("metrics.acc.count = %d", c)
	}
	rep, err = st.Sync(ctx)
	if err != nil || rep.Journals != 0 {
		t.Fatalf("second Sync = %+v, %v", rep, err)
	}
}
