// Command hwinfo prints what package hw captures about this machine: the
// result of hw.Detect as indented JSON (secrets masked by
// record.RedactFacts, as in a stored record), then the first two samples of an
// hw.Sampler, one second apart, as JSON. Errors (a fact that could not be
// read) go to stderr; the program still prints everything it found.
//
// Build it with cgo to see NVIDIA GPUs (NVML is loaded at run time, so the
// binary also runs on machines without a driver):
//
//	CGO_ENABLED=1 CGO_CFLAGS=-Wno-deprecated-declarations go build ./examples/hwinfo
//	./hwinfo -env 'CUDA_*,NVIDIA_*'
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/recordlab/go-record/hw"
	"github.com/recordlab/go-record/record"
)

func main() {
	env := flag.String("env", "", "comma-separated environment variable names or globs to capture")
	interval := flag.Duration("interval", time.Second, "time between the two samples")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts hw.Options
	if *env != "" {
		opts.Env = strings.Split(*env, ",")
	}
	start := time.Now()
	info, err := hw.Detect(ctx, opts)
	took := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hwinfo: detect (partial result): %v\n", err)
	}
	start = time.Now()
	_, _ = hw.Detect(ctx, opts)
	cached := time.Since(start)
	fmt.Fprintf(os.Stderr, "hwinfo: detect took %v, cached %v\n", took, cached)
	if info != nil {
		record.RedactFacts(info) // hw captures as is; secrets are masked here, as record does
	}
	printJSON(info)

	s := hw.NewSampler(ctx)
	defer s.Close()
	for i := range 2 {
		select {
		case <-time.After(*interval):
		case <-ctx.Done():
			return
		}
		m, err := s.Sample(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hwinfo: sample %d (partial): %v\n", i+1, err)
		}
		printJSON(m)
	}
}

func printJSON(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "hwinfo: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}
