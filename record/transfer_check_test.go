package record_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/backend/memory"
	"github.com/recordlab/go-record/record"
)

// TestImportRefusesSilentChanges checks, on every store kind, that a line
// whose reserved fields have the wrong type, whose doc.id is not its id,
// whose series lack times, or which holds an integer beyond int64, is
// refused with an *InvalidError naming the line and the field, and that
// the store stays exactly as it was: a refused line neither adds a record
// nor, with Overwrite, replaces the one under its id.
func TestImportRefusesSilentChanges(t *testing.T) {
	const pts = `"steps":[1],"times":[{"$time":"2026-11-25T10:00:00.000Z"}],"values":[0.5]`
	cases := []struct {
		name, doc, series, path string
	}{
		{"status a number", `{"status":12}`, "", "status"},
		{"status unknown", `{"status":"done"}`, "", "status"},
		{"status with a quote", `{"status":"completed\""}`, "", "status"},
		{"created a word", `{"created":"yesterday"}`, "", "created"},
		{"created a number", `{"created":1764064800}`, "", "created"},
		{"ended a string", `{"ended":"2026-11-25T10:00:00Z"}`, "", "ended"},
		{"duration a string", `{"duration":"long"}`, "", "duration"},
		{"duration NaN", `{"duration":{"$float":"NaN"}}`, "", "duration"},
		{"duration +Inf", `{"duration":{"$float":"+Inf"}}`, "", "duration"},
		{"error a number", `{"error":3}`, "", "error"},
		{"doc.id another id", `{"id":"other"}`, "", "id"},
		{"doc.id a number", `{"id":7}`, "", "id"},
		{"doc.id with a control character", "{\"id\":\"ID\\u0001\"}", "", "id"},
		{"collection a number", `{"collection":7}`, "", "collection"},
		{"_id", `{"_id":"x"}`, "", "_id"},
		{"metrics an array", `{"metrics":[1]}`, "", "metrics"},
		{"metric summary a number", `{"metrics":{"loss":3}}`, "", "metrics.loss"},
		{"metric count a string", `{"metrics":{"loss":{"count":"2"}}}`, "", "metrics.loss.count"},
		{"metric count negative", `{"metrics":{"loss":{"count":-1}}}`, "", "metrics.loss.count"},
		{"metric last a string", `{"metrics":{"loss":{"last":"0.5"}}}`, "", "metrics.loss.last"},
		{"metric last_step a float", `{"metrics":{"loss":{"last_step":1.5}}}`, "", "metrics.loss.last_step"},
		{"metric last_time a number", `{"metrics":{"loss":{"last_time":5}}}`, "", "metrics.loss.last_time"},
		{"integer beyond int64", `{"n":9223372036854775808}`, "", "n"},
		{"integer below int64", `{"a":{"b":[1,-9223372036854775809]}}`, "", "a.b.1"},
		{"huge integer in a tag's neighbour", `{"x":{"f":{"$float":"NaN"},"n":123456789012345678901234567890}}`, "", "x.n"},
		{"step beyond int64", `{}`, `{"loss":{"steps":[9223372036854775808],"times":[{"$time":"2026-11-25T10:00:00.000Z"}],"values":[0.5]}}`, "series.loss.steps.0"},
		{"value an integer beyond int64", `{}`, `{"loss":{"steps":[1],"times":[{"$time":"2026-11-25T10:00:00.000Z"}],"values":[18446744073709551616]}}`, "series.loss.values.0"},
		{"no times", `{}`, `{"loss":{"steps":[1,2],"values":[1.0,2.0]}}`, "series.loss.times"},
		{"null times", `{}`, `{"loss":{"steps":[1],"times":null,"values":[1.0]}}`, "series.loss.times"},
		{"unknown series field", `{}`, `{"loss":{` + pts + `,"extra":true}}`, "series.loss.extra"},
		{"document series beside the line's", `{"series":{}}`, `{"loss":{` + pts + `}}`, "series"},
		{"document series without times", `{"series":{"loss":{"steps":[1],"values":[1.0]}}}`, "", "series.loss.times"},
		{"document series with a bad name", `{"series":{"a.b":{` + pts + `}}}`, "", "series"},
		{"document series step a float", `{"series":{"loss":{"steps":[1.5],"times":[{"$time":"2026-11-25T10:00:00.000Z"}],"values":[1.0]}}}`, "", "series.loss.steps.0"},
		{"document series not an object", `{"series":[1]}`, "", "series"},
		{"document series unknown field", `{"series":{"loss":{` + pts + `,"x":[]}}}`, "", "series.loss.x"},
	}
	for _, st := range transferStores() {
		t.Run(st.name, func(t *testing.T) {
			// One store takes every refused line: none may change it.
			s := st.open(t)
			seedTransfer(t, s)
			good := export(t, s)
			before := good
			for _, c := range cases {
				for _, id := range []string{"new-id", "rec-b"} {
					t.Run(c.name+"/"+id, func(t *testing.T) {
						doc := strings.ReplaceAll(c.doc, "ID", id)
						line := `{"id":"` + id + `","doc":` + doc
						if c.series != "" {
							line += `,"series":` + c.series
						}
						line += "}\n"
						rep, err := s.Import(t.Context(), tcoll, strings.NewReader(good+line), record.Overwrite())
						var ie *record.InvalidError
						if !errors.Is(err, record.ErrInvalid) || !errors.As(err, &ie) {
							t.Fatalf("Import of %s: %v; want an *InvalidError", line, err)
						}
						if ie.Path != c.path && !strings.HasPrefix(ie.Path, c.path+".") {
							t.Errorf("error names %q, want %q: %v", ie.Path, c.path, err)
						}
						if !strings.Contains(err.Error(), "line 4: ") || !strings.Contains(err.Error(), `"`+c.path) {
							t.Errorf("error %q does not name line 4 and %s", err, c.path)
						}
						if want := (record.TransferReport{Unchanged: 3}); fmt.Sprint(rep) != fmt.Sprint(want) {
							t.Errorf("report %+v, want %+v", rep, want)
						}
						if after := export(t, s); after != before {
							t.Errorf("a refused line changed the store:\nbefore %.300s\nafter  %.300s", before, after)
						}
						if _, err := s.Get(t.Context(), tcoll, "new-id"); !errors.Is(err, record.ErrNotFound) {
							t.Errorf("the refused record was stored: %v", err)
						}
					})
				}
			}
		})
	}
}

