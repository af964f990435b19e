package record_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	_ "github.com/recordlab/go-record/backend/sqlite"
	"github.com/recordlab/go-record/backendtest"
	"github.com/recordlab/go-record/record"
)

const tcoll = "Nov-25-2026"

// listerOnly is a backend without a SeriesStore: record keeps its series in
// the document (series.NAME.steps/values/times).
type listerOnly struct {
	backend.Backend
	backend.Lister
	backend.Deleter
}

// transferStore opens an empty store of one kind.
type transferStore struct {
	name string
	open func(t *testing.T) *record.Store
}

func transferStores() []transferStore {
	closeAt := func(t *testing.T, s *record.Store) *record.Store {
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	}
	return []transferStore{
		{"mem", func(t *testing.T) *record.Store {
			s, err := record.Open(t.Context(), "mem://")
			if err != nil {
				t.Fatal(err)
			}
			return closeAt(t, s)
		}},
		{"sqlite", func(t *testing.T) *record.Store {
			s, err := record.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "records.db"))
			if err != nil {
				t.Fatal(err)
			}
			return closeAt(t, s)
		}},
		{"noseries", func(t *testing.T) *record.Store {
			m := memory.New()
			return closeAt(t, record.NewStore(listerOnly{m, m, m}))
		}},
	}
}

// hostile holds every kind of value the value model allows at its edges.
func hostile() map[string]any {
	return map[string]any{
		"nan":          math.NaN(),
		"inf":          math.Inf(1),
		"ninf":         math.Inf(-1),
		"negzero":      math.Copysign(0, -1),
		"tiny":         5e-324,
		"ten":          10.0,
		"maxint":       int64(math.MaxInt64),
		"minint":       int64(math.MinInt64),
		"quotes":       `say "hi" \ 'there' \"`,
		"control":      "a\x01\x1f\x7f\tb\nc\r",
		"nul":          "a\x00b",
		"separators":   "x\u2028y\u2029z",
		"unicode":      "ünïcödé 🙂 \ufeff",
		"empty":        "",
		`key "quoted"`: 1,
		"key\ttab\n":   2,
		" ":            "a key of one space",
		"ключ":         true,
		"nested": map[string]any{
			"arr":  []any{math.NaN(), nil, []any{}, map[string]any{}, []any{[]any{1, 2}, []any{3}}},
			"when": time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("CET", 3600)),
			"deep": map[string]any{"deeper": map[string]any{"deepest": math.Copysign(0, -1)}},
		},
	}
}

// seedTransfer writes records the way training code does: rec-a with
// hostile values and series with NaN, ±Inf and -0; rec-b with a plain
// series; rec-c without metrics.
func seedTransfer(t *testing.T, s *record.Store) {
	t.Helper()
	ctx := t.Context()
	for i, id := range []string{"rec-a", "rec-b", "rec-c"} {
		rec, err := s.Create(ctx, tcoll, record.WithID(id), record.WithoutHost(), record.WithSeed(int64(i)))
		if err != nil {
			t.Fatal(err)
		}
		switch id {
		case "rec-a":
			if err := rec.Update(ctx, hostile()); err != nil {
				t.Fatal(err)
			}
			odd := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324, -1e308}
			for step := range 30 {
				rec.Log(int64(step), record.Metrics{"loss": odd[step%len(odd)], "acc": float64(step) / 30})
			}
		case "rec-b":
			if err := rec.Update(ctx, map[string]any{"lr": 0.1}); err != nil {
				t.Fatal(err)
			}
			for step := range 5 {
				rec.Log(int64(step*10), record.Metrics{"train/loss": 1 / float64(step+1)})
			}
		}
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func export(t *testing.T, s *record.Store, opts ...record.ListOption) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := s.Export(t.Context(), tcoll, &b, opts...); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return b.String()
}

func importLines(t *testing.T, s *record.Store, lines string, opts ...record.TransferOption) record.TransferReport {
	t.Helper()
	rep, err := s.Import(t.Context(), tcoll, strings.NewReader(lines), opts...)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return rep
}

