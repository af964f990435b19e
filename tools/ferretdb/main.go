// Command ferretdb runs FerretDB v1 with its SQLite handler as the local
// MongoDB-wire server for the tests of backend/mongo.
//
// It uses FerretDB's embeddable package, which avoids the packaging bug of
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb` (the module zip
// lacks build/version/version.txt and that binary panics at start; the
// embeddable package skips the file when the main module is not FerretDB).
//
// Usage:
//
//	ferretdb -dir DIR [-addr 127.0.0.1:0] [-uri-file FILE] [-log-level warn] [-sqlite-params Q]
//
// It stores its SQLite files in DIR, listens on addr (port 0 picks a free
// port), opens SQLite with the URI parameters Q (default
// _pragma=synchronous(OFF): a throwaway test server need not fsync every
// commit), writes the MongoDB URI to FILE once it accepts connections (and to
// stdout), and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	dir := flag.String("dir", "", "directory for the SQLite databases (required)")
	addr := flag.String("addr", "127.0.0.1:0", "TCP address to listen on; port 0 picks a free port")
	uriFile := flag.String("uri-file", "", "file to write the MongoDB URI to once the server answers")
	level := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	params := flag.String("sqlite-params", "_pragma=synchronous(OFF)", "query parameters of the SQLite URI")
	flag.Parse()
	if err := run(*dir, *addr, *uriFile, *level, *params); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(dir, addr, uriFile, level, params string) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))

	sqliteURL := "file:" + abs + "/"
	if params != "" {
		sqliteURL += "?" + params
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	uri := f.MongoDBURI() // blocks until the TCP listener is ready
	if err := waitAccepting(ctx, uri); err != nil {
		return err
	}
	if uriFile != "" {
		tmp := uriFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(uri+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, uriFile); err != nil {
			return err
		}
	}
	fmt.Println(uri)
	return <-done
}

// waitAccepting dials the listener until it accepts a connection.
func waitAccepting(ctx context.Context, uri string) error {
	host := uri[len("mongodb://"):]
	if i := len(host) - 1; i >= 0 && host[i] == '/' {
		host = host[:i]
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("listener %s does not accept connections: %w", host, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
