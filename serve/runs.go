package serve

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recordlab/go-record/record"
)

// Paging of the runs table.
const (
	defaultLimit = 50
	maxLimit     = 500
	maxOffset    = 1_000_000
	sampleSize   = 50 // records read to choose the default columns
)

type runsView struct {
	Coll     string
	Cols     []colHead
	Rows     []runRow
	Where    []string // the filters as typed, for the form
	ColsText string   // cols as typed, for the form
	Sort     string
	Desc     bool
	Limit    int
	IDSort   colHead // the id column's header
	Problem  string  // a bad parameter, said plainly
	Next     string  // link to the next page, if any
	First    string  // link to the first page, when not on it
	Metrics  []string
	Group    *groupView
	Hidden   []hidden // the state the filter form keeps
	Clear    string   // link without filter
	Compare  string   // action of the compare form
	Self     string
}

type hidden struct{ Name, Value string }

type colHead struct {
	Path   string
	Link   string
	Sorted bool
	Desc   bool
}

type runRow struct {
	ID     string
	Link   string
	Status string
	Cells  []cell
}

type cell struct {
	Text, Full string
	Status     bool
}

func (s *server) runs(w http.ResponseWriter, r *http.Request) {
	coll, ok := s.collection(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	v := &runsView{Coll: coll, Limit: defaultLimit, Sort: q.Get("sort"), Desc: q.Get("desc") == "1",
		Where: q["where"], ColsText: q.Get("cols"), Self: "/c/" + coll, Compare: "/c/" + coll + "/compare"}
	status := http.StatusOK
	bad := func(format string, args ...any) {
		if v.Problem == "" {
			v.Problem = fmt.Sprintf(format, args...)
		}
		status = http.StatusBadRequest
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxLimit {
			bad("bad limit %q: want a number from 1 to %d", l, maxLimit)
		} else {
			v.Limit = n
		}
	}
	var conds []record.ListOption
	for _, text := range v.Where {
		if strings.TrimSpace(text) == "" {
			continue
		}
		o := record.WhereText(text)
		if err := o.Err(); err != nil {
			bad("bad filter %q: %s (write PATH OP VALUE, OP one of = != < <= > >=, e.g. lr<0.1 or status=crashed)", text, cleanErr(err))
			continue
		}
		conds = append(conds, o)
	}
	if v.Sort != "" {
		if _, err := record.ParsePath(v.Sort); err != nil {
			bad("bad sort %q: %s", v.Sort, cleanErr(err))
			v.Sort = ""
		}
	}
	// The first records of the collection choose the default columns and
	// the metrics offered for comparing.
	sample, err := s.store.ListAll(ctx, coll, record.Limit(sampleSize), record.Omit("host", "build", "run", "models", "desc"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if len(sample) == 0 && !s.exists(w, r, coll) {
		return
	}
	cols, metrics := defaultColumns(sample)
	v.Metrics = metrics
	if v.ColsText != "" {
		cols = nil
		for _, c := range splitList(v.ColsText) {
			if _, err := record.ParsePath(c); err != nil {
				bad("bad column %q: %s", c, cleanErr(err))
				continue
			}
			cols = append(cols, c)
		}
	}
	v.Clear = link(v.Self, url.Values{"cols": {v.ColsText}, "sort": {q.Get("sort")}, "desc": {q.Get("desc")}})
	for _, k := range []string{"cols", "sort", "desc", "limit", "group", "metric"} {
		if x := q.Get(k); x != "" {
			v.Hidden = append(v.Hidden, hidden{k, x})
		}
	}
	if q.Get("group") != "" {
		v.Group = s.groups(r, coll, q, conds, metrics, bad)
	}
	v.IDSort = header(v.Self, q, "id", v.Sort == "id" || v.Sort == "", v.Sort == "" || v.Desc)
	for _, c := range cols {
		v.Cols = append(v.Cols, header(v.Self, q, c, v.Sort == c, v.Desc))
	}
	if v.Problem != "" {
		s.render(w, r, status, "runs", page{Title: coll, Coll: coll, Data: v})
		return
	}
	if !s.page(w, r, v, q, cols, conds) {
		return
	}
	s.render(w, r, status, "runs", page{Title: coll, Coll: coll, Data: v})
}

// page reads one page of the table into v.
func (s *server) page(w http.ResponseWriter, r *http.Request, v *runsView, q url.Values, cols []string, conds []record.ListOption) bool {
	opts := slices.Clone(conds)
	fields := append([]string{"status"}, cols...)
	for _, c := range cols {
		if strings.HasPrefix(c, "metrics.") && strings.HasSuffix(c, ".last") {
			fields = append(fields, c+"_nonfinite")
		}
	}
	opts = append(opts, record.Fields(fields...))
	offset := 0
	idOrder := v.Sort == "" || v.Sort == "id"
	if idOrder {
		if v.Sort == "" || v.Desc {
			opts = append(opts, record.NewestFirst())
		}
		if a := q.Get("after"); a != "" {
			if err := record.ValidID(a); err != nil {
				s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("bad after %q: not a record id", a))
				return false
			}
			opts = append(opts, record.After(a))
		}
		opts = append(opts, record.Limit(v.Limit+1))
	} else {
		opts = append(opts, record.Fields(v.Sort)) // the position of the last row: its value there
		if a := q.Get("after"); a != "" {
			if err := record.ValidID(a); err != nil {
				s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("bad after %q: not a record id", a))
				return false
			}
			at, err := parsePosition(q.Get("at"))
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("bad at %q: %v", q.Get("at"), err))
				return false
			}
			opts = append(opts, record.AfterValue(at, a))
		}
		if o := q.Get("offset"); o != "" {
			n, err := strconv.Atoi(o)
			if err != nil || n < 0 || n > maxOffset {
				s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("bad offset %q: want a number from 0 to %d", o, maxOffset))
				return false
			}
			offset = n
		}
		// A sorted page is the limit+1 records after the position of the
		// previous page's last (record.AfterValue; an offset still works
		// for old links): with an index on the path the backend reads
		// about those only, however deep the page.
		opts = append(opts, record.OrderBy(v.Sort, v.Desc), record.Limit(offset+v.Limit+1))
	}
	i := 0
	more := false
	var last any // the value at the sort path of the last row
	for snap, err := range s.store.List(r.Context(), v.Coll, opts...) {
		if err != nil {
			s.failErr(w, r, err)
			return false
		}
		if i++; i <= offset {
			continue
		}
		if len(v.Rows) == v.Limit {
			more = true
			break
		}
		v.Rows = append(v.Rows, row(v.Coll, snap, cols))
		if !idOrder {
			last, _ = snap.Get(v.Sort)
		}
	}
	if more {
		nq := maps.Clone(q)
		if idOrder {
			nq.Set("after", v.Rows[len(v.Rows)-1].ID)
			nq.Del("offset")
		} else {
			nq.Set("after", v.Rows[len(v.Rows)-1].ID)
			nq.Set("at", position(last))
			nq.Del("offset")
		}
		v.Next = link(v.Self, nq)
	}
	if q.Get("after") != "" || offset > 0 {
		nq := maps.Clone(q)
		nq.Del("after")
		nq.Del("at")
		nq.Del("offset")
		v.First = link(v.Self, nq)
	}
	return true
}