// TestExportImport moves records with hostile values between every pair
// of store kinds and checks that nothing changes by a bit.
func TestExportImport(t *testing.T) {
	for _, from := range transferStores() {
		for _, to := range transferStores() {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				src := from.open(t)
				seedTransfer(t, src)
				lines := export(t, src)
				if n := strings.Count(lines, "\n"); n != 3 {
					t.Fatalf("Export wrote %d lines, want 3:\n%s", n, lines)
				}
				for _, want := range []string{`"$float":"NaN"`, `"$float":"-0"`, `"ten":10.0`, `"maxint":9223372036854775807`,
					`"$string":"YQBi"`, `\u2028`, `"key \"quoted\"":1`, `"series":{"acc":{"steps":[0,1,`, `"train/loss":{"steps":[0,10,20,30,40],"times":[{"$time":"`} {
					if !strings.Contains(lines, want) {
						t.Errorf("export lacks %s", want)
					}
				}
				if strings.Contains(strings.SplitAfter(lines, "\n")[2], `"series"`) {
					t.Error("rec-c has no points but its line has a series field")
				}
				dst := to.open(t)
				want := record.TransferReport{Added: 3}
				for range 2 { // the second import finds everything in place
					rep := importLines(t, dst, lines)
					if diff := cmp.Diff(want, rep); diff != "" {
						t.Errorf("Import report (-want +got):\n%s", diff)
					}
					if got := export(t, dst); got != lines {
						t.Fatalf("export after import differs:\nwant %.600s\ngot  %.600s", lines, got)
					}
					want = record.TransferReport{Unchanged: 3}
				}
				compareStores(t, src, dst)
			})
		}
	}
}

