package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recordlab/go-record/internal/spool"
	"github.com/recordlab/go-record/record"
)

// syncSecret is the password of the offline PostgreSQL store of
// TestSyncOffline; it must never appear in what sync prints or in the spool.
const syncSecret = "s3cret"

// syncValues are hostile values an offline run logs.
var syncValues = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, math.Copysign(0, -1), 5e-324, 0.5}

// offlineRun creates a record on the offline store st, sets a flag
// holding dsn, logs n points of "loss" and closes it (closing ends
// nothing but the spool's journal) unless keepOpen.
func offlineRun(t *testing.T, st *record.Store, coll, dsn string, n int, keepOpen bool, opts ...record.CreateOption) *record.Record {
	t.Helper()
	ctx := t.Context()
	rec, err := st.Create(ctx, coll, opts...)
	if err != nil {
		t.Fatalf("offline create: %v", err)
	}
	fl := flag.NewFlagSet("train", flag.ContinueOnError)
	fl.String("dsn", dsn, "")
	fl.String("note", "q\"uote \\back\x01ctl ünï \u2028", "")
	fl.Float64("lr", math.Inf(-1), "")
	if err := rec.Update(ctx, fl); err != nil {
		t.Fatalf("offline update: %v", err)
	}
	for i := range n {
		rec.Log(int64(i), record.Metrics{"loss": syncValues[i%len(syncValues)]})
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("offline flush: %v", err)
	}
	if !keepOpen {
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatalf("offline close: %v", err)
		}
	}
	return rec
}

