package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/recordlab/go-record/record"
)

// The tests in this file run the README's examples as written, against
// what the quickstart records: every `record` command line, every SQL
// statement of the PostgreSQL section, and the Go blocks (compiled). A
// README example that stops working fails them.

// readme is README.md at the repository root.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// root is the module's root directory, found before any test changes
// the working directory (tests run in the package's directory).
var root, _ = filepath.Abs(filepath.Join("..", ".."))

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}

// section returns the text of the README section under the heading line
// "## title" (up to the next "## " heading).
func section(t *testing.T, text, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README has no section %q", title)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// blocks returns the contents of the fenced code blocks of lang in text.
func blocks(text, lang string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(text, "```"+lang+"\n")
		if !ok {
			return out
		}
		body, after, _ := strings.Cut(rest, "```")
		out = append(out, body)
		text = after
	}
}

// quickstart runs the quickstart with args in the working directory and
// returns what it printed.
func quickstart(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdout := os.Stdout
	os.Stdout = out
	err = run(args)
	os.Stdout = stdout
	if err != nil {
		t.Fatalf("quickstart %q: %v", args, err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runs returns the ids of the records in collection, oldest first.
func runs(t *testing.T, dsn, collection string) []string {
	t.Helper()
	st, err := record.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	snaps, err := st.ListAll(t.Context(), collection)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range snaps {
		ids = append(ids, s.ID())
	}
	slices.Sort(ids) // generated ids are ordered by time
	return ids
}

// TestQuickstartClassicFields checks that the quickstart records the
// classic fields the README reads, that -lr is -learning_rate's short
// form, and that the printed record opens with the run's own fields.
func TestQuickstartClassicFields(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(record.DSNEnv, "")
	printed := quickstart(t, "-lr", "0.05")
	coll := time.Now().Format("Jan-02-2006")
	st, err := record.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	snaps, err := st.ListAll(t.Context(), coll)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("records: %d, %v", len(snaps), err)
	}
	snap := snaps[0]
	if lr, err := snap.Float64("learning_rate"); err != nil || lr != 0.05 {
		t.Errorf("learning_rate = %v, %v; want 0.05 from -lr", lr, err)
	}
	if _, err := snap.Text("desc"); err != nil {
		t.Errorf("desc: %v", err)
	}
	for _, name := range []string{"loss", "model_0/loss", "model_1/loss"} {
		if n, err := snap.Int64("metrics." + name + ".count"); err != nil || n != 100 {
			t.Errorf("metric %s: %d points, %v; want 100", name, n, err)
		}
	}
	ser, err := snap.LoadSeries(t.Context(), "loss")
	if err != nil || len(ser.Values) != 100 {
		t.Fatalf("loss series: %d, %v", len(ser.Values), err)
	}
	l0, _ := snap.Float64s("models.model_0.losses")
	l1, _ := snap.Float64s("models.model_1.losses")
	for i, v := range ser.Values {
		if want := (l0[i] + l1[i]) / 2; math.Abs(v-want) > 1e-15 {
			t.Fatalf("loss[%d] = %v, want the models' mean %v", i, v, want)
		}
	}

	// The printed record: valid JSON, holding exactly the stored document,
	// with the run's own fields first and the machine last.
	var doc map[string]any
	if err := json.Unmarshal(printed, &doc); err != nil {
		t.Fatalf("printed record is not JSON: %v\n%s", err, printed)
	}
	raw, _ := snap.MarshalJSON()
	var want map[string]any
	json.Unmarshal(raw, &want)
	if len(doc) != len(want) {
		t.Errorf("printed %d fields, stored %d", len(doc), len(want))
	}
	keys := regexp.MustCompile(`(?m)^  "([^"]+)":`).FindAllStringSubmatch(string(printed), -1)
	var order []string
	for _, k := range keys {
		order = append(order, k[1])
	}
	pos := func(k string) int { return slices.Index(order, k) }
	for _, k := range []string{"learning_rate", "epochs", "seed", "desc", "models", "metrics", "id", "run", "host", "build"} {
		if pos(k) < 0 {
			t.Fatalf("printed record lacks %q: %v", k, order)
		}
	}
	if !(pos("learning_rate") < pos("desc") && pos("desc") < pos("models") && pos("models") < pos("metrics") &&
		pos("metrics") < pos("id") && pos("id") < pos("host") && pos("host") < pos("build")) {
		t.Errorf("printed order %v: want params, desc, models, metrics, managed fields, then host and build", order)
	}
	if first := strings.SplitN(string(printed), "\n", 3)[1]; strings.Contains(first, "build") || strings.Contains(first, "host") {
		t.Errorf("printed record opens with %q", first)
	}
}

// cliLine is one command line of the README's shell block.
type cliLine struct {
	args          []string
	stdin, stdout string // redirections
}

// parseShell splits a README shell line: words, single or double quotes,
// "< file" and "> file", and a trailing "# comment".
func parseShell(t *testing.T, line string) cliLine {
	t.Helper()
	var l cliLine
	var word strings.Builder
	inWord, quote := false, rune(0)
	var words []string
	flush := func() {
		if inWord {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			flush()
			goto done
		case r == ' ' || r == '\t':
			flush()
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", line)
	}
	flush()
done:
	for i := 0; i < len(words); i++ {
		switch words[i] {
		case "<", ">":
			if i+1 == len(words) {
				t.Fatalf("redirection without a file in %q", line)
			}
			if words[i] == "<" {
				l.stdin = words[i+1]
			} else {
				l.stdout = words[i+1]
			}
			i++
		default:
			l.args = append(l.args, words[i])
		}
	}
	return l
}

// buildCLI builds cmd/record once into dir.
func buildCLI(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "record")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/recordlab/go-record/cmd/record")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_CFLAGS=-Wno-deprecated-declarations")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/record: %v\n%s", err, out)
	}
	return bin
}

