package record_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/recordlab/go-record/internal/redact/redacttest"
	"github.com/recordlab/go-record/record"
)

const masked = "[redacted]"

func redactStore(t *testing.T) *record.Store {
	t.Helper()
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// corpusName is the name a corpus value is captured under.
func corpusName(v redacttest.Value) string {
	if v.Name == "" {
		return "input"
	}
	return v.Name
}

// checkCaptured checks one captured value against the corpus: a secret
// must be gone and the mask present, a look-alike must be unchanged.
func checkCaptured(t *testing.T, how string, v redacttest.Value, got any, want string) {
	t.Helper()
	s := fmt.Sprint(got)
	if v.IsSecret() {
		if strings.Contains(s, v.Secret) || !strings.Contains(s, masked) {
			t.Errorf("%s %s=%q: stored %q", how, corpusName(v), v.Value, s)
		}
		return
	}
	if s != want {
		t.Errorf("%s %s=%q: stored %q, want it unchanged", how, corpusName(v), v.Value, s)
	}
}

// TestRedactCorpusArgs runs the value corpus through run.args: the test
// sets os.Args as a program's command line would, creates a record and
// reads back what it stored, in the "-name value", "--name=value" and
// "NAME=value" forms. It does not run in parallel: it owns os.Args.
func TestRedactCorpusArgs(t *testing.T) {
	st := redactStore(t)
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	ctx := t.Context()
	for _, v := range redacttest.Values() {
		name := corpusName(v)
		forms := []struct {
			how  string
			args []string
			at   int // the argument that holds the value
			want string
		}{
			{"args -name value", []string{"train", "-" + name, v.Value, "-v"}, 2, v.Value},
			{"args --name=value", []string{"train", "--" + name + "=" + v.Value}, 1, "--" + name + "=" + v.Value},
		}
		if v.Name != "" && !strings.Contains(v.Name, "-") {
			forms = append(forms, struct {
				how  string
				args []string
				at   int
				want string
			}{"args NAME=value", []string{"train", v.Name + "=" + v.Value}, 1, v.Name + "=" + v.Value})
		}
		for _, f := range forms {
			os.Args = f.args
			rec, err := st.Create(ctx, "redact")
			os.Args = saved
			if err != nil {
				t.Fatal(err)
			}
			snap, err := st.Get(ctx, "redact", rec.ID())
			if err != nil {
				t.Fatal(err)
			}
			args, err := snap.Slice("run.args")
			if err != nil || len(args) != len(f.args) {
				t.Fatalf("%s: run.args = %v, %v", f.how, args, err)
			}
			checkCaptured(t, f.how, v, args[f.at], f.want)
			if args[0] != "train" {
				t.Errorf("%s: run.args[0] = %q", f.how, args[0])
			}
		}
	}
}

// TestRedactArgsIssue checks the command line of the issue word for word.
func TestRedactArgsIssue(t *testing.T) {
	st := redactStore(t)
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	os.Args = []string{"train", "--dsn", "postgres://user:S3cretPW@host/x", "-password", "cliPW",
		"--api-key=K3yK3y", "-token", "abc", "-token_count", "5", "-max_tokens=9", "-lr", "0.01"}
	rec, err := st.Create(t.Context(), "redact")
	os.Args = saved
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Get(t.Context(), "redact", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := snap.Slice("run.args")
	want := []any{"train", "--dsn", "postgres://user:" + masked + "@host/x", "-password", masked,
		"--api-key=" + masked, "-token", masked, "-token_count", "5", "-max_tokens=9", "-lr", "0.01"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("run.args =\n%q\nwant\n%q", got, want)
	}
	if j := snap.JSON(); strings.Contains(j, "S3cretPW") || strings.Contains(j, "cliPW") || strings.Contains(j, "K3yK3y") {
		t.Errorf("the record shows a secret: %s", j)
	}
}

// TestRedactCorpusFlags runs the value corpus through Update of a
// *flag.FlagSet, each value given on the command line of the flag set.
func TestRedactCorpusFlags(t *testing.T) {
	st := redactStore(t)
	ctx := t.Context()
	rec, err := st.Create(ctx, "redact", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range redacttest.Values() {
		name := corpusName(v)
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.String(name, "", "")
		if err := fs.Parse([]string{"-" + name, v.Value}); err != nil {
			t.Fatal(err)
		}
		if err := rec.UpdateAt(ctx, "flags", fs); err != nil {
			t.Fatalf("Update(%s=%q): %v", name, v.Value, err)
		}
		snap, err := st.Get(ctx, "redact", rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		m, _ := snap.Map("flags")
		checkCaptured(t, "flag", v, m[name], v.Value)
		if err := rec.Unset(ctx, "flags"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRedactCorpusEnv runs the value corpus through WithEnv.
func TestRedactCorpusEnv(t *testing.T) {
	st := redactStore(t)
	ctx := t.Context()
	for i, v := range redacttest.Values() {
		name := fmt.Sprintf("RT%d_%s", i, redacttest.EnvName(corpusName(v)))
		t.Setenv(name, v.Value)
		rec, err := st.Create(ctx, "redact", record.WithEnv(name))
		if err != nil {
			t.Fatal(err)
		}
		snap, err := st.Get(ctx, "redact", rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		env, err := snap.Map("run.env")
		if err != nil {
			t.Fatalf("run.env of %s: %v", name, err)
		}
		checkCaptured(t, "env", v, env[name], v.Value)
	}
}

// TestRedactEnvIssue checks the variables of the issue: harmless names
// whose values hold secrets.
func TestRedactEnvIssue(t *testing.T) {
	vars := map[string]string{
		"DB_DSN":      "host=h user=u password=libpqPW",
		"DB_URL":      "postgres://h/db?password=qsPW",
		"GH":          "ghp_0123456789abcdefghijABCDEFGHIJ012345",
		"HOOK":        "https://hooks.slack.com/services/T0001/B0001/abcdefSECRET",
		"KEYBOARD":    "us",
		"TOKEN_COUNT": "512",
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	st := redactStore(t)
	rec, err := st.Create(t.Context(), "redact", record.WithEnv("DB_*", "GH", "HOOK", "KEYBOARD", "TOKEN_COUNT"))
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Get(t.Context(), "redact", rec.ID())
	env, _ := snap.Map("run.env")
	want := map[string]any{
		"DB_DSN":      "host=h user=u password=" + masked,
		"DB_URL":      "postgres://h/db?password=" + masked,
		"GH":          masked,
		"HOOK":        "https://hooks.slack.com/services/" + masked,
		"KEYBOARD":    "us",
		"TOKEN_COUNT": "512",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("run.env = %q\nwant %q", env, want)
	}
}

// TestRedactCorpusStruct runs the value corpus through Update of a struct
// whose field has the corpus name as its json name.
func TestRedactCorpusStruct(t *testing.T) {
	st := redactStore(t)
	ctx := t.Context()
	rec, err := st.Create(ctx, "redact", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range redacttest.Values() {
		name := corpusName(v)
		typ := reflect.StructOf([]reflect.StructField{{
			Name: "F", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`json:"` + name + `"`),
		}})
		sv := reflect.New(typ).Elem()
		sv.Field(0).SetString(v.Value)
		if err := rec.UpdateAt(ctx, "cfg", sv.Interface()); err != nil {
			t.Fatalf("Update(%s=%q): %v", name, v.Value, err)
		}
		snap, _ := st.Get(ctx, "redact", rec.ID())
		m, _ := snap.Map("cfg")
		checkCaptured(t, "struct field", v, m[name], v.Value)
		if err := rec.Unset(ctx, "cfg"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRedactStructTags checks the record:"secret" and record:"public"
// tags, Go field names, nested values and hostile values.
func TestRedactStructTags(t *testing.T) {
	type Inner struct {
		Token string
		URL   string
	}
	type Config struct {
		APIKey      string            // by its Go name
		Password    string            `json:"pw"` // by its Go name, stored as pw
		Key         string            `json:"key" record:"secret"`
		Example     string            `json:"example" record:"public"`
		ExampleTree Inner             `json:"example_tree" record:"public"`
		Nested      Inner             `json:"nested"`
		Headers     map[string]string `json:"headers"`
		Empty       string            `json:"password_empty_token"`
		NoToken     string            `json:"token"`
		UseToken    bool              `json:"use_token"`
		MaxTokens   int               `json:"max_tokens"`
		Loss        float64           `json:"loss"`
		Losses      []float64         `json:"losses"`
		Hostile     string            `json:"hostile"`
		Seed        int64             `json:"secret_seed" record:"secret"`
	}
	c := Config{
		APIKey: "ak1", Password: "pw1", Key: "k1",
		Example:     "postgres://u:shown@h/x",
		ExampleTree: Inner{Token: "visible", URL: "https://u:alsoShown@h"},
		Nested:      Inner{Token: "nt1", URL: "https://u:hidden9@h/x"},
		Headers:     map[string]string{"Authorization": "Bearer abc123def456", "X-Api-Key": "hk1", "Accept": "json"},
		UseToken:    true, MaxTokens: 4096, Loss: math.NaN(),
		Losses:  []float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 5e-324},
		Hostile: "quote\" back\\slash \x01\t\n",
		Seed:    42,
	}
	nv, err := record.Normalize(c)
	if err != nil {
		t.Fatal(err)
	}
	m := nv.(map[string]any)
	want := map[string]any{
		"APIKey": masked, "pw": masked, "key": masked,
		"example":              "postgres://u:shown@h/x",
		"example_tree":         map[string]any{"Token": "visible", "URL": "https://u:alsoShown@h"},
		"nested":               map[string]any{"Token": masked, "URL": "https://u:" + masked + "@h/x"},
		"headers":              map[string]any{"Authorization": "Bearer " + masked, "X-Api-Key": masked, "Accept": "json"},
		"password_empty_token": "", "token": "", "use_token": true, "max_tokens": int64(4096),
		"hostile": "quote\" back\\slash \x01\t\n", "secret_seed": masked,
	}
	for k, w := range want {
		if !reflect.DeepEqual(m[k], w) {
			t.Errorf("%s = %#v, want %#v", k, m[k], w)
		}
	}
	if l, ok := m["loss"].(float64); !ok || !math.IsNaN(l) {
		t.Errorf("loss = %v, want NaN", m["loss"])
	}
	if got := m["losses"].([]any); got[0] != math.Inf(1) || got[2] != math.MaxFloat64 || got[4] != 5e-324 {
		t.Errorf("losses = %v", got)
	}
	// A map given as such is the caller's own data: stored as given.
	plain := map[string]any{"password": "mine", "dsn": "postgres://u:mine@h/x"}
	if nv, _ := record.Normalize(plain); !reflect.DeepEqual(nv, plain) {
		t.Errorf("Normalize(map) = %v", nv)
	}
	// Invalid UTF-8 in a secret field is still an error, not stored.
	if _, err := record.Normalize(struct{ Password string }{"\xff"}); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("invalid UTF-8 password: %v, want ErrInvalid", err)
	}
}

// TestFlagAliases checks that a long and a short flag sharing one variable
// are stored once, under the long name, with typed and hostile values.
func TestFlagAliases(t *testing.T) {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	lr := fs.Float64("learning_rate", 0.01, "learning rate")
	fs.Float64Var(lr, "lr", 0.01, "alias of -learning_rate")
	var epochs int
	fs.IntVar(&epochs, "e", 1, "")
	fs.IntVar(&epochs, "epochs", 1, "")
	fs.IntVar(&epochs, "n", 1, "")
	var key string
	fs.StringVar(&key, "k", "", "")
	fs.StringVar(&key, "api-key", "", "")
	fs.String("desc", "", "")
	fs.Float64("a", 0, "")
	fs.Float64("b", 0, "") // same default, different variable: both kept
	loss := fs.Float64("loss", 0, "")
	if err := fs.Parse([]string{"-lr", "1e-3", "-e", "10", "-k", "s3cr3tK", "-desc", "a \"quoted\" \\ desc", "-loss", "NaN"}); err != nil {
		t.Fatal(err)
	}
	_ = loss
	nv, err := record.Normalize(fs)
	if err != nil {
		t.Fatal(err)
	}
	m := nv.(map[string]any)
	if len(m) != 7 {
		t.Errorf("stored %d flags: %v", len(m), m)
	}
	for _, short := range []string{"lr", "e", "n", "k"} {
		if _, ok := m[short]; ok {
			t.Errorf("alias -%s stored: %v", short, m)
		}
	}
	if m["learning_rate"] != 1e-3 || m["epochs"] != int64(10) || m["api-key"] != masked || m["desc"] != "a \"quoted\" \\ desc" {
		t.Errorf("flags = %v", m)
	}
	if f, _ := m["loss"].(float64); !math.IsNaN(f) {
		t.Errorf("loss = %v, want NaN", m["loss"])
	}
	for _, x := range []float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64} {
		*lr = x
		nv, _ := record.Normalize(fs)
		if got := nv.(map[string]any)["learning_rate"]; got != x {
			t.Errorf("learning_rate %v stored as %v", x, got)
		}
	}
	// Through a record: the alias is stored once there too.
	st := redactStore(t)
	rec, err := st.Create(t.Context(), "redact", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	*lr = 0.5
	if err := rec.Update(t.Context(), fs); err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Get(t.Context(), "redact", rec.ID())
	if _, ok := snap.Get("lr"); ok {
		t.Error("the record stores -lr beside -learning_rate")
	}
	if v, _ := snap.Float64("learning_rate"); v != 0.5 {
		t.Errorf("learning_rate = %v", v)
	}
	if s := snap.JSON(); strings.Contains(s, "s3cr3tK") {
		t.Errorf("the record shows the api key: %s", s)
	}
}

// TestFlagReserved checks that a flag named like a reserved field fails
// Update with an *InvalidError naming the flag and that UpdateAt, the way
// out the error names, stores it.
func TestFlagReserved(t *testing.T) {
	st := redactStore(t)
	ctx := t.Context()
	rec, err := st.Create(ctx, "redact", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"id", "status", "error", "metrics", "created"} {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.String(name, "x", "")
		fs.Float64("lr", 0.1, "")
		err := rec.Update(ctx, fs)
		var ie *record.InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, record.ErrInvalid) || ie.Path != name {
			t.Fatalf("Update with flag -%s = %v, want an *InvalidError at %q", name, err, name)
		}
		if err := rec.UpdateAt(ctx, "flags", fs); err != nil {
			t.Fatalf("UpdateAt(flags) with flag -%s: %v", name, err)
		}
		snap, _ := st.Get(ctx, "redact", rec.ID())
		if v, _ := snap.Text("flags." + name); v != "x" {
			t.Errorf("flags.%s = %q", name, v)
		}
		if _, ok := snap.Get("lr"); ok {
			t.Error("a failed Update stored lr")
		}
	}
}
