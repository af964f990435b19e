package record

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// closeOnSignal waits for SIGINT or SIGTERM until the record is sealed.
func (r *Record) closeOnSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case <-r.stop:
			return
		case sig := <-sigs:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_ = r.Close(ctx, ErrInterrupted)
			cancel()
			signal.Stop(sigs)
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				_ = p.Signal(sig) // the default action, now that we no longer catch it
			}
		}
	}()
}
