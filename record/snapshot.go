package record

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/docjson"
	"github.com/recordlab/go-record/internal/docops"
)

// Snapshot is an immutable copy of a record as read from the store.
// Accessors return copies: changing them never changes the Snapshot or the
// store.
type Snapshot struct {
	store *Store
	coll  string
	id    string
	doc   map[string]any
}

func newSnapshot(s *Store, coll, id string, doc map[string]any) *Snapshot {
	return snapshotAt(s, coll, id, doc, time.Now())
}

// snapshotAt is newSnapshot with the status as read at now.
func snapshotAt(s *Store, coll, id string, doc map[string]any, now time.Time) *Snapshot {
	markCrashed(doc, now)
	return &Snapshot{store: s, coll: coll, id: id, doc: doc}
}

// ID returns the record's id.
func (s *Snapshot) ID() string { return s.id }

// Collection returns the record's collection.
func (s *Snapshot) Collection() string { return s.coll }

// Status returns the record's status: running, completed, failed,
// interrupted, or crashed for a running record whose heartbeat stopped.
func (s *Snapshot) Status() string { v, _ := s.doc["status"].(string); return v }

// Created returns the time the record was created.
func (s *Snapshot) Created() time.Time { t, _ := s.doc["created"].(time.Time); return t }

// Doc returns a deep copy of the whole document.
func (s *Snapshot) Doc() map[string]any { return docops.CopyDoc(s.doc) }

// Get returns a copy of the value at the dotted path.
func (s *Snapshot) Get(path string) (any, bool) {
	keys, err := ParsePath(path)
	if err != nil {
		return nil, false
	}
	v, ok := backend.Lookup(s.doc, keys)
	if !ok {
		return nil, false
	}
	return copyValue(v), true
}

func (s *Snapshot) lookup(path string) (any, error) {
	keys, err := ParsePath(path)
	if err != nil {
		return nil, err
	}
	v, ok := backend.Lookup(s.doc, keys)
	if !ok {
		return nil, fmt.Errorf("record: %s/%s has no %s: %w", s.coll, s.id, path, ErrNotFound)
	}
	return v, nil
}

func wrongType(path string, v any, want string) error {
	return invalid("value", path, fmt.Sprintf("is %T, not %s", v, want))
}

// typed returns the value at path as a T, or an error naming what it is.
func typed[T any](s *Snapshot, path, want string) (T, error) {
	var zero T
	v, err := s.lookup(path)
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, wrongType(path, v, want)
	}
	return t, nil
}

// Text returns the string at path. (It is not named String so that a
// Snapshot is not mistaken for a fmt.Stringer.)
func (s *Snapshot) Text(path string) (string, error) { return typed[string](s, path, "a string") }

// Float64 returns the number at path as a float64 (ints convert).
func (s *Snapshot) Float64(path string) (float64, error) {
	v, err := s.lookup(path)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	}
	return 0, wrongType(path, v, "a number")
}

// Int64 returns the integer at path. A float with no fraction converts.
func (s *Snapshot) Int64(path string) (int64, error) {
	v, err := s.lookup(path)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), nil
		}
	}
	return 0, wrongType(path, v, "an integer")
}

// Bool returns the bool at path.
func (s *Snapshot) Bool(path string) (bool, error) { return typed[bool](s, path, "a bool") }

// Time returns the time at path.
func (s *Snapshot) Time(path string) (time.Time, error) { return typed[time.Time](s, path, "a time") }

// Float64s returns the array of numbers at path, such as
// "models.model_0.losses". null elements become NaN.
func (s *Snapshot) Float64s(path string) ([]float64, error) {
	arr, err := typed[[]any](s, path, "an array")
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(arr))
	for i, e := range arr {
		switch x := e.(type) {
		case float64:
			out[i] = x
		case int64:
			out[i] = float64(x)
		case nil:
			out[i] = math.NaN()
		default:
			return nil, wrongType(fmt.Sprintf("%s[%d]", path, i), e, "a number")
		}
	}
	return out, nil
}

