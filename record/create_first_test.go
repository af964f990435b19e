package record_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/recordlab/go-record/hw"
	"github.com/recordlab/go-record/record"
)

// createFirstEnv makes TestCreateFirstChild time the first Create of its
// process: "create" times Create alone, "detect" times hw.Detect first and
// then Create (what is left once the host is detected).
const createFirstEnv = "RECORD_TEST_CREATE_FIRST"

// TestCreateFirstChild is the child process of BenchmarkCreateFirst; it
// skips unless createFirstEnv is set. It prints the times in nanoseconds.
func TestCreateFirstChild(t *testing.T) {
	mode := os.Getenv(createFirstEnv)
	if mode == "" {
		t.Skip("the child of BenchmarkCreateFirst")
	}
	ctx := context.Background()
	st, err := record.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	var detect time.Duration
	if mode == "detect" {
		t0 := time.Now()
		if _, err := hw.Detect(ctx, hw.Options{}); err != nil {
			t.Logf("hw.Detect: %v", err) // a fact the machine cannot give
		}
		detect = time.Since(t0)
	}
	t0 := time.Now()
	if _, err := st.Create(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	first := time.Since(t0)
	t0 = time.Now()
	if _, err := st.Create(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("first-create detect=%d first=%d second=%d\n", detect, first, time.Since(t0))
}

// BenchmarkCreateFirst measures the first Create of a process, which
// detects the host (hw.Detect: gopsutil, NVML, git), in a fresh child
// process per iteration: first-ms is the first Create; in the "detect"
// run, detect-ms is hw.Detect called just before it, and first-ms what
// the first Create still costs after it (redacting and normalizing the
// facts once). second-us is the next Create.
//
//	go test -run '^$' -bench 'BenchmarkCreateFirst' -benchtime 20x ./record
func BenchmarkCreateFirst(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"create", "detect"} {
		b.Run(mode, func(b *testing.B) {
			var detect, first, second time.Duration
			for b.Loop() {
				cmd := exec.Command(exe, "-test.run", "^TestCreateFirstChild$", "-test.count", "1")
				cmd.Env = append(os.Environ(), createFirstEnv+"="+mode)
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				var d, f, s int64
				if _, err := fmt.Sscanf(string(out), "first-create detect=%d first=%d second=%d", &d, &f, &s); err != nil {
					b.Fatalf("child printed %q: %v", out, err)
				}
				detect += time.Duration(d)
				first += time.Duration(f)
				second += time.Duration(s)
			}
			n := float64(b.N)
			b.ReportMetric(float64(first.Microseconds())/n/1000, "first-ms")
			b.ReportMetric(float64(detect.Microseconds())/n/1000, "detect-ms")
			b.ReportMetric(float64(second.Microseconds())/n, "second-us")
		})
	}
}
