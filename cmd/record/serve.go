package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/recordlab/go-record/serve"
)

var serveCmd = &command{
	name:    "serve",
	args:    "",
	summary: "serve a read-only web page of the store's runs and curves",
	help: `
Serves the store's collections, a table of the runs of each collection
(columns, sorting, --where filters, paging, groups with mean ± std), a page
per run with its losses chart, and overlaid metric curves of chosen runs, at
http://ADDR/. Every view is a plain link that can be shared. The server only
reads, needs no network access beyond its address (nothing is fetched from
elsewhere), and stops on SIGINT or SIGTERM.

It listens on a loopback address only (127.0.0.1, ::1, localhost), unless
--public allows another: pages show everything the records hold.`,
	run: runServe,
}

// serveShutdown is how long serve waits for requests in flight to end.
const serveShutdown = 500 * time.Millisecond

func runServe(e *env, args []string) error {
	var dsn, addr string
	var public bool
	fs := e.flags(&dsn)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0 picks a free one)")
	fs.BoolVar(&public, "public", false, "allow an address that is not loopback")
	if _, err := e.parse(fs, args, 0, 0); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("bad --addr %q: want HOST:PORT, e.g. 127.0.0.1:8080", addr)
	}
	if !public && !isLoopback(host) {
		return usageErrorf("refusing to serve on %q, which is not a loopback address: pages show everything the records hold; pass --public to allow it", addr)
	}
	s, err := e.openExisting(dsn)
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{
		Handler:           serve.Handler(s, serve.Options{StoreName: e.storeName(dsn), ErrorLog: log.New(e.stderr, "record: ", 0), LoopbackHosts: !public}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(e.stderr, "record: serve: ", 0),
		BaseContext:       func(net.Listener) context.Context { return e.ctx },
	}
	fmt.Fprintf(e.stdout, "serving %s at http://%s/\n", e.storeName(dsn), ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-e.ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), serveShutdown)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil // a signal's exit status is run's business
	}
}

// isLoopback reports whether a listen host stays on this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
