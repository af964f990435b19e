package spool_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/backend"
	"github.com/recordlab/go-record/internal/spool"
)

// exact compares floats bit for bit (NaN payloads, -0) and times by
// instant and location.
var exact = cmp.Options{
	cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() }),
}

func header() spool.Header {
	return spool.Header{
		Store:      "postgres://alice:[redacted]@db:5432/runs",
		Collection: "runs",
		ID:         "r1",
		Writer:     "w1",
		Created:    time.Date(2026, 11, 26, 13, 0, 0, 0, time.UTC),
	}
}

var (
	hostileFloats = []float64{
		math.Float64frombits(0x7ff8000000000001), // quiet NaN with a payload
		math.Float64frombits(0x7ff0000000000001), // signalling NaN
		math.Float64frombits(0xfff8000000000000), // negative NaN
		math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		math.Float64frombits(0x000fffffffffffff), // largest subnormal
		math.MaxFloat64, -math.MaxFloat64, 1e21, 0.1, 1,
	}
	hostileStrings = []string{
		"", "\xff\xfe\xfd", "a\x00b", `"quoted" \ back\slash \"`, "\x01\x1f\x7f\n\r\t",
		"\u2028\u2029", "héllo wörld", "{\"$float\":\"NaN\"}", strings.Repeat("long ", 30000),
	}
	// A time off UTC with nanoseconds: kept to the millisecond, in UTC.
	zoned     = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.FixedZone("X", 3600))
	zonedWant = time.Date(2026, 11, 25, 9, 0, 0, 123000000, time.UTC)
)

// hostileDoc returns a document of every value kind, and what it reads
// back as.
func hostileDoc() (in, want map[string]any) {
	in, want = map[string]any{}, map[string]any{}
	for i, f := range hostileFloats {
		in["f"+strconv.Itoa(i)] = f
		want["f"+strconv.Itoa(i)] = f
	}
	for i, s := range hostileStrings {
		in["s"+strconv.Itoa(i)] = s
		want["s"+strconv.Itoa(i)] = s
		in[s] = int64(i) // hostile keys too
		want[s] = int64(i)
	}
	same := map[string]any{
		"int1": int64(1), "float1": float64(1), "min": int64(math.MinInt64), "max": int64(math.MaxInt64),
		"nil": nil, "true": true, "false": false,
		"list":    []any{int64(1), 1.0, "x", nil, []any{}, map[string]any{}, []any{[]any{math.Inf(-1)}}},
		"nilList": []any(nil), "nilMap": map[string]any(nil), "empty": map[string]any{},
		"nested": map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{"\xff", true}}}},
		"epoch":  time.Unix(0, 0).UTC(), "zero": time.Time{},
	}
	for k, v := range same {
		in[k], want[k] = v, v
	}
	in["zoned"], want["zoned"] = zoned, zonedWant
	in["old"], want["old"] = time.Date(1900, 1, 1, 0, 0, 0, 500_000, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	return in, want
}

func hostilePoints() (in, want []backend.Point) {
	steps := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}
	for i, f := range hostileFloats {
		t := zoned.Add(time.Duration(i) * time.Hour)
		in = append(in, backend.Point{Step: steps[i%len(steps)], Value: f, Time: t})
		want = append(want, backend.Point{Step: steps[i%len(steps)], Value: f, Time: time.UnixMilli(t.UnixMilli()).UTC()})
	}
	return in, want
}

