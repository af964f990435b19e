package record_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/recordlab/go-record/record"
)

// TestParseCondValues checks how condition text is typed: times and dates
// become UTC times; hostile values stay what they say.
func TestParseCondValues(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		text      string
		path, cmp string
		want      any
	}{
		{"created>2026-11-26", "created", ">", utc(2026, 11, 26, 0, 0, 0, 0)},
		{"created>=2026-11-26T10:30:00Z", "created", ">=", utc(2026, 11, 26, 10, 30, 0, 0)},
		{"created<2026-11-26T10:30:00.123456789+02:00", "created", "<", utc(2026, 11, 26, 8, 30, 0, 123e6)}, // stored times keep milliseconds
		{"created<=2026-11-26 10:30:00Z", "created", "<=", utc(2026, 11, 26, 10, 30, 0, 0)},
		{"created==2026-11-26T10:30:00", "created", "=", utc(2026, 11, 26, 10, 30, 0, 0)},
		{"created!=2026-11-26 10:30:00.5", "created", "!=", utc(2026, 11, 26, 10, 30, 0, 5e8)},
		{"created=2026-11-26T10:30", "created", "=", utc(2026, 11, 26, 10, 30, 0, 0)},
		{"created = 2026-11-26 10:30", "created", "=", utc(2026, 11, 26, 10, 30, 0, 0)},
		{`created="2026-11-26"`, "created", "=", "2026-11-26"},
		{"created=2026-13-45", "created", "=", "2026-13-45"}, // not a date: a string
		{"created=2026-11-26T25:00", "created", "=", "2026-11-26T25:00"},
		{"created=20261126", "created", "=", int64(20261126)},
		{"a.b=2026", "a.b", "=", int64(2026)},
		{"x<NaN", "x", "<", math.NaN()},
		{"x<+Inf", "x", "<", math.Inf(1)},
		{"x>-Inf", "x", ">", math.Inf(-1)},
		{"x>1.7976931348623157e308", "x", ">", math.MaxFloat64},
		{"x>-1.7976931348623157e308", "x", ">", -math.MaxFloat64},
		{"x>5e-324", "x", ">", 5e-324},
		{"x=9223372036854775807", "x", "=", int64(math.MaxInt64)},
		{`x="q\"uote"`, "x", "=", `q"uote`},
		{`x='back\\slash'`, "x", "=", `back\slash`},
		{`x="tab\there"`, "x", "=", "tab\there"},
		{"x=\x01ctl", "x", "=", "\x01ctl"},
		{"x=null", "x", "=", nil},
		{"x=true", "x", "=", true},
	}
	for _, c := range cases {
		path, cmpOp, v, err := record.ParseCondition(c.text)
		if err != nil {
			t.Errorf("ParseCondition(%q) = %v", c.text, err)
			continue
		}
		if path != c.path || cmpOp != c.cmp {
			t.Errorf("ParseCondition(%q) = %q %q, want %q %q", c.text, path, cmpOp, c.path, c.cmp)
		}
		if f, ok := c.want.(float64); ok && math.IsNaN(f) {
			if g, ok := v.(float64); !ok || !math.IsNaN(g) {
				t.Errorf("ParseCondition(%q) value = %#v, want NaN", c.text, v)
			}
			continue
		}
		if d := cmp.Diff(c.want, v); d != "" {
			t.Errorf("ParseCondition(%q) value (-want +got):\n%s", c.text, d)
		}
	}
}

// TestParseCondErrors: bad conditions are *InvalidError, whatever bytes
// they hold.
func TestParseCondErrors(t *testing.T) {
	for _, text := range []string{"", "=1", "created", "created=>1", "a..b=1", "$a=1", "a.\xff=1", "a\x00=1", "<2026-11-26"} {
		_, _, _, err := record.ParseCondition(text)
		var ie *record.InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, record.ErrInvalid) {
			t.Errorf("ParseCondition(%q) = %v, want an *InvalidError", text, err)
		}
	}
}

// TestWhereTextTimes lists records by their creation time with dates and
// times written as text, on a store where "created" holds times.
func TestWhereTextTimes(t *testing.T) {
	ctx := t.Context()
	st, err := record.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	for i, when := range []time.Time{
		time.Date(2026, 11, 25, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	} {
		rec, err := st.Create(ctx, "c", record.WithID(string(rune('a'+i))), record.WithoutHost())
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Update(ctx, map[string]any{"when": when}); err != nil {
			t.Fatal(err)
		}
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		cond string
		want []string
	}{
		{"when>=2026-11-26", []string{"b", "c"}},
		{"when<2026-11-26", []string{"a"}},
		{"when=2026-11-26", []string{"b"}},
		{"when>2026-11-26T11:00:00", []string{"c"}},
		{"when>2026-11-26T13:00:00+02:00", []string{"c"}},
		{"when<2026-11-26 00:00:00.001Z", []string{"a", "b"}},
		{`when="2026-11-26"`, nil}, // a string never equals a time
		{"created>2000-01-01", []string{"a", "b", "c"}},
	}
	for _, c := range cases {
		snaps, err := st.ListAll(ctx, "c", record.WhereText(c.cond))
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		var got []string
		for _, s := range snaps {
			got = append(got, s.ID())
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.cond, d)
		}
	}
}
