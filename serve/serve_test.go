package serve_test

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/serve"
)

var (
	rowRe    = regexp.MustCompile(`(?s)<tr data-id="([^"]*)">(.*?)</tr>`)
	cellRe   = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	headRe   = regexp.MustCompile(`class="sort[^"]*" data-path="([^"]*)"`)
	nextRe   = regexp.MustCompile(`href="([^"]*)" id="next"`)
	tagRe    = regexp.MustCompile(`<[^>]*>`)
	legendRe = regexp.MustCompile(`(?s)<table class="grid" id="legend">.*?</table>`)
)

// table is the runs table of a page: the column paths, the row ids and
// each row's cells by column path.
type table struct {
	cols  []string
	ids   []string
	cells []map[string]string
}

func parseTable(t *testing.T, body string) table {
	t.Helper()
	var tb table
	for _, m := range headRe.FindAllStringSubmatch(body, -1) {
		tb.cols = append(tb.cols, html.UnescapeString(m[1]))
	}
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		tb.ids = append(tb.ids, m[1])
		cells := cellRe.FindAllStringSubmatch(m[2], -1)
		if len(cells) != len(tb.cols)+1 { // + the checkbox
			t.Fatalf("row %s has %d cells for %d columns", m[1], len(cells), len(tb.cols))
		}
		row := map[string]string{}
		for i, c := range tb.cols {
			row[c] = html.UnescapeString(strings.TrimSpace(tagRe.ReplaceAllString(cells[i+1][1], "")))
		}
		tb.cells = append(tb.cells, row)
	}
	return tb
}

func (tb table) column(path string) []string {
	var out []string
	for _, r := range tb.cells {
		out = append(out, r[path])
	}
	return out
}

// noScript fails if the body holds a hostile value unescaped.
func noScript(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<script", "<img", "<i>", "<b>"} {
		if i := strings.Index(body, bad); i >= 0 {
			t.Fatalf("page holds %q unescaped near %q", bad, body[max(0, i-80):min(len(body), i+80)])
		}
	}
}

func TestServeCollections(t *testing.T) {
	srv := server(t, "postgres://alice:s3cr3t@db.example/records?sslmode=disable")
	code, body := get(t, srv, "/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	for _, want := range []string{`<a href="/c/sweep">sweep</a></td><td class="num">16</td>`, `<a href="/c/hostile">hostile</a></td><td class="num">1</td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("collections page lacks %s", want)
		}
	}
	if strings.Contains(body, "s3cr3t") {
		t.Error("the page shows the DSN's password")
	}
	if !strings.Contains(body, "db.example") {
		t.Error("the page does not name the store")
	}
}

