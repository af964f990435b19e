package backendtest

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/record"
)

type cyclic struct {
	Name string
	Next *cyclic
}

func (s *suite) testBadInput(t *testing.T) {
	selfMap := map[string]any{"a": int64(1)}
	selfMap["self"] = selfMap
	selfPtr := &cyclic{Name: "x"}
	selfPtr.Next = selfPtr
	selfSlice := []any{int64(1), nil}
	selfSlice[1] = selfSlice
	tooDeep := any(int64(1))
	for range 120 {
		tooDeep = map[string]any{"d": tooDeep}
	}
	cases := []struct {
		name     string
		write    func(rec *record.Record, t *testing.T) error
		wantPath string // the path the error must name
	}{
		{"KeyWithDot", setValue("params", map[string]any{"a.b": 1}), "params.a.b"},
		{"KeyWithDollar", setValue("params", map[string]any{"$set": 1}), "params.$set"},
		{"EmptyKey", setValue("params", map[string]any{"": 1}), "params"},
		{"InvalidUTF8Key", setValue("params", map[string]any{"bad\xff": 1}), "params"},
		{"NULKey", setValue("params", map[string]any{"a\x00b": 1}), "params"},
		{"InvalidUTF8String", setValue("s", "bad\xffstring"), "s"},
		{"Channel", setValue("models.ch", make(chan int)), "models.ch"},
		{"Func", setValue("f", func() {}), "f"},
		{"Complex", setValue("nested.c", map[string]any{"z": complex(1, 2)}), "nested.c.z"},
		{"Uint64TooBig", setValue("n", uint64(math.MaxInt64)+1), "n"},
		{"TimeYear10000", setValue("t.end", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), "t.end"},
		{"TimeBeforeYear0", setValue("t", []any{time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC)}), "t[0]"},
		{"MapCycle", setValue("m", selfMap), "m.self"},
		{"PointerCycle", setValue("p", selfPtr), "p.Next"},
		{"SliceCycle", setValue("l", selfSlice), "l[1]"},
		{"TooDeep", setValue("deep", tooDeep), "deep"},
		{"ChannelInArray", func(rec *record.Record, t *testing.T) error {
			return rec.Append(t.Context(), "l", 1, make(chan int))
		}, "l[1]"},
		{"PathEmpty", setValue("", 1), ""},
		{"PathEmptyKey", setValue("a..b", 1), "a..b"},
		{"PathDollar", setValue("a.$b", 1), "a.$b"},
		{"ReservedStatus", setValue("status", "done"), "status"},
		{"ReservedMetrics", setValue("metrics.loss", 1), "metrics.loss"},
		{"ReservedMongoID", setValue("_id", 1), "_id"},
		{"UpdateReserved", func(rec *record.Record, t *testing.T) error {
			return rec.Update(t.Context(), map[string]any{"ok": 1, "created": 2})
		}, "created"},
		{"UpdateNotAMap", func(rec *record.Record, t *testing.T) error {
			return rec.Update(t.Context(), []int{1, 2})
		}, ""},
		{"UpdateBadValueDeep", func(rec *record.Record, t *testing.T) error {
			return rec.UpdateAt(t.Context(), "models", map[string]any{"ok": 1, "m": map[string]any{"f": func() {}}})
		}, "models.m.f"},
		{"AppendToScalar", func(rec *record.Record, t *testing.T) error {
			return rec.Append(t.Context(), "existing", 1)
		}, ""},
		{"SetThroughScalar", setValue("existing.x", 1), ""},
		{"SetThroughArray", setValue("arr.x", 1), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := s.store(t)
			rec := s.create(t, st)
			before := map[string]any{"existing": "keep", "arr": []any{int64(1)}, "models": map[string]any{"m": int64(1)}}
			if err := rec.Update(t.Context(), before); err != nil {
				t.Fatal(err)
			}
			err := tc.write(rec, t)
			wantErr(t, "bad write", err, record.ErrInvalid)
			var ie *record.InvalidError
			if tc.wantPath != "" {
				if !errors.As(err, &ie) {
					t.Fatalf("error %v (%T) is not a *record.InvalidError", err, err)
				}
				if !strings.Contains(ie.Path, tc.wantPath) && !strings.Contains(err.Error(), tc.wantPath) {
					t.Fatalf("error %q does not name the path %q (Path=%q)", err, tc.wantPath, ie.Path)
				}
			}
			wantFields(t, st, rec, before)
		})
	}
	t.Run("BadCollectionNames", func(t *testing.T) {
		st := s.store(t)
		for _, c := range []string{"", "-lead", ".dot", "has space", "slash/name", "dollar$", "tab\t", strings.Repeat("a", 121), "ünïcode", "a\x00b", "system.users"} {
			_, err := st.Create(t.Context(), c)
			var ie *record.InvalidError
			if !errors.As(err, &ie) || ie.What != "collection" {
				t.Errorf("Create(%q): got %v, want an InvalidError about the collection", c, err)
			}
			_, err = st.Get(t.Context(), c, "r1")
			wantErr(t, "Get with bad collection "+c, err, record.ErrInvalid)
		}
		names, err := st.Collections(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 0 {
			t.Fatalf("bad creates left collections %q", names)
		}
		if _, err := st.Create(t.Context(), strings.Repeat("a", 120)); err != nil {
			t.Fatalf("Create with a 120-character name: %v", err)
		}
	})
	t.Run("BadIDs", func(t *testing.T) {
		st := s.store(t)
		for _, id := range []string{"", "has space", "slash/id", "quote'", strings.Repeat("a", 129), "ünï", "$id"} {
			_, err := st.Create(t.Context(), coll, record.WithID(id))
			var ie *record.InvalidError
			if !errors.As(err, &ie) || ie.What != "id" {
				t.Errorf("Create(WithID(%q)): got %v, want an InvalidError about the id", id, err)
			}
			_, err = st.Get(t.Context(), coll, id)
			wantErr(t, "Get with bad id", err, record.ErrInvalid)
		}
		if _, err := st.Create(t.Context(), coll, record.WithID(strings.Repeat("a", 128))); err != nil {
			t.Fatalf("Create with a 128-character id: %v", err)
		}
	})
	t.Run("DuplicateID", func(t *testing.T) {
		st := s.store(t)
		rec, err := st.Create(t.Context(), coll, record.WithID("run-1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Set(t.Context(), "mine", true); err != nil {
			t.Fatal(err)
		}
		_, err = st.Create(t.Context(), coll, record.WithID("run-1"))
		wantErr(t, "second Create with the same id", err, record.ErrExists)
		wantFields(t, st, rec, map[string]any{"mine": true})
	})
	t.Run("BadMetricName", func(t *testing.T) {
		st := s.store(t)
		rec := s.create(t, st)
		rec.Log(1, record.Metrics{"train.loss": 1, "ok": 2})
		err := rec.Flush(t.Context())
		var ie *record.InvalidError
		if !errors.As(err, &ie) || ie.What != "metric" || ie.Path != "train.loss" {
			t.Fatalf("Flush after Log with a bad name: got %v, want an InvalidError naming metric train.loss", err)
		}
		if err := rec.Flush(t.Context()); err != nil {
			t.Fatalf("second Flush: %v", err)
		}
		snap, _ := st.Get(t.Context(), coll, rec.ID())
		if n, err := snap.Int64("metrics.ok.count"); err != nil || n != 1 {
			t.Fatalf("metrics.ok.count = %d, %v; want 1 (good metrics are kept)", n, err)
		}
	})
}

func setValue(path string, v any) func(rec *record.Record, t *testing.T) error {
	return func(rec *record.Record, t *testing.T) error { return rec.Set(t.Context(), path, v) }
}
