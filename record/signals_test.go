package record_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// TestInterruptHandling runs a child process that creates a record with
// WithInterruptHandling, sends it SIGTERM, and checks that the record was
// flushed and sealed as interrupted and that the child still died of the
// signal.
func TestInterruptHandling(t *testing.T) {
	if dsn := os.Getenv("RECORD_SIGNAL_CHILD"); dsn != "" {
		signalChild(dsn)
		return
	}
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "records.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptHandling$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RECORD_SIGNAL_CHILD="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(line, "id "))
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("child ended with %v, want death by SIGTERM", err)
	}
	st, err := record.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	snap, err := st.Get(t.Context(), "c", id)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status() != record.StatusInterrupted {
		t.Fatalf("status = %q, want interrupted", snap.Status())
	}
	if n, _ := snap.Int64("metrics.loss.count"); n != 100 {
		t.Fatalf("metrics.loss.count = %d, want the 100 points logged before the signal", n)
	}
}

func signalChild(dsn string) {
	ctx := context.Background()
	st, err := record.Open(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rec, err := st.Create(ctx, "c", record.WithInterruptHandling(), record.WithFlushInterval(time.Hour), record.WithoutHost())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := range 100 {
		rec.Log(int64(i), record.Metrics{"loss": float64(i)})
	}
	fmt.Println("id", rec.ID())
	time.Sleep(time.Minute)
	os.Exit(3) // the signal should have ended the process
}