// compareStores checks that two stores hold the same records with the
// same series, point by point.
func compareStores(t *testing.T, a, b *record.Store) {
	t.Helper()
	ctx := t.Context()
	want, err := a.ListAll(ctx, tcoll)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.ListAll(ctx, tcoll)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		wd, gd := w.Doc(), g.Doc()
		delete(wd, "series") // where a store keeps its series in the document
		delete(gd, "series")
		if diff := backendtest.Diff(wd, gd); diff != "" {
			t.Errorf("%s differs:\n%s", w.ID(), diff)
		}
		for _, name := range w.MetricNames() {
			ws, err := w.LoadSeries(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := g.LoadSeries(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := backendtest.Diff(points(ws), points(gs)); diff != "" {
				t.Errorf("series %s of %s differs:\n%s", name, w.ID(), diff)
			}
		}
	}
}

func points(s record.Series) []any {
	out := make([]any, len(s.Steps))
	for i := range s.Steps {
		out[i] = []any{s.Steps[i], s.Values[i], s.Times[i]}
	}
	return out
}

// TestImportConflicts checks that a record stored with another document or
// other points is left unchanged and reported, and that Overwrite
// replaces it.
func TestImportConflicts(t *testing.T) {
	for _, st := range transferStores() {
		t.Run(st.name, func(t *testing.T) {
			src := st.open(t)
			seedTransfer(t, src)
			lines := export(t, src)
			cases := []struct {
				name string
				edit func(string) string
			}{
				{"document", func(s string) string { return strings.Replace(s, `"lr":0.1`, `"lr":0.2`, 1) }},
				{"series point", func(s string) string {
					return strings.Replace(s, `"values":[1.0,0.5,`, `"values":[1.0,0.25,`, 1)
				}},
				{"more points stored", func(s string) string {
					return strings.Replace(s, `"steps":[0,10,20,30,40]`, `"steps":[0,10,20,30]`, 1)
				}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					changed := c.edit(lines)
					if changed == lines {
						t.Fatal("the edit changed nothing")
					}
					if c.name == "more points stored" {
						changed = cutColumns(t, changed, "train/loss", 4)
					}
					dst := st.open(t)
					importLines(t, dst, lines)
					rep, err := dst.Import(t.Context(), tcoll, strings.NewReader(changed))
					var ce *record.ConflictError
					if !errors.As(err, &ce) || !errors.Is(err, record.ErrExists) {
						t.Fatalf("Import of a changed record: %v, want a *ConflictError", err)
					}
					want := record.TransferReport{Unchanged: 2, Conflicts: []string{tcoll + "/rec-b"}}
					if diff := cmp.Diff(want, rep); diff != "" {
						t.Errorf("report (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(want.Conflicts, ce.Conflicts); diff != "" {
						t.Errorf("ConflictError.Conflicts (-want +got):\n%s", diff)
					}
					if got := export(t, dst); got != lines {
						t.Fatal("a conflicting import changed the store")
					}
					rep = importLines(t, dst, changed, record.Overwrite())
					if diff := cmp.Diff(record.TransferReport{Unchanged: 2, Replaced: 1}, rep); diff != "" {
						t.Errorf("Overwrite report (-want +got):\n%s", diff)
					}
					if got := export(t, dst); got != changed {
						t.Fatalf("export after Overwrite differs from its input:\nwant %s\ngot  %s", changed, got)
					}
				})
			}
		})
	}
}

// cutColumns keeps the first n points of one series in an export,
// through the public API: UnmarshalDoc and MarshalValue.
func cutColumns(t *testing.T, lines, name string, n int) string {
	t.Helper()
	var out []byte
	for _, line := range strings.SplitAfter(lines, "\n") {
		if line == "" {
			continue
		}
		top, err := record.UnmarshalDoc([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if sm, ok := top["series"].(map[string]any); ok && sm[name] != nil {
			m := sm[name].(map[string]any)
			for _, k := range []string{"steps", "times", "values"} {
				m[k] = m[k].([]any)[:n]
			}
		}
		for i, k := range []string{"id", "doc", "series"} { // the order Export writes
			if top[k] == nil {
				continue
			}
			b, err := record.MarshalValue(top[k])
			if err != nil {
				t.Fatal(err)
			}
			sep := ","
			if i == 0 {
				sep = "{"
			}
			out = append(append(out, sep+`"`+k+`":`...), b...)
		}
		out = append(out, "}\n"...)
	}
	return string(out)
}

// TestImportCompletes checks that importing again completes the series of
// an import that stopped half way.
func TestImportCompletes(t *testing.T) {
	for _, st := range transferStores() {
		t.Run(st.name, func(t *testing.T) {
			src := st.open(t)
			seedTransfer(t, src)
			lines := export(t, src)
			dst := st.open(t)
			importLines(t, dst, cutColumns(t, cutColumns(t, lines, "loss", 7), "train/loss", 0))
			rep := importLines(t, dst, lines)
			if diff := cmp.Diff(record.TransferReport{Completed: 2, Unchanged: 1}, rep); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if got := export(t, dst); got != lines {
				t.Fatalf("import did not complete the series:\nwant %s\ngot  %s", lines, got)
			}
		})
	}
}

// TestCopy copies between every pair of store kinds, twice, then finds a
// conflict and overwrites it.
func TestCopy(t *testing.T) {
	for _, from := range transferStores() {
		for _, to := range transferStores() {
			t.Run(from.name+" to "+to.name, func(t *testing.T) {
				ctx := t.Context()
				src, dst := from.open(t), to.open(t)
				seedTransfer(t, src)
				var progress []int
				rep, err := record.Copy(ctx, src, dst, tcoll, record.Progress(func(r record.TransferReport) {
					progress = append(progress, r.Records())
				}))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(record.TransferReport{Added: 3}, rep); diff != "" {
					t.Errorf("report (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]int{1, 2, 3}, progress); diff != "" {
					t.Errorf("progress (-want +got):\n%s", diff)
				}
				compareStores(t, src, dst)
				if a, b := export(t, src), export(t, dst); a != b {
					t.Errorf("export of the copy differs:\nwant %.500s\ngot  %.500s", a, b)
				}
				if rep, err := record.Copy(ctx, src, dst, tcoll); err != nil || !cmp.Equal(rep, record.TransferReport{Unchanged: 3}) {
					t.Errorf("second Copy = %+v, %v; want 3 unchanged", rep, err)
				}

				// Records stored with other content are conflicts, then replaced.
				other := from.open(t)
				changed := strings.Replace(export(t, src), `"lr":0.1`, `"lr":0.2`, 1) + `{"id":"rec-d","doc":{}}` + "\n"
				importLines(t, other, changed)
				rep, err = record.Copy(ctx, other, dst, tcoll)
				var ce *record.ConflictError
				want := record.TransferReport{Added: 1, Unchanged: 2, Conflicts: []string{tcoll + "/rec-b"}}
				if diff := cmp.Diff(want, rep); diff != "" || !errors.As(err, &ce) {
					t.Fatalf("Copy of other content under the same ids: %v, report (-want +got):\n%s", err, diff)
				}
				rep, err = record.Copy(ctx, other, dst, tcoll, record.Overwrite())
				if err != nil || !cmp.Equal(rep, record.TransferReport{Replaced: 1, Unchanged: 3}) {
					t.Fatalf("Copy with Overwrite = %+v, %v; want 1 replaced, 3 unchanged", rep, err)
				}
				compareStores(t, other, dst)
			})
		}
	}
}

// TestTransferLongSeries moves a record with 100k points through export
// (on LinePoints-point lines, and on lines of 1000 points), import,
// import again and copy, in memory, and copies it to SQLite and back.
func TestTransferLongSeries(t *testing.T) {
	const n = 100_000
	ctx := t.Context()
	stores := transferStores()
	src := stores[0].open(t)
	rec, err := src.Create(ctx, tcoll, record.WithID("long"), record.WithoutHost(), record.WithBatchSize(10_000))
	if err != nil {
		t.Fatal(err)
	}
	value := func(step int) float64 {
		if step%9973 == 0 {
			return math.NaN()
		}
		return math.Sin(float64(step) / 100)
	}
	for step := range n {
		rec.Log(int64(step), record.Metrics{"loss": value(step)})
	}
	if err := rec.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}
	lines := export(t, src)
	if got, want := strings.Count(lines, "\n"), n/record.LinePoints; got != want {
		t.Fatalf("export of %d points wrote %d lines, want %d", n, got, want)
	}
	restore := record.SetLinePoints(1000)
	short := export(t, src)
	restore()
	if got := strings.Count(short, "\n"); got != n/1000 {
		t.Fatalf("export on lines of 1000 points wrote %d lines, want %d", got, n/1000)
	}
	fromShort := stores[0].open(t)
	importLines(t, fromShort, short)
	if export(t, fromShort) != lines {
		t.Fatal("the export on lines of 1000 points imports as another record")
	}
	if c := strings.Count(lines, ","); c < 3*n {
		t.Fatalf("export has %d commas, want over %d", c, 3*n)
	}
	check := func(t *testing.T, s *record.Store) {
		t.Helper()
		if got := export(t, s); got != lines {
			t.Fatal("export differs")
		}
		snap, err := s.Get(ctx, tcoll, "long")
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for pts, err := range snap.Series(ctx, "loss") {
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pts {
				if p.Step != int64(count) || math.Float64bits(p.Value) != math.Float64bits(value(count)) {
					t.Fatalf("point %d = %d, %v; want %d, %v", count, p.Step, p.Value, count, value(count))
				}
				count++
			}
		}
		if count != n {
			t.Fatalf("%d points, want %d", count, n)
		}
	}
	t.Run("mem", func(t *testing.T) {
		dst := stores[0].open(t)
		if rep := importLines(t, dst, lines); rep.Added != 1 {
			t.Fatalf("Import = %+v", rep)
		}
		if rep := importLines(t, dst, lines); rep.Unchanged != 1 {
			t.Fatalf("second Import = %+v", rep)
		}
		check(t, dst)
		cp := stores[0].open(t)
		if rep, err := record.Copy(ctx, dst, cp, tcoll); err != nil || rep.Added != 1 {
			t.Fatalf("Copy = %+v, %v", rep, err)
		}
		check(t, cp)
	})
	t.Run("sqlite", func(t *testing.T) {
		dst := stores[1].open(t)
		if rep, err := record.Copy(ctx, src, dst, tcoll); err != nil || rep.Added != 1 {
			t.Fatalf("Copy = %+v, %v", rep, err)
		}
		check(t, dst)
	})
}

// TestImportBadLines checks that a line that cannot be imported ends the
// import with ErrInvalid naming the line, after the lines before it.
func TestImportBadLines(t *testing.T) {
	good := `{"id":"ok","doc":{"a":1}}` + "\n\n"
	cases := []struct{ name, line string }{
		{"not json", `not json`},
		{"not an object", `[1,2]`},
		{"bad id", `{"id":"a b","doc":{}}`},
		{"id not a string", `{"id":7,"doc":{}}`},
		{"missing id", `{"doc":{}}`},
		{"missing doc", `{"id":"x"}`},
		{"doc not an object", `{"id":"x","doc":[1]}`},
		{"unknown field", `{"id":"x","doc":{},"extra":1}`},
		{"field twice", `{"id":"x","id":"y","doc":{}}`},
		{"trailing data", `{"id":"x","doc":{}} x`},
		{"unterminated string", `{"id":"x","doc":{"a":"b}}`},
		{"unterminated object", `{"id":"x","doc":{"a":{}}`},
		{"key with a dot", `{"id":"x","doc":{"a.b":1}}`},
		{"key with a dollar", `{"id":"x","doc":{"$where":1}}`},
		{"invalid UTF-8", "{\"id\":\"x\",\"doc\":{\"s\":\"\xff\xfe\"}}"},
		{"invalid UTF-8 key", "{\"id\":\"x\",\"doc\":{\"\xc3\":1}}"},
		{"invalid UTF-8 in a series name", "{\"id\":\"x\",\"doc\":{},\"series\":{\"l\xff\":{\"steps\":[],\"values\":[]}}}"},
		{"lone low surrogate", `{"id":"x","doc":{"s":"a\udc00"}}`},
		{"lone high surrogate", `{"id":"x","doc":{"s":"\ud83d"}}`},
		{"high surrogate then a letter", `{"id":"x","doc":{"s":"\ud83d\u0041"}}`},
		{"two high surrogates", `{"id":"x","doc":{"s":"\ud83d\ud83d"}}`},
		{"lone surrogate in a key", `{"id":"x","doc":{"\udfff":1}}`},
		{"lone surrogate in the id", `{"id":"x\ud800","doc":{}}`},
		{"bad float tag", `{"id":"x","doc":{"f":{"$float":"nan"}}}`},
		{"bad metric name", `{"id":"x","doc":{},"series":{"a.b":{"steps":[],"values":[]}}}`},
		{"lengths differ", `{"id":"x","doc":{},"series":{"loss":{"steps":[1,2],"values":[1.0]}}}`},
		{"times length differs", `{"id":"x","doc":{},"series":{"loss":{"steps":[1],"values":[1.0],"times":[]}}}`},
		{"step not an integer", `{"id":"x","doc":{},"series":{"loss":{"steps":[1.5],"values":[1.0]}}}`},
		{"value not a number", `{"id":"x","doc":{},"series":{"loss":{"steps":[1],"values":["1"]}}}`},
		{"time not a time", `{"id":"x","doc":{},"series":{"loss":{"steps":[1],"values":[1],"times":[1]}}}`},
		{"series not an object", `{"id":"x","doc":{},"series":[1]}`},
		{"series twice", `{"id":"x","doc":{},"series":{"l":{"steps":[],"values":[]},"l":{"steps":[],"values":[]}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := transferStores()[0].open(t)
			rep, err := s.Import(t.Context(), tcoll, strings.NewReader(good+c.line+"\n"))
			if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), "line 3") {
				t.Fatalf("Import: %v; want ErrInvalid naming line 3", err)
			}
			if rep.Added != 1 {
				t.Errorf("report %+v, want the good line added", rep)
			}
			if _, err := s.Get(t.Context(), tcoll, "x"); !errors.Is(err, record.ErrNotFound) {
				t.Errorf("the bad record was stored: %v", err)
			}
		})
	}
}

// TestImportLenient checks the forms that old exports and hand-written
// lines use: null series, a document holding its series, integer values.
func TestImportLenient(t *testing.T) {
	s := transferStores()[0].open(t)
	lines := strings.Join([]string{
		`{"id":"int-values","doc":{"metrics":{"loss":{}}},"series":{"loss":{"steps":[1,2],"values":[1,2.5],"times":[{"$time":"0001-01-01T00:00:00Z"},{"$time":"0001-01-01T00:00:00Z"}]}}}`,
		`{"id":"null-series","doc":{"a":1},"series":null}`,
		`{"doc":{"metrics":{"loss":{"count":2}},"series":{"loss":{"steps":[3,4],"values":[0.5,0.25],"times":[{"$time":"2026-11-25T10:00:00.000Z"},{"$time":"2026-11-25T10:00:01.000Z"}]}}},"id":"in-doc"}`,
	}, "\n")
	if rep := importLines(t, s, lines); rep.Added != 3 {
		t.Fatalf("Import = %+v", rep)
	}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for id, want := range map[string][]any{
		"int-values": {[]any{int64(1), 1.0, time.Time{}}, []any{int64(2), 2.5, time.Time{}}},
		"in-doc":     {[]any{int64(3), 0.5, t0}, []any{int64(4), 0.25, t0.Add(time.Second)}},
	} {
		snap, err := s.Get(t.Context(), tcoll, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := snap.Get("series"); ok {
			t.Errorf("%s keeps its series in the document", id)
		}
		got, err := snap.LoadSeries(t.Context(), "loss")
		if err != nil {
			t.Fatal(err)
		}
		if diff := backendtest.Diff(want, points(got)); diff != "" {
			t.Errorf("series of %s:\n%s", id, diff)
		}
	}
}

func TestExportErrors(t *testing.T) {
	s := transferStores()[1].open(t)
	seedTransfer(t, s)
	ctx := t.Context()
	if _, err := s.Export(ctx, tcoll, &bytes.Buffer{}, record.Fields("id")); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Export with Fields: %v, want ErrInvalid", err)
	}
	if _, err := s.Export(ctx, "no/such", &bytes.Buffer{}); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Export of a bad collection name: %v, want ErrInvalid", err)
	}
	errFull := errors.New("disk full")
	if n, err := s.Export(ctx, tcoll, failWriter{errFull}); !errors.Is(err, errFull) || n != 0 {
		t.Errorf("Export to a failing writer: %d, %v; want 0, %v", n, err, errFull)
	}
	var b bytes.Buffer
	if n, err := s.Export(ctx, tcoll, &b, record.WhereText("lr=0.1")); err != nil || n != 1 || !strings.HasPrefix(b.String(), `{"id":"rec-b",`) {
		t.Errorf("Export with a condition: %d, %v, %.40q", n, err, b.String())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Export(cancelled, tcoll, &b); !errors.Is(err, context.Canceled) {
		t.Errorf("Export with a cancelled context: %v", err)
	}
	if _, err := s.Import(cancelled, tcoll, strings.NewReader(b.String())); !errors.Is(err, context.Canceled) {
		t.Errorf("Import with a cancelled context: %v", err)
	}
	if _, err := record.Copy(cancelled, s, s, tcoll); !errors.Is(err, context.Canceled) {
		t.Errorf("Copy with a cancelled context: %v", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func ExampleCopy() {
	ctx := context.Background()
	laptop, _ := record.Open(ctx, "mem://")
	defer laptop.Close(ctx)
	rec, _ := laptop.Create(ctx, "Nov-25-2026", record.WithID("run-1"), record.WithoutHost())
	rec.Log(0, record.Metrics{"loss": 0.9})
	rec.Log(1, record.Metrics{"loss": 0.7})
	rec.Close(ctx, nil)

	team, _ := record.Open(ctx, "mem://")
	defer team.Close(ctx)
	for range 2 {
		rep, err := record.Copy(ctx, laptop, team, "Nov-25-2026")
		fmt.Printf("%+v %v\n", rep, err)
	}
	// Output:
	// {Added:1 Unchanged:0 Completed:0 Replaced:0 Conflicts:[]} <nil>
	// {Added:0 Unchanged:1 Completed:0 Replaced:0 Conflicts:[]} <nil>
}