func TestServeRunsDefault(t *testing.T) {
	f := getFixture(t)
	srv := server(t, f.dsn)
	code, body := get(t, srv, "/c/sweep")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	tb := parseTable(t, body)
	wantCols := []string{"id", "status", "created", "batch", "lr", "optimizer", "seed", "metrics.acc.last", "metrics.loss.last"}
	if diff := cmp.Diff(wantCols, tb.cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if len(tb.ids) != 16 {
		t.Fatalf("%d rows, want 16", len(tb.ids))
	}
	if !slices.IsSortedFunc(tb.ids, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("rows not newest first: %v", tb.ids)
	}
	statuses := map[string]string{}
	for i, id := range tb.ids {
		statuses[id] = tb.cells[i]["status"]
	}
	if statuses[f.ids["crashed"]] != "crashed" || statuses[f.ids["nan"]] != "failed" || statuses[f.ids["lr=0.1 seed=2"]] != "completed" {
		t.Errorf("statuses: crashed %q, nan %q, plain %q", statuses[f.ids["crashed"]], statuses[f.ids["nan"]], statuses[f.ids["lr=0.1 seed=2"]])
	}
	if !strings.Contains(body, `class="status st-crashed">crashed</td>`) {
		t.Error("the crashed run is not styled as crashed")
	}
	if !strings.Contains(body, `name="id" value="`+f.ids["nan"]+`"`) {
		t.Error("no checkbox to select runs for compare")
	}
}

func TestServeRunsSortAndPages(t *testing.T) {
	srv := server(t, "")
	for _, tc := range []struct {
		query string
		desc  bool
	}{
		{"?sort=metrics.loss.last&limit=4", false}, {"?sort=metrics.loss.last&desc=1&limit=5", true}, {"?sort=id&limit=3", false}, {"?limit=7", true},
		{"?sort=lr&limit=2", false}, {"?sort=lr&desc=1&limit=4", true}, // ties of 5 seeds, across pages
	} {
		t.Run(tc.query, func(t *testing.T) {
			var ids, losses []string
			path := "/c/sweep" + tc.query
			for pages := 0; path != ""; pages++ {
				if pages > 20 {
					t.Fatal("paging does not end")
				}
				code, body := get(t, srv, path)
				if code != http.StatusOK {
					t.Fatalf("GET %s: %d", path, code)
				}
				tb := parseTable(t, body)
				ids = append(ids, tb.ids...)
				losses = append(losses, tb.column("metrics.loss.last")...)
				path = ""
				if m := nextRe.FindStringSubmatch(body); m != nil {
					path = html.UnescapeString(m[1])
					if strings.Contains(tc.query, "sort=") && !strings.Contains(path, "after=") {
						t.Errorf("next page %s is not a position (after=, at=)", path)
					}
				}
			}
			if len(ids) != 16 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 16 {
				t.Fatalf("pages hold %d rows, want the 16 runs once each: %v", len(ids), ids)
			}
			if strings.Contains(tc.query, "metrics.loss") {
				var nums []float64
				for _, s := range losses {
					if s == "NaN" || s == "-" { // a NaN last (null in the summary) and a missing one sort last
						continue
					}
					x, err := strconv.ParseFloat(s, 64)
					if err != nil {
						t.Fatalf("loss %q", s)
					}
					nums = append(nums, x)
				}
				if tc.desc {
					slices.Reverse(nums)
				}
				if !slices.IsSorted(nums) {
					t.Errorf("losses not sorted (desc %v): %v", tc.desc, losses)
				}
				if last := losses[len(losses)-1]; last != "NaN" {
					t.Errorf("the NaN run does not come last: %v", losses)
				}
			}
		})
	}
}

func TestServeRunsWhereColsGroup(t *testing.T) {
	f := getFixture(t)
	srv := server(t, "")
	code, body := get(t, srv, "/c/sweep?where="+url.QueryEscape("lr<0.1")+"&cols=lr,seed,metrics.loss.min")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	tb := parseTable(t, body)
	if diff := cmp.Diff([]string{"id", "lr", "seed", "metrics.loss.min"}, tb.cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if got := tb.column("lr"); len(got) != 6 || slices.ContainsFunc(got, func(s string) bool { return s != "0.01" }) {
		t.Errorf("lr<0.1 gives %v, want 6 runs of 0.01 (5 seeds and the crashed run)", got)
	}
	_, body = get(t, srv, "/c/sweep?where=status%3Dcrashed&where=lr%3D0.01")
	if tb := parseTable(t, body); !slices.Equal(tb.ids, []string{f.ids["crashed"]}) {
		t.Errorf("status=crashed gives %v, want the crashed run", tb.ids)
	}
	code, body = get(t, srv, "/c/sweep?group=lr&metric=metrics.loss.min")
	if code != http.StatusOK {
		t.Fatalf("group: status %d: %s", code, body)
	}
	groups := regexp.MustCompile(`(?s)<table class="grid" id="groups">.*?</table>`).FindString(body)
	rows := regexp.MustCompile(`(?s)<tr><td>([^<]*)</td><td class="num">(\d+)</td><td class="num"[^>]*>([^<]*)<br>`).FindAllStringSubmatch(groups, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1]+" N="+r[2]+" "+html.UnescapeString(r[3]))
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "0.01 N=6 ") || !strings.HasPrefix(got[1], "0.1 N=5 ") || !strings.HasPrefix(got[2], "1 N=5 ") || !strings.Contains(got[0], " ± ") {
		t.Errorf("groups by lr: %q", got)
	}
}