// TestSyncOffline: runs recorded offline into a spool (x-offline=true,
// x-spool) are shipped by `record sync` to the SQLite store the DSN names
// (the spool named by RECORD_SPOOL_DIR): "synced 1 journals" the first
// time, the record completed with its points exact, "synced 0 journals"
// the second time. A journal of another store (an offline PostgreSQL
// store whose DSN has a password) is left alone and reported; a journal
// held by a live handle in this process is reported busy on stderr, and
// shipped once its handle is closed. The password appears in no output
// and in no file name or content under the spool directory, also when
// sync runs against the PostgreSQL DSN itself (unreachable: port 1).
func TestSyncOffline(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	db := filepath.Join(dir, "runs.db")
	t.Setenv("RECORD_SPOOL_DIR", spoolDir)
	secretDSN := "postgres://u:" + syncSecret + "@127.0.0.1:1/db"
	t.Setenv("RECORD_TEST_SYNC_DSN", secretDSN)
	const coll, n = "Nov-26-2026", 1000

	off, err := record.Open(ctx, "sqlite://"+db+"?x-offline=true&x-spool="+spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close(context.Background())
	done := offlineRun(t, off, coll, secretDSN, n, false, record.WithoutHost(), record.WithBatchSize(64))
	live := offlineRun(t, off, coll, secretDSN, 10, true, record.WithoutHost())
	liveClosed := false
	defer func() {
		if !liveClosed {
			live.Close(context.Background(), nil)
		}
	}()
	pg, err := record.Open(ctx, secretDSN+"?x-offline=true&x-spool="+spoolDir)
	if err != nil {
		t.Fatalf("offline PostgreSQL store: %v", err)
	}
	defer pg.Close(context.Background())
	other := offlineRun(t, pg, coll, secretDSN, 100, false, record.WithEnv("RECORD_TEST_SYNC_DSN"))
	if _, err := os.Stat(db); err == nil {
		t.Fatal("an offline run created the SQLite store")
	}

	var outputs []string
	sync := func(dsn string, wantCode int) (stdout, stderr string) {
		t.Helper()
		stdout, stderr, code := cli(t, "", "--dsn", dsn, "sync")
		outputs = append(outputs, stdout, stderr)
		if code != wantCode {
			t.Fatalf("record --dsn %s sync: exit %d, want %d; stdout %q, stderr %q", record.RedactDSN(dsn), code, wantCode, stdout, stderr)
		}
		return stdout, stderr
	}
	journals := func() []spool.Info {
		t.Helper()
		infos, err := spool.Scan(spoolDir)
		if err != nil {
			t.Fatal(err)
		}
		return infos
	}
	if got := len(journals()); got != 3 {
		t.Fatalf("%d journals in the spool, want 3 (done, live, other store)", got)
	}
	var livePath string
	for _, in := range journals() {
		if in.Header.ID == live.ID() {
			livePath = in.Path
		}
	}

	dsn := "sqlite://" + db
	out, errOut := sync(dsn, 0)
	if !regexp.MustCompile(fmt.Sprintf(`^synced 1 journals: [1-9]\d* batches, %d points\n$`, n)).MatchString(out) {
		t.Errorf("first sync printed %q, want \"synced 1 journals: N batches, %d points\"", out, n)
	}
	if !strings.Contains(errOut, "skipped "+livePath+": a running program still writes it") {
		t.Errorf("first sync: stderr %q does not report the live journal %s busy", errOut, livePath)
	}
	if !strings.Contains(errOut, "left 1 journals of other stores") {
		t.Errorf("first sync: stderr %q does not report the other store's journal", errOut)
	}

	st := open(t, dsn)
	snap, err := st.Get(ctx, coll, done.ID())
	if err != nil {
		t.Fatalf("the synced run: %v", err)
	}
	if snap.Status() != record.StatusCompleted {
		t.Errorf("synced run: status %q, want completed", snap.Status())
	}
	ser, err := snap.LoadSeries(ctx, "loss")
	if err != nil || len(ser.Values) != n {
		t.Fatalf("synced run: %d points (%v), want %d", len(ser.Values), err, n)
	}
	for i, v := range ser.Values {
		want := syncValues[i%len(syncValues)]
		if ser.Steps[i] != int64(i) || math.Float64bits(v) != math.Float64bits(want) && !(math.IsNaN(v) && math.IsNaN(want)) {
			t.Fatalf("synced point %d: step %d value %v, want step %d value %v", i, ser.Steps[i], v, i, want)
		}
	}
	if c, err := snap.Int64("metrics.loss.count"); err != nil || c != n {
		t.Errorf("synced run: metrics.loss.count = %d (%v), want %d", c, err, n)
	}
	if note, _ := snap.Get("note"); note != "q\"uote \\back\x01ctl ünï \u2028" {
		t.Errorf("synced run: note = %q", note)
	}
	if _, err := st.Get(ctx, coll, live.ID()); err == nil {
		t.Error("sync shipped the journal of a live handle")
	}

	out, errOut = sync(dsn, 0)
	if out != "synced 0 journals: 0 batches, 0 points\n" {
		t.Errorf("second sync printed %q, want \"synced 0 journals: 0 batches, 0 points\"", out)
	}
	if !strings.Contains(errOut, "skipped "+livePath) || !strings.Contains(errOut, "left 1 journals of other stores") {
		t.Errorf("second sync: stderr %q, want the live journal busy and 1 journal of another store", errOut)
	}

	// Once its handle is closed, the live run's journal is shipped.
	if err := live.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	liveClosed = true
	out, errOut = sync(dsn, 0)
	if !regexp.MustCompile(`^synced 1 journals: [1-9]\d* batches, 10 points\n$`).MatchString(out) || strings.Contains(errOut, "skipped") {
		t.Errorf("sync after the live handle closed: stdout %q, stderr %q; want 1 journal, 10 points, nothing busy", out, errOut)
	}
	if snap, err := st.Get(ctx, coll, live.ID()); err != nil || snap.Status() != record.StatusCompleted {
		t.Errorf("the formerly live run after sync: %v", err)
	}

	// The other store's journal is still there, under a DSN without the
	// password; sync against that store (unreachable) fails without
	// printing it.
	infos := journals()
	if len(infos) != 1 || infos[0].Header.ID != other.ID() {
		t.Fatalf("the spool holds %+v after sync, want only the other store's journal", infos)
	}
	if h := infos[0].Header.Store; strings.Contains(h, syncSecret) || !strings.HasPrefix(h, "postgres://u:") {
		t.Errorf("the other store's journal names its store %q, want the DSN with its password redacted", h)
	}
	out, errOut, _ = cli(t, "", "--dsn", secretDSN, "sync")
	outputs = append(outputs, out, errOut)
	if errOut == "" {
		t.Errorf("sync against an unreachable store printed no error (stdout %q)", out)
	}
	t.Logf("sync against the unreachable store: stdout %q, stderr %q", out, errOut)

	for i, o := range outputs {
		if strings.Contains(o, syncSecret) {
			t.Errorf("output %d of sync shows the password: %q", i, o)
		}
	}
	files := 0
	err = filepath.WalkDir(spoolDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(path, syncSecret) {
			t.Errorf("spool path %s holds the password", path)
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if strings.Contains(string(data), syncSecret) {
			t.Errorf("spool file %s holds the password", path)
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Errorf("walk of the spool: %d files, %v", files, err)
	}
}
