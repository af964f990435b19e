package serve_test

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recordlab/go-record/backendtest"
)

var screenshots = flag.Bool("screenshots", false, "write the browser test's screenshots to docs/serve-runs.png and docs/serve-compare.png (and the run page's to the temporary directory)")

// chromiumEnv names the Chromium binary the browser tests drive.
const chromiumEnv = "RECORD_TEST_CHROMIUM"

// chromium returns the browser to drive: $RECORD_TEST_CHROMIUM, else
// chromium on $PATH. Without one the test is skipped, or fails when
// RECORD_TEST_REQUIRE names "browser".
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			backendtest.Unavailable(t, "browser", chromiumEnv+"="+p+": "+err.Error())
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	backendtest.Unavailable(t, "browser", "no Chromium found: set "+chromiumEnv+" to its binary (scripts/test.sh installs Debian's chromium)")
	return ""
}

// TestServeBrowser loads the pages in headless Chromium and checks what a
// person sees: the runs table and its columns, the crashed status, the
// order after clicking a header, the compare page reached by ticking runs,
// its legend, and screenshots that are not blank.
func TestServeBrowser(t *testing.T) {
	bin := chromium(t)
	f := getFixture(t)
	srv := server(t, "sqlite://records.db") // the name shown in the header
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	b, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) []string {
		t.Helper()
		out, err := chromedp.Run(b, chromedp.Evaluate[[]string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return out
	}

	// The runs table.
	do("open the runs table", chromedp.Navigate(srv.URL+"/c/sweep"), chromedp.WaitVisible(chromedp.CSS("#runs")))
	if n := len(eval(`[...document.querySelectorAll('#runs tbody tr[data-id]')].map(r => r.dataset.id)`)); n != 16 {
		t.Errorf("%d rows, want 16", n)
	}
	cols := eval(`[...document.querySelectorAll('#runs thead a.sort')].map(a => a.dataset.path)`)
	for _, c := range []string{"id", "status", "lr", "seed", "metrics.loss.last"} {
		if !slices.Contains(cols, c) {
			t.Errorf("columns %v lack %s", cols, c)
		}
	}
	crashed := eval(`[...document.querySelectorAll('#runs tr[data-id="` + f.ids["crashed"] + `"] td.status')].map(td => td.textContent + " " + getComputedStyle(td).backgroundColor)`)
	if len(crashed) != 1 || crashed[0] != "crashed rgb(207, 34, 46)" {
		t.Errorf("the crashed run's status cell: %q, want crashed on red", crashed)
	}
	shot(t, b, "serve-runs.png")

	// Sorting by clicking the lr header, then again for descending.
	lrColumn := `(() => { const i = [...document.querySelectorAll('#runs thead th')].findIndex(th => th.querySelector('a[data-path="lr"]'));
		return [...document.querySelectorAll('#runs tbody tr[data-id]')].map(r => r.children[i].textContent) })()`
	for _, desc := range []bool{false, true} {
		do("click the lr header", chromedp.Click(chromedp.CSS(`#runs a.sort[data-path="lr"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#runs a.sorted[data-path="lr"]`)))
		var lrs []float64
		for _, s := range eval(lrColumn) {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("lr cell %q", s)
			}
			lrs = append(lrs, x)
		}
		if desc {
			slices.Reverse(lrs)
		}
		if len(lrs) != 16 || !slices.IsSorted(lrs) || lrs[0] == lrs[15] {
			t.Errorf("after clicking lr (desc %v): %v", desc, lrs)
		}
	}

	// Ticking runs and comparing them.
	picked := []string{f.ids["lr=0.01 seed=1"], f.ids["lr=0.1 seed=1"], f.ids["lr=1 seed=1"], f.ids["lr=0.1 seed=2"], f.ids["nan"]}
	for _, id := range picked {
		do("tick "+id, chromedp.Click(chromedp.CSS(`input[name="id"][value="`+id+`"]`)))
	}
	do("compare", chromedp.Click(chromedp.CSS(`form.compare button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("#chart svg")))
	texts := eval(`[...document.querySelectorAll('#chart svg text')].map(t => t.textContent)`)
	for _, id := range picked {
		if !slices.ContainsFunc(texts, func(s string) bool { return s == id || s == id+" (15 NaN)" }) {
			t.Errorf("the chart's legend lacks %s: %q", id, texts)
		}
	}
	// The form lists the ticked runs in table order (lr descending now).
	if got := eval(`[...document.querySelectorAll('#legend tbody a')].map(a => a.textContent)`); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(picked))) {
		t.Errorf("legend table %v, want %v", got, picked)
	}
	shot(t, b, "serve-compare.png")

	// The run page: chart drawn, machine facts folded away.
	do("open a run", chromedp.Navigate(srv.URL+"/c/sweep/"+f.ids["lr=0.1 seed=1"]), chromedp.WaitVisible(chromedp.CSS("#chart svg")))
	if got := eval(`[...document.querySelectorAll('details')].map(d => d.querySelector('summary').textContent + (d.open ? " open" : ""))`); !slices.Equal(got, []string{"host", "build", "run"}) {
		t.Errorf("details %v, want host, build, run folded", got)
	}
	shot(t, b, "serve-run.png")
}

// shot takes a full-page screenshot, checks that it is not blank, and
// writes it to docs/ with -screenshots, else to the test's directory.
func shot(t *testing.T, b context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	colors, inked := census(img)
	bounds := img.Bounds()
	if colors < 32 || inked < bounds.Dx()*bounds.Dy()/50 {
		t.Errorf("screenshot %s looks blank: %d colors, %d of %d pixels not white", name, colors, inked, bounds.Dx()*bounds.Dy())
	}
	dir := t.TempDir()
	switch {
	case *screenshots && name != "serve-run.png":
		dir = filepath.Join("..", "docs")
	case *screenshots:
		dir = os.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %dx%d, %d colors", name, bounds.Dx(), bounds.Dy(), colors)
}

// census counts an image's distinct colors and its pixels that are not white.
func census(img image.Image) (colors, inked int) {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				inked++
			}
		}
	}
	return len(seen), inked
}
