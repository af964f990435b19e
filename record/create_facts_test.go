package record_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/recordlab/go-record/record"
)

// createdRun creates a record and returns its run facts (run.*).
func createdRun(t *testing.T, st *record.Store, opts ...record.CreateOption) map[string]any {
	t.Helper()
	rec, err := st.Create(t.Context(), "c", opts...)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Get(t.Context(), "c", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	run, ok := snap.Doc()["run"].(map[string]any)
	if !ok {
		t.Fatalf("no run facts in %v", snap.Doc())
	}
	return run
}

// Create keeps the last facts while the inputs of hw.Detect are the same;
// each change of the command line, the captured environment or the
// working directory shows in the next Create, redacted and normalized like
// the first, hostile values included.
func TestCreateFactsFollowTheProcess(t *testing.T) {
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(t.Context())
	args := os.Args
	t.Cleanup(func() { os.Args = args })

	first := createdRun(t, st)
	if again := createdRun(t, st); !slices.Equal(strs(again["args"]), strs(first["args"])) {
		t.Fatalf("run.args changed between two Creates: %v, then %v", first["args"], again["args"])
	}

	// The command line.
	hostile := []string{`--quote="a\"b"`, `back\slash`, "ctl\x01\x7f\t", "bad\xffutf8", "--password=hunter2", "\u2028"}
	os.Args = append(slices.Clone(args), hostile...)
	got := strs(createdRun(t, st)["args"])
	if len(got) != len(args)+len(hostile) {
		t.Fatalf("run.args after changing os.Args = %q, want %d args", got, len(args)+len(hostile))
	}
	tail := got[len(args):]
	want := []string{`--quote="a\"b"`, `back\slash`, "ctl\x01\x7f\t", "bad\uFFFDutf8", "--password=[redacted]", "\u2028"}
	if !slices.Equal(tail, want) {
		t.Errorf("run.args tail = %q, want %q", tail, want)
	}
	os.Args = args
	if got := strs(createdRun(t, st)["args"]); !slices.Equal(got, strs(first["args"])) {
		t.Errorf("run.args after restoring os.Args = %q, want %q", got, first["args"])
	}

	// The environment, when WithEnv asks for it.
	t.Setenv("CREATEFACTS_X", "one")
	env := func() map[string]any {
		e, _ := createdRun(t, st, record.WithEnv("CREATEFACTS_*"))["env"].(map[string]any)
		return e
	}
	if e := env(); e["CREATEFACTS_X"] != "one" {
		t.Errorf("run.env = %v, want CREATEFACTS_X=one", e)
	}
	t.Setenv("CREATEFACTS_X", "two \"q\" \\ \x01")
	t.Setenv("CREATEFACTS_TOKEN", "s3cr3t-value")
	e := env()
	if e["CREATEFACTS_X"] != "two \"q\" \\ \x01" || e["CREATEFACTS_TOKEN"] != "[redacted]" {
		t.Errorf("run.env after Setenv = %q, want the new value and the token redacted", e)
	}
	if e := createdRun(t, st)["env"]; e != nil {
		t.Errorf("run.env without WithEnv = %v, want none", e)
	}

	// The working directory.
	dir := t.TempDir()
	t.Chdir(dir)
	if got, _ := createdRun(t, st)["dir"].(string); !strings.HasSuffix(got, dir[strings.LastIndexByte(dir, '/'):]) {
		t.Errorf("run.dir after Chdir(%s) = %q", dir, got)
	}
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, e := range list {
		out[i], _ = e.(string)
	}
	return out
}