func entryCases() []struct {
	name     string
	in, want spool.Entry
} {
	doc, docWant := hostileDoc()
	pts, ptsWant := hostilePoints()
	ops := []backend.Op{
		{Kind: backend.Set, Path: []string{"a", "\xff", "\x00"}, Value: doc},
		{Kind: backend.Append, Path: []string{"events"}, Value: []any{zoned, math.NaN(), "\x00"}},
		{Kind: backend.Unset, Path: []string{"gone"}},
	}
	opsWant := []backend.Op{
		{Kind: backend.Set, Path: []string{"a", "\xff", "\x00"}, Value: docWant},
		{Kind: backend.Append, Path: []string{"events"}, Value: []any{zonedWant, math.NaN(), "\x00"}},
		{Kind: backend.Unset, Path: []string{"gone"}},
	}
	return []struct {
		name     string
		in, want spool.Entry
	}{
		{"Empty", spool.Entry{}, spool.Entry{}},
		{"EmptySlices", spool.Entry{Points: []backend.Point{}, Ops: []backend.Op{}}, spool.Entry{}},
		{"MaxSeq", spool.Entry{Seq: math.MaxInt64}, spool.Entry{Seq: math.MaxInt64}},
		{"Create", spool.Entry{Create: doc}, spool.Entry{Create: docWant}},
		{"CreateEmpty", spool.Entry{Create: map[string]any{}}, spool.Entry{Create: map[string]any{}}},
		{"Points", spool.Entry{Seq: 7, Metric: "loss\xff\x00\"", Points: pts}, spool.Entry{Seq: 7, Metric: "loss\xff\x00\"", Points: ptsWant}},
		{"Ops", spool.Entry{Seq: 8, Ops: ops}, spool.Entry{Seq: 8, Ops: opsWant}},
		{"All", spool.Entry{Seq: -1, Create: doc, Metric: "m", Points: pts, Ops: ops}, spool.Entry{Seq: -1, Create: docWant, Metric: "m", Points: ptsWant, Ops: opsWant}},
	}
}

// readAll reads every entry from the start; it returns the error that
// ended the reading (io.EOF at a clean end).
func readAll(t *testing.T, j *spool.Journal) ([]spool.Entry, error) {
	t.Helper()
	var out []spool.Entry
	off := j.Start()
	for {
		e, next, err := j.Read(off)
		if err != nil {
			if next != off {
				t.Errorf("Read(%d) failed but moved to %d", off, next)
			}
			return out, err
		}
		if next <= off {
			t.Fatalf("Read(%d) returned next %d", off, next)
		}
		out = append(out, e)
		off = next
	}
}

func wantEntries(t *testing.T, j *spool.Journal, want []spool.Entry) {
	t.Helper()
	got, err := readAll(t, j)
	if err != io.EOF {
		t.Fatalf("reading %s ended with %v, want io.EOF", j.Path(), err)
	}
	if diff := cmp.Diff(want, got, exact); diff != "" {
		t.Fatalf("entries (-want +got):\n%s", diff)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range entryCases() {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			j, err := spool.Create(root, header())
			if err != nil {
				t.Fatal(err)
			}
			end, err := j.Append(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(j.Path()); err != nil || fi.Size() != end {
				t.Fatalf("file size %v (%v), Append returned end %d", fi.Size(), err, end)
			}
			wantEntries(t, j, []spool.Entry{c.want})
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			// From disk, through a new handle, and appending after reopening.
			j, err = spool.Open(j.Path())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(header(), j.Header(), exact); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			wantEntries(t, j, []spool.Entry{c.want})
			j.Close()
			j, err = spool.Create(root, header())
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if _, err := j.Append(c.in); err != nil {
				t.Fatal(err)
			}
			wantEntries(t, j, []spool.Entry{c.want, c.want})
		})
	}
}

func TestFilesAndModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "spool")
	h := header()
	j, err := spool.Create(root, h)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rel, _ := filepath.Rel(root, j.Path())
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) != 3 || len(parts[0]) != 16 || parts[1] != h.Collection || parts[2] != h.ID+"."+h.Writer+".journal" {
		t.Errorf("path %s, want <16 hex>/runs/r1.w1.journal", rel)
	}
	for p, want := range map[string]os.FileMode{j.Path(): 0o600, filepath.Dir(j.Path()): 0o700 | os.ModeDir, filepath.Join(root, parts[0]): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	// Temporary files of the atomic creation are gone.
	if ents, _ := os.ReadDir(filepath.Dir(j.Path())); len(ents) != 1 {
		t.Errorf("directory holds %d files, want the journal only", len(ents))
	}
}