func row(coll string, snap *record.Snapshot, cols []string) runRow {
	rw := runRow{ID: snap.ID(), Link: "/c/" + coll + "/" + snap.ID(), Status: snap.Status()}
	for _, c := range cols {
		x, ok := snap.Get(c)
		if !ok {
			rw.Cells = append(rw.Cells, cell{Text: "-"})
			continue
		}
		if x == nil && strings.HasPrefix(c, "metrics.") && strings.HasSuffix(c, ".last") {
			// A summary's last is null when it is not finite; the
			// summary names it.
			if nf, ok := snap.Get(strings.TrimSuffix(c, "last") + "last_nonfinite"); ok {
				x = nf
			}
		}
		text := format(x)
		rw.Cells = append(rw.Cells, cell{Text: cut(text), Full: text, Status: c == "status"})
	}
	return rw
}

// header is a column's header with the link that sorts by it: ascending,
// or descending when it is already sorted ascending.
func header(self string, q url.Values, path string, sorted, desc bool) colHead {
	nq := maps.Clone(q)
	nq.Set("sort", path)
	nq.Del("desc")
	if sorted && !desc {
		nq.Set("desc", "1")
	}
	nq.Del("after")
	nq.Del("at")
	nq.Del("offset")
	return colHead{Path: path, Link: link(self, nq), Sorted: sorted, Desc: desc}
}

// defaultColumns chooses the columns of a table of sample: status,
// created, the scalar parameters, and the last value of each metric; and
// returns the metrics' names.
func defaultColumns(sample []*record.Snapshot) (cols, metrics []string) {
	params := map[string]bool{}
	ms := map[string]bool{}
	for _, snap := range sample {
		for k, x := range snap.Doc() {
			if isParam(k) && isScalar(x) {
				params[k] = true
			}
		}
		for _, m := range snap.MetricNames() {
			ms[m] = true
		}
	}
	cols = []string{"status", "created"}
	cols = append(cols, slices.Sorted(maps.Keys(params))...)
	metrics = slices.Sorted(maps.Keys(ms))
	for _, m := range metrics {
		cols = append(cols, "metrics."+m+".last")
	}
	return cols, metrics
}

// exists reports whether coll holds records, showing "no such
// collection" when it does not.
func (s *server) exists(w http.ResponseWriter, r *http.Request, coll string) bool {
	names, err := s.store.Collections(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return false
	}
	if !slices.Contains(names, coll) {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no collection %q in this store", coll))
		return false
	}
	return true
}

// position is the text of a sort value in a page link's "at": the
// kinds of value that sort among themselves exactly (i: an int, f: a
// float with every bit, s: a string, t: a time), and "" for the rest,
// which sort last, by id.
func position(v any) string {
	switch x := v.(type) {
	case int64:
		return "i:" + strconv.FormatInt(x, 10)
	case float64:
		if math.IsNaN(x) {
			return ""
		}
		return "f:" + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "s:" + x
	case time.Time:
		return "t:" + x.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// parsePosition reads what position wrote.
func parsePosition(text string) (any, error) {
	if text == "" {
		return nil, nil
	}
	kind, rest, ok := strings.Cut(text, ":")
	if !ok {
		return nil, errors.New("want i:, f:, s: or t: and a value")
	}
	switch kind {
	case "i":
		n, err := strconv.ParseInt(rest, 10, 64)
		return n, err
	case "f":
		f, err := strconv.ParseFloat(rest, 64)
		return f, err
	case "s":
		return rest, nil
	case "t":
		t, err := time.Parse(time.RFC3339Nano, rest)
		return t, err
	}
	return nil, errors.New("want i:, f:, s: or t: and a value")
}