// TestREADMECommands runs every line of the README's `record` command
// block against a store the quickstart wrote, with the README's example
// collection and ids replaced by the real ones. Each line must succeed
// and, where it lists or shows records, show the quickstart's.
func TestREADMECommands(t *testing.T) {
	dir := t.TempDir()
	bin := buildCLI(t, t.TempDir())
	t.Chdir(dir)
	t.Setenv(record.DSNEnv, "")
	t.Setenv("RECORD_SPOOL_DIR", t.TempDir())
	quickstart(t)                // the README's run: learning_rate 0.5
	quickstart(t, "-lr", "0.05") // a second run to compare
	coll := time.Now().Format("Jan-02-2006")
	ids := runs(t, "sqlite://records.db", coll)
	if len(ids) != 2 {
		t.Fatalf("quickstart runs: %v", ids)
	}
	subst := map[string]string{
		"Nov-25-2026":                      coll,
		"6b0784947b23e8f0bcfd3d34":         ids[0],
		"ID":                               ids[0],
		"ID1":                              ids[0],
		"ID2":                              ids[1],
		"postgres://me@db.lab/experiments": "sqlite://" + filepath.Join(dir, "copy.db"),
	}

	text := section(t, readme(t), "The `record` command")
	sh := blocks(text, "sh")
	if len(sh) != 1 {
		t.Fatalf("want one sh block in the record command section, have %d", len(sh))
	}
	env := os.Environ()
	ran := 0
	for line := range strings.SplitSeq(sh[0], "\n") {
		l := parseShell(t, line)
		if len(l.args) == 0 {
			continue
		}
		switch l.args[0] {
		case "go": // go install ...@latest: no network here; the package must exist
			pkg := strings.TrimSuffix(l.args[len(l.args)-1], "@latest")
			rel, ok := strings.CutPrefix(pkg, "github.com/recordlab/go-record/")
			if !ok || l.args[1] != "install" {
				t.Fatalf("unexpected go line %q", line)
			}
			if _, err := os.Stat(filepath.Join(repoRoot(t), rel, "main.go")); err != nil {
				t.Errorf("%q: %v", line, err)
			}
			continue
		case "export":
			env = append(env, l.args[1:]...)
			continue
		case "record":
		default:
			t.Fatalf("unexpected command in the README: %q", line)
		}
		args := make([]string, 0, len(l.args)-1)
		for _, a := range l.args[1:] {
			if s, ok := subst[a]; ok {
				a = s
			}
			args = append(args, a)
		}
		t.Run(strings.Join(l.args, " "), func(t *testing.T) {
			stdout, stderr, code := runCLI(t, bin, env, args, l)
			if args[0] == "drop" && !slices.Contains(args, "--yes") {
				// "asks first; --yes in scripts": without a terminal it refuses.
				if code != 2 || !strings.Contains(stderr, "--yes") {
					t.Fatalf("record %q without a terminal: exit %d, %s; want 2 asking for --yes", args, code, stderr)
				}
				args = append(args, "--yes")
				stdout, stderr, code = runCLI(t, bin, env, args, l)
			}
			if code != 0 {
				t.Fatalf("record %q: exit %d\nstderr: %s\nstdout: %s", args, code, stderr, stdout)
			}
			checkCLIOutput(t, args, stdout, coll, ids)
		})
		ran++
	}
	if ran < 10 {
		t.Fatalf("ran %d record lines; the README block shrank or the parser broke", ran)
	}
	if got := runs(t, "sqlite://records.db", coll); len(got) != 0 {
		t.Errorf("after the README's drop, %s still holds %v", coll, got)
	}
}

