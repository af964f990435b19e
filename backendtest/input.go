package backendtest

import (
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

// userFields returns the stored document without the fields the record
// manages itself, for comparing what a test wrote.
func userFields(t *testing.T, st *record.Store, c, id string) map[string]any {
	t.Helper()
	snap, err := st.Get(t.Context(), c, id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	doc := snap.Doc()
	for _, k := range []string{"id", "collection", "created", "status", "host", "build", "run", "metrics", "seed", "ended", "duration", "error",
		"batches", "heartbeat", "alive_until"} { // the writer's batch marks and liveness
		delete(doc, k)
	}
	return doc
}

func wantFields(t *testing.T, st *record.Store, rec *record.Record, want map[string]any) {
	t.Helper()
	if diff := Diff(want, userFields(t, st, rec.Collection(), rec.ID())); diff != "" {
		t.Fatalf("record fields (-want +got):\n%s", diff)
	}
}

func (s *suite) create(t *testing.T, st *record.Store, opts ...record.CreateOption) *record.Record {
	t.Helper()
	rec, err := st.Create(t.Context(), coll, opts...)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return rec
}

type modelParams struct {
	LR      float64   `json:"learning_rate"`
	Epochs  int       `json:"epochs"`
	Layers  []int     `json:"layers"`
	Skip    string    `json:"-"`
	Empty   string    `json:"empty,omitempty"`
	Weights []float32 `json:"weights"`
	Inner   struct {
		Dropout float64
	} `json:"inner"`
	embedded
	unexported int
}

type embedded struct {
	Optimizer string `json:"optimizer"`
}

func (s *suite) testInput(t *testing.T) {
	t.Run("Map", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		err := rec.Update(t.Context(), map[string]any{"lr": 0.01, "epochs": 10, "desc": "two models", "u8": uint8(7), "f32": float32(0.1)})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		wantFields(t, st, rec, map[string]any{"lr": 0.01, "epochs": int64(10), "desc": "two models", "u8": int64(7), "f32": 0.1})
	})
	t.Run("TypedMap", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		if err := rec.Update(t.Context(), map[string]float64{"a": 1, "b": 0.5}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if err := rec.UpdateAt(t.Context(), "ints", map[int][]string{1: {"x"}}); err != nil {
			t.Fatalf("Update: %v", err)
		}
		wantFields(t, st, rec, map[string]any{"a": 1.0, "b": 0.5, "ints": map[string]any{"1": []any{"x"}}})
	})
	t.Run("Struct", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		p := modelParams{LR: 0.1, Epochs: 5, Layers: []int{3, 2}, Skip: "no", Weights: []float32{0.1, 0.2}, embedded: embedded{"sgd"}}
		p.Inner.Dropout = 0.5
		if err := rec.UpdateAt(t.Context(), "models.model_0", &p); err != nil {
			t.Fatalf("Update: %v", err)
		}
		wantFields(t, st, rec, map[string]any{"models": map[string]any{"model_0": map[string]any{
			"learning_rate": 0.1, "epochs": int64(5), "layers": []any{int64(3), int64(2)},
			"weights": []any{0.1, 0.2}, "inner": map[string]any{"Dropout": 0.5}, "optimizer": "sgd",
		}}})
	})
	t.Run("UpdateUnderKeyMergesOneLevel", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		ctx := t.Context()
		if err := rec.UpdateAt(ctx, "models", map[string]any{"model_0": map[string]any{"label": "a"}}); err != nil {
			t.Fatal(err)
		}
		if err := rec.UpdateAt(ctx, "models", map[string]any{"model_1": map[string]any{"label": "b"}}); err != nil {
			t.Fatal(err)
		}
		if err := rec.UpdateAt(ctx, "models", map[string]any{"model_0": map[string]any{"color": []float64{1, 0, 0}}}); err != nil {
			t.Fatal(err)
		}
		wantFields(t, st, rec, map[string]any{"models": map[string]any{
			"model_0": map[string]any{"color": []any{1.0, 0.0, 0.0}},
			"model_1": map[string]any{"label": "b"},
		}})
	})
	t.Run("FlagSet", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.Float64("lr", 0.01, "learning rate")
		fs.Int("epochs", 10, "epochs")
		fs.Bool("cuda", false, "use GPU")
		fs.String("name", "", "run name")
		fs.Duration("timeout", time.Minute, "timeout")
		fs.Uint64("batch", 32, "batch size")
		fs.Float64("opt.momentum", 0.9, "nested by its dotted name")
		if err := fs.Parse([]string{"-lr=1", "-epochs", "3", "-cuda", "-name=exp 1"}); err != nil {
			t.Fatal(err)
		}
		if err := rec.Update(t.Context(), fs); err != nil {
			t.Fatalf("Update(FlagSet): %v", err)
		}
		wantFields(t, st, rec, map[string]any{"lr": 1.0, "epochs": int64(3), "cuda": true, "name": "exp 1",
			"timeout": int64(time.Minute), "batch": int64(32), "opt": map[string]any{"momentum": 0.9}})
	})
	t.Run("INIFile", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		p := filepath.Join(t.TempDir(), "config.ini")
		ini := "[DEFAULT]\ntop = 1\n[train]\nlr = 0.001\nepochs = 20\noptimizer = adam ; comment\nshuffle = yes\nopt.momentum = 0.9\n\n[data]\npath = %(root)s/mnist\nroot = /data\nsplit = 0.8\n"
		if err := os.WriteFile(p, []byte(ini), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := rec.Update(t.Context(), record.INIFile(p)); err != nil {
			t.Fatalf("Update(INIFile): %v", err)
		}
		// Python's configparser reads the file this way: DEFAULT inherited,
		// %(root)s interpolated, yes a bool, no inline comments by default,
		// the dotted key nested.
		wantFields(t, st, rec, map[string]any{"config": map[string]any{
			"train": map[string]any{"top": int64(1), "lr": 0.001, "epochs": int64(20), "optimizer": "adam ; comment", "shuffle": true, "opt": map[string]any{"momentum": 0.9}},
			"data":  map[string]any{"top": int64(1), "path": "/data/mnist", "root": "/data", "split": 0.8},
		}})
		err := rec.Update(t.Context(), record.INIFile(filepath.Join(t.TempDir(), "missing.ini")))
		if !errors.Is(err, record.ErrNotFound) {
			t.Fatalf("Update of a missing INI file: %v, want ErrNotFound", err)
		}
	})
	t.Run("JSONFile", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		p := filepath.Join(t.TempDir(), "params.json")
		if err := os.WriteFile(p, []byte(`{"lr": 1.0, "epochs": 10, "big": 9223372036854775807, "tags": ["a", null], "o": {"x": 1e-3}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := rec.UpdateAt(t.Context(), "params", record.JSONFile(p)); err != nil {
			t.Fatalf("Update(JSONFile): %v", err)
		}
		wantFields(t, st, rec, map[string]any{"params": map[string]any{
			"lr": 1.0, "epochs": int64(10), "big": int64(math.MaxInt64), "tags": []any{"a", nil}, "o": map[string]any{"x": 0.001},
		}})
	})
	t.Run("SetAppendUnset", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		ctx := t.Context()
		steps := []func() error{
			func() error { return rec.Set(ctx, "models.model_0.label", "model_0") },
			func() error { return rec.Append(ctx, "models.model_0.losses", 0.9) },
			func() error { return rec.Append(ctx, "models.model_0.losses", 0.5, 0.25) },
			func() error { return rec.Set(ctx, "models.model_0.color", [3]float64{0.1, 0.2, 0.3}) },
			func() error { return rec.Set(ctx, "tmp", "x") },
			func() error { return rec.Unset(ctx, "tmp") },
			func() error {
				return rec.Set(ctx, "when", time.Date(2026, 1, 2, 3, 4, 5, 6_789_000, time.FixedZone("X", -7200)))
			},
		}
		for i, f := range steps {
			if err := f(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		wantFields(t, st, rec, map[string]any{
			"models": map[string]any{"model_0": map[string]any{"label": "model_0", "losses": []any{0.9, 0.5, 0.25}, "color": []any{0.1, 0.2, 0.3}}},
			"when":   time.Date(2026, 1, 2, 5, 4, 5, 6_000_000, time.UTC),
		})
	})
	t.Run("ApplyIsAtomic", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		ctx := t.Context()
		if err := rec.Apply(ctx, record.SetOp("a.b", 1), record.AppendOp("l", 1, 2), record.SetOp("s", "x")); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		before := map[string]any{"a": map[string]any{"b": int64(1)}, "l": []any{int64(1), int64(2)}, "s": "x"}
		wantFields(t, st, rec, before)
		err := rec.Apply(ctx, record.SetOp("new", 1), record.AppendOp("s", 3))
		wantErr(t, "Apply with a conflicting change", err, record.ErrInvalid)
		wantFields(t, st, rec, before)
		for _, bad := range [][]record.Change{
			{record.SetOp("a", 1), record.SetOp("a.b", 2)},
			{record.SetOp("a.b", 1), record.UnsetOp("a")},
			{record.SetOp("x", 1), record.SetOp("x", 2)},
		} {
			err := rec.Apply(ctx, bad...)
			wantErr(t, "Apply with overlapping paths", err, record.ErrInvalid)
		}
		wantFields(t, st, rec, before)
	})
	t.Run("SnapshotIsImmutable", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		ctx := t.Context()
		if err := rec.Set(ctx, "m", map[string]any{"l": []any{1.5}}); err != nil {
			t.Fatal(err)
		}
		snap, err := st.Get(ctx, coll, rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		m, err := snap.Map("m")
		if err != nil {
			t.Fatal(err)
		}
		m["l"].([]any)[0] = 9.0
		snap.Doc()["m"].(map[string]any)["x"] = 1
		v, _ := snap.Get("m")
		v.(map[string]any)["y"] = 2
		if err := rec.Set(ctx, "m.l", []any{2.5}); err != nil {
			t.Fatal(err)
		}
		got, err := snap.Float64s("m.l")
		if err != nil || len(got) != 1 || got[0] != 1.5 {
			t.Fatalf("snapshot changed: m.l = %v, %v", got, err)
		}
		if d := snap.Doc()["m"].(map[string]any); len(d) != 1 {
			t.Fatalf("snapshot changed: m = %v", d)
		}
		wantFields(t, st, rec, map[string]any{"m": map[string]any{"l": []any{2.5}}})
	})
}