func TestServeRunPage(t *testing.T) {
	f := getFixture(t)
	srv := server(t, "")
	code, body := get(t, srv, "/c/sweep/"+f.ids["lr=0.1 seed=1"])
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`<th>lr</th><td>0.1</td>`, `<th>seed</th><td>1</td>`, `<th>optimizer</th><td>adam</td>`,
		`id="desc">two models, lr 0.1, seed 1</p>`,
		`<caption>model_0</caption>`, `<figure class="chart" id="chart"><svg`, `model 0</text>`, `model 1</text>`,
		`<td>loss</td><td class="num">40</td>`,
		`<details><summary>host</summary>`, `<details><summary>build</summary>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %s", want)
		}
	}
	_, body = get(t, srv, "/c/sweep/"+f.ids["nan"])
	if !strings.Contains(body, `st-failed" id="status">failed</span>`) || !strings.Contains(body, "loss diverged to NaN") || !strings.Contains(body, "NaN)</text>") {
		t.Errorf("the NaN run's page does not show its failure and NaN losses")
	}
	_, body = get(t, srv, "/c/sweep/"+f.ids["crashed"])
	if !strings.Contains(body, `st-crashed" id="status">crashed</span>`) || !strings.Contains(body, "no model losses") {
		t.Errorf("the crashed run's page does not say crashed and no losses")
	}
}