func TestInvalid(t *testing.T) {
	j, err := spool.Create(t.TempDir(), header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, e := range []spool.Entry{
		{Create: map[string]any{"int": 3}},
		{Ops: []backend.Op{{Kind: backend.Set, Path: []string{"x"}, Value: float32(1)}}},
	} {
		if _, err := j.Append(e); !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("Append(%v) = %v, want ErrInvalid", e, err)
		}
	}
	wantEntries(t, j, nil)
	for _, h := range []spool.Header{{Collection: "c", ID: "i"}, {ID: "i", Writer: "w"}, {Collection: "c", Writer: "w"}} {
		if _, err := spool.Create(t.TempDir(), h); !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", h, err)
		}
	}
}

// tornSetup writes three entries and returns the file's bytes and the
// end of each entry.
func tornSetup(t *testing.T, root string) (path string, data []byte, ends []int64, entries []spool.Entry) {
	t.Helper()
	j, err := spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	_, doc := hostileDoc()
	_, ptsWant := hostilePoints()
	delete(doc, hostileStrings[len(hostileStrings)-1]) // keep the last frame small: one truncation per byte
	delete(doc, "s"+strconv.Itoa(len(hostileStrings)-1))
	entries = []spool.Entry{
		{Seq: 1, Metric: "loss", Points: ptsWant[:3]},
		{Seq: 2, Ops: []backend.Op{{Kind: backend.Set, Path: []string{"status"}, Value: "running"}}},
		{Seq: 3, Metric: "loss\x00\xff", Points: ptsWant, Ops: []backend.Op{{Kind: backend.Set, Path: []string{"doc"}, Value: doc}}},
	}
	for _, e := range entries {
		end, err := j.Append(e)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end)
	}
	path = j.Path()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data, ends, entries
}

func TestTornTail(t *testing.T) {
	root := t.TempDir()
	path, data, ends, entries := tornSetup(t, root)
	next := spool.Entry{Seq: 4, Metric: "acc", Points: []backend.Point{{Step: 9, Value: math.NaN(), Time: zonedWant}}}
	tails := map[string][]byte{}
	for cut := ends[1]; cut < ends[2]; cut++ {
		tails["cut at "+strconv.FormatInt(cut, 10)] = data[:cut]
	}
	tails["zeros after the end"] = append(bytes.Clone(data), make([]byte, 4096)...)
	tails["garbage after the end"] = append(bytes.Clone(data), bytes.Repeat([]byte{0xa5, 0x01, 0x00}, 300)...)
	whole := []spool.Entry{entries[0], entries[1], entries[2]}
	t.Logf("last frame: %d bytes, %d truncations", ends[2]-ends[1], ends[2]-ends[1])
	i := 0
	for name, file := range tails {
		i++
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		var j *spool.Journal
		var err error
		if i%2 == 0 {
			j, err = spool.Open(path) // a shipper finds a crashed writer's journal
		} else {
			j, err = spool.Create(root, header()) // the writer itself reopens it
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		prefix := entries[:2]
		if int64(len(file)) >= ends[2] {
			prefix = whole
		}
		got, err := readAll(t, j)
		if err != io.EOF {
			t.Fatalf("%s: reading ended with %v, want io.EOF", name, err)
		}
		if diff := cmp.Diff(prefix, got, exact); diff != "" {
			t.Fatalf("%s: entries (-want +got):\n%s", name, diff)
		}
		end, err := j.Append(next)
		if err != nil {
			t.Fatalf("%s: Append after the torn tail: %v", name, err)
		}
		if fi, _ := os.Stat(path); fi.Size() != end {
			t.Fatalf("%s: size %d after Append, want %d", name, fi.Size(), end)
		}
		wantEntries(t, j, append(append([]spool.Entry(nil), prefix...), next))
		j.Close()
	}
}

func TestCorrupt(t *testing.T) {
	cases := []struct {
		name  string
		frame int // the frame damaged: 1 is the first entry
		at    int // offset in that frame
		mask  byte
		want  error // of reading that frame
	}{
		{"LengthLow", 2, 0, 0x01, spool.ErrCorrupt},
		{"LengthHigh", 2, 3, 0x40, spool.ErrCorrupt},
		{"Checksum", 2, 5, 0x80, spool.ErrCorrupt},
		{"Payload", 2, 12, 0x10, spool.ErrCorrupt},
		{"FirstEntry", 1, 9, 0xff, spool.ErrCorrupt},
		{"LastFrame", 3, 20, 0x04, io.EOF}, // damage at the end is a torn tail
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			path, data, ends, entries := tornSetup(t, root)
			j, err := spool.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			starts := []int64{j.Start(), ends[0], ends[1]}
			j.Close()
			bad := starts[c.frame-1]
			data[bad+int64(c.at)] ^= c.mask
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			j, err = spool.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			got, err := readAll(t, j)
			if !errors.Is(err, c.want) {
				t.Fatalf("reading ended with %v, want %v", err, c.want)
			}
			want := append([]spool.Entry(nil), entries[:c.frame-1]...)
			if diff := cmp.Diff(want, got, exact); diff != "" {
				t.Errorf("entries before the damage (-want +got):\n%s", diff)
			}
			if c.want == io.EOF {
				return
			}
			if !strings.Contains(err.Error(), "offset "+strconv.FormatInt(bad, 10)) {
				t.Errorf("error %q does not name offset %d", err, bad)
			}
			if _, err := j.Append(spool.Entry{Seq: 9}); !errors.Is(err, spool.ErrCorrupt) {
				t.Errorf("Append after the damage = %v, want ErrCorrupt", err)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, data) {
				t.Errorf("the damaged journal was changed")
			}
			j.Close()
			if _, err := spool.Create(root, header()); !errors.Is(err, spool.ErrCorrupt) {
				t.Errorf("Create on the damaged journal = %v, want ErrCorrupt", err)
			}
		})
	}
	t.Run("Header", func(t *testing.T) {
		root := t.TempDir()
		path, data, _, _ := tornSetup(t, root)
		for _, cut := range []int{0, 5, 20} {
			os.WriteFile(path, data[:cut], 0o600)
			if _, err := spool.Open(path); !errors.Is(err, spool.ErrCorrupt) {
				t.Errorf("Open of a file cut at %d = %v, want ErrCorrupt", cut, err)
			}
		}
		data[10] ^= 1
		os.WriteFile(path, data, 0o600)
		if _, err := spool.Open(path); !errors.Is(err, spool.ErrCorrupt) {
			t.Errorf("Open with a damaged header = %v, want ErrCorrupt", err)
		}
		if _, err := spool.Create(root, header()); !errors.Is(err, spool.ErrCorrupt) {
			t.Errorf("Create with a damaged header = %v, want ErrCorrupt", err)
		}
	})
}