// runCLI runs the record binary with args and l's redirections.
func runCLI(t *testing.T, bin string, env, args []string, l cliLine) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if l.stdin != "" {
		f, err := os.Open(l.stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	err := cmd.Run()
	if l.stdout != "" {
		if err := os.WriteFile(l.stdout, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errb.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("record %q: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// checkCLIOutput checks that a command that shows records showed the
// quickstart's, and that plots were written.
func checkCLIOutput(t *testing.T, args []string, stdout, coll string, ids []string) {
	t.Helper()
	want := func(s string) {
		if !strings.Contains(stdout, s) {
			t.Errorf("record %q printed no %q:\n%s", args, s, stdout)
		}
	}
	switch args[0] {
	case "collections":
		want(coll)
	case "ls", "show", "diff":
		if slices.Contains(args, "--path") {
			want("losses")
			break
		}
		want(ids[0])
		if slices.Contains(args, "learning_rate=0.5") && strings.Contains(stdout, ids[1]) {
			t.Errorf("record %q listed %s, whose learning_rate is 0.05", args, ids[1])
		}
	case "export":
		if i := slices.Index(args, "-o"); i >= 0 {
			// The tables hold the runs' ids.
			for _, f := range []string{"runs.parquet", "points.parquet"} {
				data, err := os.ReadFile(filepath.Join(args[i+1], f))
				if err != nil {
					t.Fatalf("record %q: %v", args, err)
				}
				for _, id := range ids {
					if !bytes.Contains(data, []byte(id)) {
						t.Errorf("record %q: %s holds no %s", args, f, id)
					}
				}
			}
			break
		}
		want(ids[0])
		want(ids[1])
	case "sync":
		want("synced 0 journals")
	case "plot":
		out := args[slices.Index(args, "-o")+1]
		if fi, err := os.Stat(out); err != nil || fi.Size() < 1000 {
			t.Errorf("record %q wrote %v, %v", args, fi, err)
		}
	case "copy":
		if got := runs(t, args[slices.Index(args, "--to")+1], coll); len(got) != len(ids) {
			t.Errorf("record %q copied %v, want %v", args, got, ids)
		}
	}
}

// postgresDSN returns the test server's DSN, or skips (fails when
// RECORD_TEST_REQUIRE names postgres).
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("RECORD_TEST_POSTGRES_DSN")
	if dsn == "" {
		unavailable(t, "RECORD_TEST_POSTGRES_DSN is not set")
	}
	return dsn
}

// unavailable skips the test, or fails it when RECORD_TEST_REQUIRE names
// postgres (as backendtest.Unavailable does; this package keeps off the
// conformance suite's dependencies).
func unavailable(t *testing.T, reason string) {
	t.Helper()
	if slices.Contains(strings.Split(os.Getenv("RECORD_TEST_REQUIRE"), ","), "postgres") {
		t.Fatalf("postgres tests are required (RECORD_TEST_REQUIRE=%s) but cannot run: %s", os.Getenv("RECORD_TEST_REQUIRE"), reason)
	}
	t.Skipf("postgres tests skipped: %s", reason)
}

// withQuery returns dsn with key=value added to its query.
func withQuery(t *testing.T, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("RECORD_TEST_POSTGRES_DSN: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// statements splits an SQL block into statements, without comments.
func statements(block string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(block, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// TestREADMEPostgres runs every SQL statement of the README's PostgreSQL
// section in a schema of its own: the indexes first, then the quickstart's
// records and runs whose last loss is NaN, +Inf or -Inf (which must still
// close with the indexes in place), then each query, which must return
// rows. The table layout must be valid SQL and match the tables the
// library creates.
func TestREADMEPostgres(t *testing.T) {
	base := postgresDSN(t)
	ctx := t.Context()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "readme_" + hex.EncodeToString(rnd[:])
	scratch := schema + "_layout"
	dsn := withQuery(t, base, "x-schema", schema)

	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		unavailable(t, err.Error())
	}
	defer conn.Close(context.Background())
	t.Cleanup(func() {
		for _, s := range []string{schema, scratch} {
			conn.Exec(context.Background(), "drop schema if exists "+s+" cascade")
		}
	})

	st, err := record.Open(ctx, dsn) // creates the schema and tables
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())

	pg := section(t, readme(t), "PostgreSQL")
	sqlBlocks := blocks(pg, "sql")
	if len(sqlBlocks) != 3 {
		t.Fatalf("PostgreSQL section: %d sql blocks, want 3 (layout, queries, indexes)", len(sqlBlocks))
	}
	layout, queries, indexes := sqlBlocks[0], sqlBlocks[1], sqlBlocks[2]

	// The indexes, before any record: writes must keep working with them.
	for _, s := range statements(indexes) {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("README index %q: %v", s, err)
		}
	}

	t.Chdir(t.TempDir())
	t.Setenv(record.DSNEnv, dsn)
	quickstart(t)
	quickstart(t, "-lr", "0.05")
	coll := time.Now().Format("Jan-02-2006")
	ids := runs(t, dsn, coll)
	if len(ids) != 2 {
		t.Fatalf("quickstart runs in PostgreSQL: %v", ids)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -math.MaxFloat64, math.MaxFloat64} {
		rec, err := st.Create(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Update(ctx, map[string]any{"learning_rate": 0.1, "epochs": int64(100), "desc": fmt.Sprintf("loss ends %v; quote ' \" \\ \x01", bad)}); err != nil {
			t.Fatal(err)
		}
		rec.Log(0, record.Metrics{"loss": 0.5})
		rec.Log(1, record.Metrics{"loss": bad})
		if err := rec.Close(ctx, nil); err != nil {
			t.Fatalf("a run whose last loss is %v cannot close with the README's indexes: %v", bad, err)
		}
	}

	for _, s := range statements(queries) {
		var args []any
		if strings.Contains(s, "$1") {
			args = append(args, coll)
		}
		if strings.Contains(s, "$2") {
			args = append(args, ids[0])
		}
		rows, err := conn.Query(ctx, s, args...)
		if err != nil {
			t.Errorf("README query %q: %v", s, err)
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Errorf("README query %q: %v", s, err)
		} else if n == 0 {
			t.Errorf("README query %q returned no rows on the quickstart's records", s)
		}
	}

	// The partial expression index serves the "20 best runs" query.
	best := slices.IndexFunc(statements(queries), func(s string) bool { return strings.Contains(s, "limit 20") })
	if best < 0 {
		t.Fatal("README: no \"20 best runs\" query")
	}
	if _, err := conn.Exec(ctx, "set enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "explain "+statements(queries)[best], coll)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "records_loss") {
		t.Errorf("the README's best-runs query does not use its index records_loss:\n%s", strings.Join(plan, "\n"))
	}
	if _, err := conn.Exec(ctx, "reset enable_seqscan"); err != nil {
		t.Fatal(err)
	}

	// The layout: valid SQL, and the same columns as the library's tables.
	if _, err := conn.Exec(ctx, "create schema "+scratch); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "set search_path = "+scratch); err != nil {
		t.Fatal(err)
	}
	for _, s := range statements(layout) {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Errorf("README table layout %q: %v", s, err)
		}
	}
	for _, table := range []string{"records", "records_series"} {
		real := columns(t, conn, schema, table)
		doc := columns(t, conn, scratch, table)
		if !slices.Equal(real, doc) {
			t.Errorf("README layout of %s: %v\nthe library's table:  %v", table, doc, real)
		}
	}
}

// columns lists a table's columns as "name type".
func columns(t *testing.T, conn *pgx.Conn, schema, table string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `select column_name || ' ' || data_type from information_schema.columns
		where table_schema = $1 and table_name = $2 order by ordinal_position`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// TestREADMEGo compiles the README's Go blocks (the API tour, and the
// PostgreSQL and MongoDB sections' Open calls) with go vet: each block
// becomes the body of a function whose parameters are the variables the
// block uses without declaring (ctx, models, steps, loss, acc, runErr,
// model), in a file that joins this package only in a go command overlay.
func TestREADMEGo(t *testing.T) {
	text := readme(t)
	var srcs []string
	for _, title := range []string{"API tour", "PostgreSQL", "MongoDB"} {
		bs := blocks(section(t, text, title), "go")
		if len(bs) != 1 {
			t.Fatalf("section %q: %d go blocks, want 1", title, len(bs))
		}
		srcs = append(srcs, bs[0])
	}
	file := goTour(t, srcs)
	dir := t.TempDir()
	src := filepath.Join(dir, "tour.go")
	if err := os.WriteFile(src, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	// The file joins this package (go vet chdirs to the package's
	// directory, so it must exist), next to main.go.
	virtual := filepath.Join(repoRoot(t), "examples", "quickstart", "zz_readme_tour.go")
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{virtual: src}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "-overlay", ov, "./examples/quickstart")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_CFLAGS=-Wno-deprecated-declarations")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go does not compile: %v\n%s\n%s", err, out, numbered(file))
	}
}

// numbered returns src with line numbers, for error messages.
func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(src, "\n") {
		fmt.Fprintf(&b, "%3d %s\n", i+1, l)
	}
	return b.String()
}

var (
	topDecl = regexp.MustCompile(`^(\w+(?:\s*,\s*\w+)*)\s*:=`)
	forVars = regexp.MustCompile(`\bfor\s+([\w, ]+?)\s*:=\s*range\b`)
)

// goTour turns README Go blocks into one Go file: their imports merged
// with the ones the blocks use unimported, each block the body of a
// function; "..." lines (a loop body left out) use the loop's variables,
// and the variables a block declares at its top level are used once at
// its end, as the reader's code would.
func goTour(t *testing.T, srcs []string) string {
	t.Helper()
	imports := map[string]bool{
		`"context"`: true, `"flag"`: true, `"fmt"`: true,
		`"github.com/recordlab/go-record/plot"`: true, `"github.com/recordlab/go-record/record"`: true,
	}
	var funcs strings.Builder
	for i, src := range srcs {
		var body []string
		var declared []string
		var loopVars string
		inImport := false
		for line := range strings.SplitSeq(src, "\n") {
			trim := strings.TrimSpace(line)
			switch {
			case trim == "import (":
				inImport = true
				continue
			case inImport && trim == ")":
				inImport = false
				continue
			case inImport:
				imports[strings.TrimSpace(strings.SplitN(trim, "//", 2)[0])] = true
				continue
			case strings.HasPrefix(trim, "import "):
				imports[strings.TrimSpace(strings.SplitN(strings.TrimPrefix(trim, "import "), "//", 2)[0])] = true
				continue
			case trim == "...":
				if loopVars == "" {
					t.Fatalf("a \"...\" line outside a loop in the README:\n%s", src)
				}
				line = strings.Replace(line, "...", "_ = []any{"+loopVars+"}", 1)
			}
			if m := forVars.FindStringSubmatch(line); m != nil {
				loopVars = m[1]
			}
			if m := topDecl.FindStringSubmatch(line); m != nil {
				for n := range strings.SplitSeq(m[1], ",") {
					if n = strings.TrimSpace(n); n != "_" && !slices.Contains(declared, n) {
						declared = append(declared, n)
					}
				}
			}
			body = append(body, "\t"+line)
		}
		fmt.Fprintf(&funcs, "\nfunc tour%d(ctx context.Context, models map[string]any, steps int, loss, acc float64, runErr error, model map[string]any) {\n", i)
		fmt.Fprintf(&funcs, "\t_, _, _, _, _, _ = models, steps, loss, acc, runErr, model\n")
		funcs.WriteString(strings.Join(body, "\n"))
		if len(declared) > 0 {
			fmt.Fprintf(&funcs, "\n\t_ = []any{%s}\n", strings.Join(declared, ", "))
		}
		funcs.WriteString("}\n")
	}
	var b strings.Builder
	b.WriteString("// Code generated from README.md by TestREADMEGo. DO NOT EDIT.\n\npackage main\n\nimport (\n")
	specs := slices.Sorted(func(yield func(string) bool) {
		for s := range imports {
			if !yield(s) {
				return
			}
		}
	})
	for _, s := range specs {
		b.WriteString("\t" + s + "\n")
	}
	b.WriteString(")\n\nvar _, _, _ = flag.CommandLine, fmt.Sprint, plot.Visualize\n\nvar _ *record.Store\n")
	b.WriteString(funcs.String())
	return b.String()
}