// TestImportRoundTripsReserved checks that reserved fields of the right
// types, with hostile values, come back exactly, and that a document's
// collection is set to the collection it is imported into.
func TestImportRoundTripsReserved(t *testing.T) {
	lines := strings.Join([]string{
		`{"id":"r1","doc":{"collection":"` + tcoll + `","created":{"$time":"2026-11-25T10:00:00.000Z"},"duration":{"$float":"-0"},` +
			`"ended":{"$time":"2026-11-25T10:00:01.000Z"},"error":"say \"no\" \\ \u0001\u001f\u007f\u2028\u2029 \ud83d\ude42","id":"r1",` +
			`"metrics":{"loss":{"count":0,"last":{"$float":"NaN"},"x":"kept"}},"status":"failed"}}`,
		`{"id":"r2","doc":{"duration":1.7976931348623157e+308,"status":"interrupted"}}`,
		`{"id":"r3","doc":{"duration":5e-324,"lit":"\\udc00 \\\ud83d\ude42","n":-9223372036854775808,"status":"completed"}}`,
		`{"id":"r4","doc":{"duration":7,"m":9223372036854775807,"status":"running"}}`,
		`{"id":"r5","doc":{"duration":{"$float":"-0"},"status":"completed"}}`,
	}, "\n") + "\n"
	for _, st := range transferStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			if rep := importLines(t, s, lines); rep.Added != 5 {
				t.Fatalf("Import = %+v", rep)
			}
			for id, want := range map[string]float64{"r1": math.Copysign(0, -1), "r2": math.MaxFloat64, "r3": 5e-324, "r5": math.Copysign(0, -1)} {
				snap, err := s.Get(t.Context(), tcoll, id)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := snap.Get("duration"); got == nil || math.Float64bits(got.(float64)) != math.Float64bits(want) {
					t.Errorf("%s: duration %v, want %v", id, got, want)
				}
			}
			snap, err := s.Get(t.Context(), tcoll, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if r3, err := s.Get(t.Context(), tcoll, "r3"); err != nil {
				t.Fatal(err)
			} else if got, _ := r3.Get("lit"); got != `\udc00 \🙂` {
				t.Errorf("lit = %q", got)
			}
			if got, _ := snap.Get("error"); got != "say \"no\" \\ \x01\x1f\x7f\u2028\u2029 \U0001F642" {
				t.Errorf("error = %q", got)
			}
			// Export writes each value in one form; that form comes back
			// exactly.
			canon := export(t, s)
			s2 := st.open(t)
			importLines(t, s2, canon)
			if got := export(t, s2); got != canon {
				t.Errorf("export differs from the import:\nwant %s\ngot  %s", canon, got)
			}
			// Another collection's name is set to the destination's.
			other := strings.Replace(lines, `"collection":"`+tcoll+`"`, `"collection":"Elsewhere"`, 1)
			if other == lines {
				t.Fatal("no collection to change")
			}
			s3 := st.open(t)
			importLines(t, s3, other)
			if got := export(t, s3); got != canon {
				t.Errorf("collection was not set to %s:\n%s", tcoll, got)
			}
		})
	}
}