func TestResetAndRemove(t *testing.T) {
	root := t.TempDir()
	j, err := spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	e := spool.Entry{Seq: 1, Metric: "m", Points: []backend.Point{{Step: 1, Value: 2, Time: zonedWant}}}
	if _, err := j.Append(e); err != nil {
		t.Fatal(err)
	}
	if err := j.Reset(); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, j, nil)
	if fi, _ := os.Stat(j.Path()); fi.Size() != j.Start() {
		t.Errorf("size %d after Reset, want %d", fi.Size(), j.Start())
	}
	if _, err := j.Append(e); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, j, []spool.Entry{e})
	// A second journal in the same store keeps the store's directory.
	h2 := header()
	h2.Collection = "other"
	j2, err := spool.Create(root, h2)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(j.Path())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty collection directory left behind: %v", err)
	}
	j2.Close()
	j2, err = spool.Open(j2.Path()) // Remove of an opened journal finds root itself
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Remove(); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(root); err != nil || len(ents) != 0 {
		t.Errorf("root holds %d entries (%v) after removing every journal; want none", len(ents), err)
	}
	if _, err := j.Append(e); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append after Remove = %v, want os.ErrClosed", err)
	}
	// The lock went with it: a new journal starts empty.
	j, err = spool.Create(root, header())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	wantEntries(t, j, nil)
}

func TestRoot(t *testing.T) {
	t.Setenv("RECORD_SPOOL_DIR", "/some/where")
	if got, err := spool.Root(); err != nil || got != "/some/where" {
		t.Errorf("Root() = %q, %v with RECORD_SPOOL_DIR set", got, err)
	}
	t.Setenv("RECORD_SPOOL_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	if got, err := spool.Root(); err != nil || got != "/cache/record/spool" {
		t.Errorf("Root() = %q, %v, want /cache/record/spool", got, err)
	}
}
