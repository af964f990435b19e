// Package serve is the read-only web interface of a record store, what
// "record serve" runs: the collections, a table of the runs of each
// collection (columns, sorting, the --where filter language, paging,
// groups), a page per run with its classic losses chart, and a page that
// overlays the metric curves of chosen runs.
//
// Every page is a plain GET of a URL whose query parameters hold its whole
// state, so any view can be bookmarked or shared. Pages are rendered on
// the server with html/template (every value escaped) and the charts with
// package plot as inline SVG; the stylesheet is embedded, nothing is
// fetched from elsewhere and no script is needed.
//
// # Pages
//
//	/                             the collections and their record counts
//	/c/COLL                       the runs table
//	/c/COLL/ID                    one run
//	/c/COLL/compare?ids=A,B,...   the chosen runs' curves of one metric
//
// The runs table takes cols (comma-separated paths; default status,
// created, the scalar parameters and metrics.NAME.last of the first
// records), sort and desc (any path, with record.OrderBy), where
// (repeatable, record.WhereText), after (the last id of the previous page,
// in id order) or offset (sorted by a path), limit (1 to 500, default 50),
// and group with metric (comma-separated paths: a table of groups, with
// record.Store.Group). The compare page takes ids (or repeated id), metric,
// log=1 (log10 of the values), smooth (an EMA weight in [0, 1)) and
// x=step or x=time (seconds since each run's first point).
//
// # Security
//
// The handler only reads. It shows values as the store holds them: the
// record library redacts secrets when it captures them, and the store's
// name is shown through record.RedactDSN. Binding to a loopback address
// is the caller's job ("record serve" refuses any other without --public);
// Options.LoopbackHosts then also refuses requests for other host names.
package serve

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strings"

	"github.com/recordlab/go-record/record"
)

//go:embed templates/*.html static/*
var files embed.FS

// Options adjusts the handler.
type Options struct {
	// StoreName names the store in page headers; it is shown through
	// record.RedactDSN, so a DSN with a password may be passed as is.
	StoreName string
	// ErrorLog receives errors that could not be shown to the client;
	// nil means the log package's standard logger.
	ErrorLog *log.Logger
	// LoopbackHosts refuses (403) requests whose Host header names
	// anything but localhost or a loopback IP, so that a web page
	// elsewhere cannot read a server on loopback through DNS rebinding.
	// Set it when the server listens on loopback only.
	LoopbackHosts bool
}

// Handler serves the pages of the store. It never writes to the store.
func Handler(store *record.Store, opts Options) http.Handler {
	s := &server{store: store, name: record.RedactDSN(opts.StoreName), log: opts.ErrorLog, pages: parsePages()}
	if s.log == nil {
		s.log = log.Default()
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.collections)
	mux.HandleFunc("GET /c/{coll}", s.runs)
	mux.HandleFunc("GET /c/{coll}/{$}", s.runs)
	mux.HandleFunc("GET /c/{coll}/compare", s.compare)
	mux.HandleFunc("GET /c/{coll}/{id}", s.run)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.fail(w, r, http.StatusMethodNotAllowed, "this server only reads: method "+r.Method+" is not allowed")
			return
		}
		s.fail(w, r, http.StatusNotFound, "no such page")
	})
	var h http.Handler = mux
	if opts.LoopbackHosts {
		h = loopbackHosts(h, s)
	}
	return secureHeaders(h)
}

// loopbackHosts refuses requests addressed to a host name that is not
// this machine's loopback.
func loopbackHosts(h http.Handler, s *server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			s.fail(w, r, http.StatusForbidden, fmt.Sprintf("this server answers only to localhost and loopback addresses, not to host %q", r.Host))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// secureHeaders sets headers that keep pages from running scripts or
// loading anything from elsewhere, and from being framed.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

type server struct {
	store *record.Store
	name  string
	log   *log.Logger
	pages map[string]*template.Template
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("base.html").Funcs(funcs).ParseFS(files, "templates/base.html"))
	pages := map[string]*template.Template{}
	for _, p := range []string{"collections", "runs", "run", "compare", "error"} {
		pages[p] = template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+p+".html"))
	}
	return pages
}

// page is what every template gets.
type page struct {
	Title string
	Store string
	Coll  string // the collection, for the breadcrumb
	Data  any
}

// render executes a page into a buffer first, so that a failing template
// is a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Store = s.name
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Printf("serve: %s: %v", r.URL.Path, err)
		http.Error(w, "serve: cannot render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorPage is the data of the error template.
type errorPage struct {
	Status  int
	Message string
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", page{Title: http.StatusText(status), Data: errorPage{status, msg}})
}

// failErr shows err with the status its class calls for.
func (s *server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, record.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, record.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusInternalServerError {
		s.log.Printf("serve: %s: %v", r.URL.Path, err)
	}
	s.fail(w, r, status, cleanErr(err))
}

// cleanErr is an error's message without the package prefixes.
func cleanErr(err error) string {
	msg := err.Error()
	for _, p := range []string{"record: ", "plot: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// collection reads and checks the {coll} of the URL.
func (s *server) collection(w http.ResponseWriter, r *http.Request) (string, bool) {
	coll := r.PathValue("coll")
	if err := record.ValidCollection(coll); err != nil {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no collection %q: not a valid collection name", coll))
		return "", false
	}
	return coll, true
}

type collRow struct {
	Name  string
	Count int
}

func (s *server) collections(w http.ResponseWriter, r *http.Request) {
	names, err := s.store.Collections(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	rows := make([]collRow, 0, len(names))
	for _, n := range names {
		c, err := s.store.Count(r.Context(), n)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		rows = append(rows, collRow{n, c})
	}
	s.render(w, r, http.StatusOK, "collections", page{Title: "collections", Data: rows})
}
