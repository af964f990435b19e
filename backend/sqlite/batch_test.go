package sqlite_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/sqlite"
)

const batchChildEnv = "RECORD_SQLITE_TEST_BATCH_CHILD"

// batchMetric is a hostile series name: quotes, a backslash, a control
// character and invalid UTF-8.
const batchMetric = "lo\"ss'\\\x01\xff"

const (
	batchProcs   = 2
	batchCount   = 200
	batchPoints  = 10
	batchCounter = "counter"
)

// batchValues are the values of a batch's points, hostile ones included.
var batchValues = [batchPoints]float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
	math.Copysign(0, -1), math.SmallestNonzeroFloat64, 1, -1, 0.1}

// countUpdate is the Update of every batch of TestApplyBatchProcesses: it
// increments the counter at progress.<counter> and numbers the batch's
// points from the counter it read, so the stored steps show the order in
// which the batches were applied.
func countUpdate(pts []backend.Point) func(doc map[string]any) ([]backend.Op, bool, error) {
	return func(doc map[string]any) ([]backend.Op, bool, error) {
		var n int64
		if p, ok := doc["progress"].(map[string]any); ok {
			switch v := p[batchCounter].(type) {
			case int64:
				n = v
			case nil:
			default:
				return nil, false, fmt.Errorf("counter is %T %v", v, v)
			}
		}
		for j := range pts {
			pts[j] = backend.Point{Step: n*int64(len(pts)) + int64(j), Value: batchValues[j%batchPoints], Time: time.UnixMilli(1e12 + n).UTC()}
		}
		return []backend.Op{{Kind: backend.Set, Path: []string{"progress", batchCounter}, Value: n + 1}}, true, nil
	}
}

// TestApplyBatchProcesses: two processes (this test binary, re-executed)
// each apply 200 batches to one record, each batch incrementing a counter
// in the document and appending 10 points numbered from the counter it
// read. The counter ends at 400, the series holds 4000 points whose steps
// are 0..3999 in append order (each batch saw the document the previous
// one left and its points follow the previous one's), and no process sees
// "database is locked".
func TestApplyBatchProcesses(t *testing.T) {
	if dsn := os.Getenv(batchChildEnv); dsn != "" {
		batchChild(t, dsn)
		return
	}
	if testing.Short() {
		t.Skip("short")
	}
	dsn := tempDSN(t)
	b := open(t, dsn)
	if err := b.Insert(t.Context(), "c", "shared", map[string]any{"progress": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := time.Now().Add(500 * time.Millisecond)
	for i := range batchProcs {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestApplyBatchProcesses$", "-test.v")
		cmd.Env = append(os.Environ(), batchChildEnv+"="+dsn, "CHILD_INDEX="+strconv.Itoa(i),
			"CHILD_START="+strconv.FormatInt(start.UnixNano(), 10))
		wg.Go(func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
			if strings.Contains(string(out), "locked") {
				t.Errorf("child %d saw a locked database:\n%s", i, out)
			}
		})
	}
	wg.Wait()
	doc, err := b.Get(t.Context(), "c", "shared")
	if err != nil {
		t.Fatal(err)
	}
	if got := doc["progress"].(map[string]any)[batchCounter]; got != int64(batchProcs*batchCount) {
		t.Errorf("counter = %v (%T), want %d", got, got, batchProcs*batchCount)
	}
	pts, err := readSeries(t, t.Context(), b, "c", "shared", batchMetric)
	if err != nil || len(pts) != batchProcs*batchCount*batchPoints {
		t.Fatalf("series has %d points, %v; want %d", len(pts), err, batchProcs*batchCount*batchPoints)
	}
	for i, p := range pts {
		if p.Step != int64(i) || !sameFloat(p.Value, batchValues[i%batchPoints]) {
			t.Fatalf("point %d is step %d value %v, want step %d value %v", i, p.Step, p.Value, i, batchValues[i%batchPoints])
		}
	}
	names, err := b.SeriesNames(t.Context(), "c", "shared")
	if err != nil || len(names) != 1 || names[0] != batchMetric {
		t.Errorf("SeriesNames = %q, %v; want [%q]", names, err, batchMetric)
	}
}

func batchChild(t *testing.T, dsn string) {
	ctx := t.Context()
	idx, _ := strconv.Atoi(os.Getenv("CHILD_INDEX"))
	ns, _ := strconv.ParseInt(os.Getenv("CHILD_START"), 10, 64)
	b, err := sqlite.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("child %d: Open: %v", idx, err)
	}
	defer b.Close()
	time.Sleep(time.Until(time.Unix(0, ns)))
	for i := range batchCount {
		pts := make([]backend.Point, batchPoints)
		bt := backend.Batch{Writer: "w" + strconv.Itoa(idx), Seq: int64(i + 1), Metric: batchMetric, Points: pts,
			Reads: [][]string{{"progress"}}, Guard: []string{"progress", batchCounter}, Update: countUpdate(pts)}
		if err := b.ApplyBatch(ctx, "c", "shared", bt); err != nil {
			t.Fatalf("child %d: ApplyBatch %d: %v", idx, i, err)
		}
	}
}
