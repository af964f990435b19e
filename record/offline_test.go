package record_test

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
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

// Without a cache directory (no $HOME, no $XDG_CACHE_HOME, no
// $RECORD_SPOOL_DIR) a store still opens, without a spool; an offline
// store, which needs one, is refused with a clear error.
func TestOpenWithoutCacheDir(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("RECORD_SPOOL_DIR", "")
	dir := t.TempDir()
	st, err := record.Open(t.Context(), "sqlite://"+filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatalf("Open without a cache directory: %v", err)
	}
	rec, err := st.Create(t.Context(), "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	rec.Log(0, record.Metrics{"loss": 1})
	if err := rec.Close(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	st.Close(t.Context())
	if _, err := record.Open(t.Context(), "sqlite://"+filepath.Join(dir, "runs.db")+"?x-offline=true"); err == nil || !strings.Contains(err.Error(), "RECORD_SPOOL_DIR") {
		t.Fatalf("offline Open without a spool directory = %v, want an error naming RECORD_SPOOL_DIR", err)
	}
}

// The spool's DSN options are checked: a bad x-offline is ErrInvalid
// naming it, and an offline mem:// store (which has no spool) is refused.
func TestSpoolOptionsChecked(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		"sqlite://" + filepath.Join(dir, "a.db") + "?x-offline=maybe",
		"mem://?x-offline=true",
		"sqlite://" + filepath.Join(dir, "a.db") + "?x-offline=true&x-spool=off",
	} {
		_, err := record.Open(t.Context(), dsn)
		if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), "x-") {
			t.Errorf("Open(%q) = %v, want ErrInvalid naming the option", dsn, err)
		}
	}
}
