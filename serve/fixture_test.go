package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/record"
	"github.com/recordlab/go-record/serve"
)

// The fixture's collections.
const (
	sweepColl   = "sweep"
	hostileColl = "hostile"
)

// Hostile values stored in the fixture: none may reach a page unescaped.
const (
	scriptParam = `<script>alert(1)</script>`
	scriptLabel = `<script>alert(2)</script>`
	imgDesc     = `<img src=x onerror=alert(3)> "quoted" 'single' back\slash`
)

var lrs = []float64{0.01, 0.1, 1}

// fixture is a SQLite store filled with a generated sweep (3 learning
// rates x 5 seeds; the run lr=1 seed=5 diverged to NaN losses), a crashed
// run (its writer was killed with SIGKILL), and a run of hostile values.
type fixture struct {
	store   *record.Store
	dsn     string
	ids     map[string]string // "lr=0.1 seed=3", "crashed", "nan", "hostile"
	created time.Time
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	fixDir  string
)

// childEnv makes the test binary the child that leaves a crashed run.
const childEnv = "RECORD_SERVE_TEST_CHILD_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		crashChild(dsn)
		return
	}
	code := m.Run()
	if fix != nil {
		fix.store.Close(context.Background())
	}
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

// crashChild creates a running record with a fast heartbeat, stores some
// points, says "ready" and waits to be killed.
func crashChild(dsn string) {
	ctx := context.Background()
	s, err := record.Open(ctx, dsn)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	rec, err := s.Create(ctx, sweepColl, record.WithHeartbeat(50*time.Millisecond), record.WithoutHost(), record.WithSeed(99))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	rec.Set(ctx, "lr", 0.01)
	rec.Set(ctx, "batch", 32)
	for step := range int64(10) {
		rec.Log(step, record.Metrics{"loss": 1 / float64(step+1)})
	}
	if err := rec.Flush(ctx); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready", rec.ID())
	time.Sleep(time.Minute) // killed long before
}

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = build() })
	if fixErr != nil {
		t.Fatalf("fixture: %v", fixErr)
	}
	return fix
}

func build() (*fixture, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "record-serve-test")
	if err != nil {
		return nil, err
	}
	fixDir = dir
	f := &fixture{dsn: "sqlite://" + filepath.Join(dir, "records.db"), ids: map[string]string{}, created: time.Now()}
	if f.store, err = record.Open(ctx, f.dsn); err != nil {
		return nil, err
	}
	for _, lr := range lrs {
		for seed := int64(1); seed <= 5; seed++ {
			nan := lr == 1 && seed == 5
			id, err := sweepRun(ctx, f.store, lr, seed, nan)
			if err != nil {
				return nil, err
			}
			f.ids[fmt.Sprintf("lr=%g seed=%d", lr, seed)] = id
			if nan {
				f.ids["nan"] = id
			}
		}
	}
	if f.ids["crashed"], err = crashed(f.dsn); err != nil {
		return nil, err
	}
	if f.ids["hostile"], err = hostileRun(ctx, f.store); err != nil {
		return nil, err
	}
	// The crashed run's heartbeat (50 ms) is overdue after 3 intervals.
	time.Sleep(200 * time.Millisecond)
	return f, nil
}

// sweepRun records one run of the sweep in the classic layout: flags at
// the top level, two models with losses, and a logged loss series.
func sweepRun(ctx context.Context, s *record.Store, lr float64, seed int64, nan bool) (string, error) {
	opts := []record.CreateOption{record.WithSeed(seed), record.WithoutHost()}
	if lr == 0.1 && seed == 1 {
		opts = opts[:1] // one run with the host facts
	}
	rec, err := s.Create(ctx, sweepColl, opts...)
	if err != nil {
		return "", err
	}
	rate := 0.02 + 0.05*math.Log10(lr*100+1)
	noise := func(step int) float64 { return 0.03 * math.Sin(float64(step)*1.7+float64(seed)) }
	var m0, m1 []any
	for epoch := range 40 {
		l0 := math.Exp(-rate*float64(epoch)) + noise(epoch)
		l1 := 1.2*math.Exp(-0.8*rate*float64(epoch)) + noise(epoch+3)
		if nan && epoch >= 25 {
			l0, l1 = math.NaN(), math.NaN()
		}
		m0, m1 = append(m0, l0), append(m1, l1)
		rec.Log(int64(epoch), record.Metrics{"loss": (l0 + l1) / 2, "acc": 1 - l0/2})
	}
	err = rec.Apply(ctx,
		record.SetOp("lr", lr),
		record.SetOp("batch", 32),
		record.SetOp("optimizer", "adam"),
		record.SetOp("desc", fmt.Sprintf("two models, lr %g, seed %d", lr, seed)),
		record.SetOp("models.model_0.losses", m0),
		record.SetOp("models.model_0.color", []any{0.12, 0.47, 0.71}),
		record.SetOp("models.model_0.label", "model 0"),
		record.SetOp("models.model_1.losses", m1),
		record.SetOp("models.model_1.color", []any{1.0, 0.5, 0.05}),
		record.SetOp("models.model_1.label", "model 1"),
	)
	if err != nil {
		return "", err
	}
	var runErr error
	if nan {
		runErr = fmt.Errorf("loss diverged to NaN")
	}
	return rec.ID(), rec.Close(ctx, runErr)
}

// crashed runs the child that creates a running record, then kills it
// with SIGKILL so that its heartbeat stops without Close.
func crashed(dsn string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		return "", fmt.Errorf("crash child said nothing: %v", sc.Err())
	}
	var id string
	if _, err := fmt.Sscanf(sc.Text(), "ready %s", &id); err != nil {
		return "", fmt.Errorf("crash child: %q", sc.Text())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no last heartbeat
		return "", err
	}
	return id, nil
}

// hostileRun stores values that must be escaped or spelled out.
func hostileRun(ctx context.Context, s *record.Store) (string, error) {
	rec, err := s.Create(ctx, hostileColl, record.WithoutHost())
	if err != nil {
		return "", err
	}
	rec.Log(0, record.Metrics{"loss": math.Inf(1)})
	rec.Log(1, record.Metrics{"loss": math.NaN()})
	rec.Log(2, record.Metrics{"loss": -1})
	rec.Log(3, record.Metrics{"loss": math.MaxFloat64})
	rec.Log(4, record.Metrics{"loss": 0.5})
	err = rec.Apply(ctx,
		record.SetOp("name", scriptParam),
		record.SetOp("quote", `"double" 'single' back\slash`),
		record.SetOp("ctrl", "bell\a nul\x00 esc\x1b"),
		record.SetOp("nan", math.NaN()),
		record.SetOp("pinf", math.Inf(1)),
		record.SetOp("ninf", math.Inf(-1)),
		record.SetOp("huge", -math.MaxFloat64),
		record.SetOp("desc", imgDesc),
		record.SetOp("nested.html", "</td></tr><script>alert(4)</script>"),
		record.SetOp("models.m.losses", []any{1.0, math.NaN(), math.Inf(1), 0.5, -math.MaxFloat64}),
		record.SetOp("models.m.label", scriptLabel),
	)
	if err != nil {
		return "", err
	}
	return rec.ID(), rec.Close(ctx, nil)
}

// server serves the fixture.
func server(t testing.TB, name string) *httptest.Server {
	t.Helper()
	f := getFixture(t)
	srv := httptest.NewServer(serve.Handler(f.store, serve.Options{StoreName: name}))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches a page and returns its status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp.StatusCode, string(b)
}