// rewriteLines decodes each line of an export, lets edit change it, and
// writes it back in the order Export writes.
func rewriteLines(t *testing.T, lines string, edit func(top map[string]any)) string {
	t.Helper()
	var out strings.Builder
	for _, line := range strings.SplitAfter(lines, "\n") {
		if line == "" {
			continue
		}
		top, err := record.UnmarshalDoc([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		edit(top)
		sep := "{"
		for _, k := range []string{"id", "doc", "series"} {
			if top[k] == nil {
				continue
			}
			b, err := record.MarshalValue(top[k])
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString(sep + `"` + k + `":` + string(b))
			sep = ","
		}
		out.WriteString("}\n")
	}
	return out.String()
}

// TestImportBuildsSummaries checks that a series whose metric has no
// summary gets the summary Record.Log would have kept, bit for bit (NaN,
// ±Inf, -0, 5e-324 among the points), so that it is listed and exported
// again; a series without points gets none.
func TestImportBuildsSummaries(t *testing.T) {
	for _, st := range transferStores() {
		t.Run(st.name, func(t *testing.T) {
			src := st.open(t)
			seedTransfer(t, src)
			lines := export(t, src)
			stripped := rewriteLines(t, lines, func(top map[string]any) {
				doc := top["doc"].(map[string]any)
				switch top["id"] {
				case "rec-a":
					delete(doc, "metrics")
				case "rec-b":
					delete(doc["metrics"].(map[string]any), "train/loss")
				case "rec-c":
					top["series"] = map[string]any{"empty": map[string]any{"steps": []any{}, "times": []any{}, "values": []any{}}}
				}
			})
			if stripped == lines {
				t.Fatal("nothing stripped")
			}
			dst := st.open(t)
			for _, want := range []record.TransferReport{{Added: 3}, {Unchanged: 3}} {
				rep := importLines(t, dst, stripped)
				if fmt.Sprint(rep) != fmt.Sprint(want) {
					t.Errorf("report %+v, want %+v", rep, want)
				}
				if got := export(t, dst); got != lines {
					t.Fatalf("summaries were not rebuilt:\nwant %s\ngot  %s", lines, got)
				}
			}
			snap, err := dst.Get(t.Context(), tcoll, "rec-a")
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(snap.MetricNames()); got != "[acc loss]" {
				t.Errorf("rec-a metrics %s", got)
			}
			compareStores(t, src, dst)
		})
	}
}

// TestCopyChecks checks that Copy refuses a stored document whose reserved
// fields have the wrong type, naming the record and the field, without
// changing the destination, and that it builds the summary of a series a
// document holds without one.
func TestCopyChecks(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, bad := range []struct {
		field string
		value any
	}{
		{"status", int64(12)},
		{"created", "yesterday"},
		{"id", "other"},
		{"duration", math.NaN()},
		{"metrics", map[string]any{"loss": "x"}},
	} {
		t.Run(bad.field, func(t *testing.T) {
			m := memory.New()
			if err := m.Insert(ctx, tcoll, "a-ok", map[string]any{"status": "completed"}); err != nil {
				t.Fatal(err)
			}
			if err := m.Insert(ctx, tcoll, "b-bad", map[string]any{bad.field: bad.value}); err != nil {
				t.Fatal(err)
			}
			src := record.NewStore(m)
			dst := transferStores()[0].open(t)
			rep, err := record.Copy(ctx, src, dst, tcoll)
			var ie *record.InvalidError
			if !errors.As(err, &ie) || !strings.HasPrefix(ie.Path, bad.field) || !strings.Contains(err.Error(), tcoll+"/b-bad") {
				t.Fatalf("Copy: %v; want an *InvalidError naming %s/b-bad and %s", err, tcoll, bad.field)
			}
			if rep.Added != 1 {
				t.Errorf("report %+v, want the good record added", rep)
			}
			if _, err := dst.Get(ctx, tcoll, "b-bad"); !errors.Is(err, record.ErrNotFound) {
				t.Errorf("the bad record was copied: %v", err)
			}
		})
	}
	t.Run("series without summary", func(t *testing.T) {
		m := memory.New()
		doc := map[string]any{"series": map[string]any{"loss": map[string]any{
			"steps": []any{int64(0), int64(1)}, "values": []any{math.Inf(-1), 0.25}, "times": []any{t0, t0.Add(time.Second)},
		}}}
		if err := m.Insert(ctx, tcoll, "r", doc); err != nil {
			t.Fatal(err)
		}
		src := record.NewStore(listerOnly{m, m, m})
		for _, dst := range transferStores() {
			d := dst.open(t)
			if _, err := record.Copy(ctx, src, d, tcoll); err != nil {
				t.Fatalf("Copy to %s: %v", dst.name, err)
			}
			snap, err := d.Get(ctx, tcoll, "r")
			if err != nil {
				t.Fatal(err)
			}
			count, _ := snap.Get("metrics.loss.count")
			last, _ := snap.Get("metrics.loss.last_time")
			if count != int64(2) || last != t0.Add(time.Second) {
				t.Errorf("%s: summary count %v, last_time %v", dst.name, count, last)
			}
			got, err := snap.LoadSeries(ctx, "loss")
			if err != nil || len(got.Steps) != 2 || !math.IsInf(got.Values[0], -1) {
				t.Errorf("%s: series %+v, %v", dst.name, got, err)
			}
		}
	})
}

// refusingSeries is a memory backend that refuses points at huge steps,
// the way a backend refuses what exceeds its limits.
type refusingSeries struct{ *memory.Backend }

const refusedStep = 1 << 40

func (b refusingSeries) AppendSeries(ctx context.Context, coll, id, name string, pts []backend.Point) error {
	for _, p := range pts {
		if p.Step >= refusedStep {
			return fmt.Errorf("series %s: step %d: %w", name, p.Step, record.ErrTooLarge)
		}
	}
	return b.Backend.AppendSeries(ctx, coll, id, name, pts)
}

// TestImportRefusedSeriesLeavesNothing checks that a record whose series
// the destination refuses leaves the store as before the line: a new
// record is not left half written, and one that Overwrite would replace
// is put back with its series.
func TestImportRefusedSeriesLeavesNothing(t *testing.T) {
	src := transferStores()[0].open(t)
	seedTransfer(t, src)
	good := export(t, src)
	bad := strings.Replace(good, `"steps":[0,10,20,30,40]`, fmt.Sprintf(`"steps":[0,10,20,30,%d]`, refusedStep), 1)
	if bad == good {
		t.Fatal("the edit changed nothing")
	}
	for _, c := range []struct {
		name, lines string
		opts        []record.TransferOption
	}{
		{"new record", strings.ReplaceAll(strings.Split(bad, "\n")[1], `"id":"rec-b"`, `"id":"rec-x"`), nil},
		{"overwrite", bad, []record.TransferOption{record.Overwrite()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := record.NewStore(refusingSeries{memory.New()})
			t.Cleanup(func() { dst.Close(context.Background()) })
			importLines(t, dst, good)
			before := export(t, dst)
			if _, err := dst.Import(t.Context(), tcoll, strings.NewReader(c.lines), c.opts...); !errors.Is(err, record.ErrTooLarge) {
				t.Fatalf("Import: %v; want ErrTooLarge", err)
			}
			if _, err := dst.Get(t.Context(), tcoll, "rec-x"); !errors.Is(err, record.ErrNotFound) {
				t.Errorf("the refused record was left behind: %v", err)
			}
			if after := export(t, dst); after != before {
				t.Errorf("the store changed:\nbefore %.300s\nafter  %.300s", before, after)
			}
		})
	}
}