func TestServeHostile(t *testing.T) {
	f := getFixture(t)
	srv := server(t, "")
	for _, path := range []string{"/", "/c/hostile", "/c/hostile/" + f.ids["hostile"], "/c/hostile/compare?ids=" + f.ids["hostile"] + "&log=1&smooth=0.5", "/c/hostile?group=name,quote&metric=metrics.loss.min,nan",
		"/c/hostile?cols=" + url.QueryEscape(`<script>x</script>,name,"q'`) + "&sort=" + url.QueryEscape(`<script>y</script>`) + "&where=" + url.QueryEscape(`name="<script>alert(1)</script>"`),
		"/c/hostile?where=" + url.QueryEscape(`name="<script>alert(1)</script>"`) + "&group=" + url.QueryEscape("<b>x</b>")} {
		code, body := get(t, srv, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		noScript(t, body)
	}
	_, body := get(t, srv, "/c/hostile/"+f.ids["hostile"])
	for _, want := range []string{
		`<th>name</th><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>`,
		`<th>quote</th><td>&#34;double&#34; &#39;single&#39; back\slash</td>`,
		`<th>ctrl</th><td>&#34;bell\a nul\x00 esc\x1b&#34;</td>`,
		`<th>nan</th><td>NaN</td>`, `<th>pinf</th><td>&#43;Inf</td>`, `<th>ninf</th><td>-Inf</td>`, `<th>huge</th><td>-1.79769e&#43;308</td>`,
		`<th>nested.html</th><td>&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(4)&lt;/script&gt;</td>`,
		`&lt;img src=x onerror=alert(3)&gt;`,
		`&lt;script&gt;alert(2)&lt;/script&gt;`, // the model's label in the SVG legend
	} {
		if !strings.Contains(body, want) {
			t.Errorf("hostile run page lacks %s", want)
		}
	}
	_, body = get(t, srv, "/c/hostile?where="+url.QueryEscape(`name="<script>alert(1)</script>"`))
	if tb := parseTable(t, body); len(tb.ids) != 1 {
		t.Errorf("filtering on the <script> value gives %d rows, want 1", len(tb.ids))
	}
	_, body = get(t, srv, "/c/hostile")
	tb := parseTable(t, body)
	if got := tb.cells[0]["name"]; got != scriptParam {
		t.Errorf("name cell %q", got)
	}
	if got := tb.cells[0]["nan"] + " " + tb.cells[0]["pinf"] + " " + tb.cells[0]["ninf"]; got != "NaN +Inf -Inf" {
		t.Errorf("non-finite cells %q", got)
	}
	resp, err := http.Get(srv.URL + "/c/hostile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

func TestServeCompare(t *testing.T) {
	f := getFixture(t)
	srv := server(t, "")
	ids := []string{f.ids["lr=0.01 seed=1"], f.ids["lr=0.1 seed=1"], f.ids["lr=1 seed=1"], f.ids["nan"]}
	for _, q := range []string{"", "&log=1", "&smooth=0.6", "&x=time", "&log=1&smooth=0.9&x=time&metric=acc"} {
		code, body := get(t, srv, "/c/sweep/compare?ids="+strings.Join(ids, ",")+q)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d", q, code)
		}
		for _, id := range ids {
			if !strings.Contains(body, ">"+id+"</text>") && !strings.Contains(body, ">"+id+" (") {
				t.Errorf("%s: the chart's legend lacks %s", q, id)
			}
		}
		legend := legendRe.FindString(body)
		if n := strings.Count(legend, `class="swatch"`); n != len(ids) {
			t.Errorf("%s: %d legend rows, want %d", q, n, len(ids))
		}
	}
	// Checkboxes submit repeated id parameters.
	code, body := get(t, srv, "/c/sweep/compare?id="+ids[0]+"&id="+f.ids["crashed"]+"&metric=loss")
	if code != http.StatusOK || strings.Count(legendRe.FindString(body), `class="swatch"`) != 2 {
		t.Errorf("compare with id=: status %d", code)
	}
	// A run without the metric is noted, not an error.
	code, body = get(t, srv, "/c/sweep/compare?ids="+ids[0]+"&metric=acc&id="+f.ids["crashed"])
	if code != http.StatusOK || !strings.Contains(body, "run "+f.ids["crashed"]+" logged no acc") {
		t.Errorf("a run without the metric: status %d", code)
	}
}

func TestServeErrors(t *testing.T) {
	f := getFixture(t)
	srv := server(t, "")
	id := f.ids["lr=0.1 seed=1"]
	many := strings.Repeat(id+",", 51)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/nope", 404, "no such page"},
		{"/c/" + url.PathEscape("<script>alert(1)</script>"), 404, "not a valid collection name"},
		{"/c/..%2F..%2Fetc", 404, "not a valid collection name"},
		{"/c/missing", 404, `no collection &#34;missing&#34;`},
		{"/c/sweep/nope", 404, "not found"},
		{"/c/sweep/" + url.PathEscape(`"><script>`), 404, "not a valid record id"},
		{"/c/sweep?where=" + url.QueryEscape("lr<<1"), 400, "bad filter"},
		{"/c/sweep?where=" + url.QueryEscape(`<script>alert(1)</script>`), 400, "bad filter &#34;&lt;script&gt;"},
		{"/c/sweep?where=" + url.QueryEscape("lr=NaN") + "&where=" + url.QueryEscape("lr"), 400, "bad filter"},
		{"/c/sweep?cols=" + url.QueryEscape("a..b"), 400, "bad column"},
		{"/c/sweep?sort=" + url.QueryEscape(".x"), 400, "bad sort"},
		{"/c/sweep?limit=0", 400, "bad limit"},
		{"/c/sweep?limit=NaN", 400, "bad limit"},
		{"/c/sweep?limit=9999", 400, "bad limit"},
		{"/c/sweep?after=" + url.QueryEscape("../x"), 400, "bad after"},
		{"/c/sweep?sort=lr&offset=-1", 400, "bad offset"},
		{"/c/sweep?sort=lr&after=run1&at=x", 400, "bad at"},
		{"/c/sweep?sort=lr&after=run1&at=f:1e", 400, "bad at"},
		{"/c/sweep?sort=lr&after=run1&at=" + url.QueryEscape("t:<script>"), 400, "bad at"},
		{"/c/sweep?sort=lr&after=" + url.QueryEscape("../x") + "&at=f:1", 400, "bad after"},
		{"/c/sweep?sort=lr&offset=Inf", 400, "bad offset"},
		{"/c/sweep?group=" + url.QueryEscape("a..b"), 400, "bad group"},
		{"/c/sweep/compare", 400, "no runs to compare"},
		{"/c/sweep/compare?ids=" + url.QueryEscape(`<script>alert(1)</script>`), 400, "bad run id &#34;&lt;script&gt;"},
		{"/c/sweep/compare?ids=" + many, 400, ""}, // duplicates collapse: no error
		{"/c/sweep/compare?ids=" + id + "&smooth=NaN", 400, "bad smooth"},
		{"/c/sweep/compare?ids=" + id + "&smooth=1", 400, "bad smooth"},
		{"/c/sweep/compare?ids=" + id + "&smooth=-0.1", 400, "bad smooth"},
		{"/c/sweep/compare?ids=" + id + "&smooth=%2BInf", 400, "bad smooth"},
		{"/c/sweep/compare?ids=" + id + "&x=" + url.QueryEscape(`"><b>`), 400, "bad x &#34;\\&#34;&gt;&lt;b&gt;&#34;"},
		{"/c/sweep/compare?ids=" + id + "&metric=" + url.QueryEscape("<i>nope</i>"), 404, "none of these runs logged a metric &#34;&lt;i&gt;"},
		{"/c/sweep/compare?ids=" + id + ",nope", 404, "not found"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			code, body := get(t, srv, tc.path)
			if tc.path == "/c/sweep/compare?ids="+many {
				if code != 200 {
					t.Errorf("status %d", code)
				}
				return
			}
			if code != tc.code {
				t.Errorf("status %d, want %d", code, tc.code)
			}
			if !strings.Contains(body, `class="problem"`) || !strings.Contains(body, tc.want) {
				t.Errorf("body lacks a problem saying %q:\n%s", tc.want, body)
			}
			noScript(t, body)
		})
	}
	var ids []string
	for k, v := range f.ids {
		if strings.HasPrefix(k, "lr=") {
			ids = append(ids, v)
		}
	}
	for len(ids) <= 50 {
		ids = append(ids, "x"+strconv.Itoa(len(ids)))
	}
	if code, body := get(t, srv, "/c/sweep/compare?ids="+strings.Join(ids, ",")); code != 400 || !strings.Contains(body, "too many runs") {
		t.Errorf("51 runs: status %d", code)
	}
	resp, err := http.Post(srv.URL+"/c/sweep", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
	if code, body := get(t, srv, "/static/style.css"); code != 200 || !strings.Contains(body, ".st-crashed") {
		t.Errorf("style.css: status %d", code)
	}
}

func TestServeLoopbackHosts(t *testing.T) {
	f := getFixture(t)
	srv := httptest.NewServer(serve.Handler(f.store, serve.Options{LoopbackHosts: true}))
	defer srv.Close()
	for host, want := range map[string]int{
		"":                          http.StatusOK, // the server's own 127.0.0.1:port
		"localhost:8080":            http.StatusOK,
		"[::1]:8080":                http.StatusOK,
		"127.0.0.2":                 http.StatusOK,
		"attacker.example:8080":     http.StatusForbidden,
		"10.0.0.1":                  http.StatusForbidden,
		"<script>alert(1)</script>": http.StatusForbidden,
	} {
		req, err := http.NewRequest("GET", srv.URL+"/c/sweep", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: status %d, want %d", host, resp.StatusCode, want)
		}
		noScript(t, string(body))
	}
}