// Slice returns a copy of the array at path.
func (s *Snapshot) Slice(path string) ([]any, error) {
	arr, err := typed[[]any](s, path, "an array")
	if err != nil {
		return nil, err
	}
	return copyValue(arr).([]any), nil
}

// Map returns a copy of the object at path.
func (s *Snapshot) Map(path string) (map[string]any, error) {
	m, err := typed[map[string]any](s, path, "an object")
	if err != nil {
		return nil, err
	}
	return docops.CopyDoc(m), nil
}

// MetricNames returns the names of the metrics logged to the record, sorted.
func (s *Snapshot) MetricNames() []string {
	m, _ := s.doc["metrics"].(map[string]any)
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// MarshalJSON returns the document as JSON in the exact form used by the
// SQL backends: numbers as numbers (floats always with a decimal point),
// and one-key tagged objects for what JSON cannot hold: {"$float": "NaN"},
// {"$time": "2026-11-25T10:00:00.000Z"}. UnmarshalDoc reads it back.
func (s *Snapshot) MarshalJSON() ([]byte, error) { return docjson.Marshal(s.doc) }

// JSON returns the document as indented JSON (see MarshalJSON), keys
// sorted, one field per line and arrays of plain values on one line, the
// way the Mongo shell prints a record.
func (s *Snapshot) JSON() string {
	b, err := docjson.Indent(s.doc)
	if err != nil {
		return fmt.Sprintf("{\"error\": %q}", err.Error())
	}
	return string(b)
}

// UnmarshalDoc decodes a document written by Snapshot.MarshalJSON,
// restoring every value exactly (ints, floats, NaN, times).
func UnmarshalDoc(data []byte) (map[string]any, error) {
	doc, err := docjson.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("record: %w: %w", ErrInvalid, err)
	}
	return doc, nil
}

// Point is one value of a metric series: the step it was logged at, the
// value, and the time of the Log call (UTC, millisecond precision).
type Point = backend.Point

// Series is the points of one metric, in the order they were logged.
type Series struct {
	Name   string
	Steps  []int64
	Values []float64
	Times  []time.Time
}

// Series yields the points of the named metric in the order they were
// logged, in batches, so that reading a series of any length holds one
// batch in memory. The caller owns each batch. An error is yielded once,
// last. LoadSeries collects the whole series.
func (s *Snapshot) Series(ctx context.Context, name string) iter.Seq2[[]Point, error] {
	return func(yield func([]Point, error) bool) {
		if err := validMetric(name); err != nil {
			yield(nil, err)
			return
		}
		st := s.store
		if err := st.enter(ctx); err != nil {
			yield(nil, st.fail(ctx, "read series "+name+" of", s.coll, s.id, err))
			return
		}
		defer st.leave()
		ss, ok := st.b.(backend.SeriesStore)
		if !ok {
			if pts := fallbackPoints(s.doc, name); len(pts) > 0 {
				yield(pts, nil)
			}
			return
		}
		for pts, err := range ss.ReadSeries(ctx, s.coll, s.id, name) {
			if err != nil {
				yield(nil, st.fail(ctx, "read series "+name+" of", s.coll, s.id, err))
				return
			}
			if len(pts) > 0 && !yield(pts, nil) {
				return
			}
		}
	}
}

// LoadSeries reads every point of the named metric into memory; Series
// streams them instead.
func (s *Snapshot) LoadSeries(ctx context.Context, name string) (Series, error) {
	out := Series{Name: name}
	for pts, err := range s.Series(ctx, name) {
		if err != nil {
			return Series{Name: name}, err
		}
		for _, p := range pts {
			out.Steps = append(out.Steps, p.Step)
			out.Values = append(out.Values, p.Value)
			out.Times = append(out.Times, p.Time)
		}
	}
	return out, nil
}

func copyValue(v any) any { return docops.Copy(v) }
