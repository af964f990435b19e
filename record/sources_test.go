package record_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/recordlab/go-record/record"
)

// iniCorpus holds INI files that Python's configparser reads (or refuses).
// TestINIFileMatchesPython compares INI{Text: true} with what python3
// yields for each; the typed tests below paste values python3 produced.
var iniCorpus = []struct {
	name, text string
}{
	{"simple", "[train]\nlr = 0.001\nepochs = 20\n"},
	{"colon", "[s]\na: 1\nb : x = y\nc=d:e\n"},
	{"defaultInherited", "[DEFAULT]\nseed = 1\nlr = 0.1\n[train]\nlr = 0.01\n[eval]\nbatch = 8\n"},
	{"defaultOnly", "[DEFAULT]\nseed = 1\n"},
	{"defaultTwice", "[DEFAULT]\na = 1\n[s]\nx = 2\n[DEFAULT]\nb = 2\n"},
	{"interpolation", "[DEFAULT]\nroot = /data\n[paths]\ntrain = %(root)s/train\nlog = %(dir)s/log\ndir = %(ROOT)s/run\npct = 50%%\n"},
	{"interpolationPerSection", "[DEFAULT]\nout = %(name)s.log\n[a]\nname = alpha\n[b]\nname = beta\n"},
	{"interpolationChain10", "[s]\nk0 = end\nk1 = %(k0)s%%\nk2 = %(k1)s\nk3 = %(k2)s\nk4 = %(k3)s\nk5 = %(k4)s\nk6 = %(k5)s\nk7 = %(k6)s\nk8 = %(k7)s\nk9 = %(k8)s\n"},
	{"interpolationChain11", "[s]\nk0 = end\nk1 = %(k0)s%%\nk2 = %(k1)s\nk3 = %(k2)s\nk4 = %(k3)s\nk5 = %(k4)s\nk6 = %(k5)s\nk7 = %(k6)s\nk8 = %(k7)s\nk9 = %(k8)s\nk10 = %(k9)s\nk11 = %(k10)s\n"},
	{"interpolationLoop", "[s]\na = %(b)s\nb = %(a)s\n"},
	{"interpolationMissing", "[s]\na = %(nope)s\n"},
	{"interpolationBadPercent", "[s]\na = 50%\n"},
	{"interpolationUnclosed", "[s]\na = %(x\nx = 1\n"},
	{"interpolationEmptyName", "[s]\na = %()s\n"},
	{"interpolationNoS", "[s]\na = %(x)d\nx = 1\n"},
	{"booleans", "[b]\na = yes\nb = No\nc = TRUE\nd = off\ne = On\nf = 1\ng = 0\nh = y\ni = truthy\n"},
	{"caseFolding", "[Sec]\nLR = 1\nMixed_Case = x\n"},
	{"multiline", "[s]\ntext = first\n  second\n\n  fourth\n\nnext = 1\nempty =\n   a\n   b\n"},
	{"multilineComment", "[s]\nv = a\n  # not a value line\n  b\n;c\n  d\n"},
	{"indentedHeaderAndKeys", "  [s]\n  a = 1\n  b = 2\n    c\n"},
	{"comments", "# c\n; c\n[s]\n# c\na = 1 ; not a comment\nb = 2 # nor this\n   ; indented comment\n"},
	{"sectionHeaderQuirks", "[a]b]\nx = 1\n[c] trailing\ny = 2\n[ spaced ]\nz = 3\n"},
	{"dottedKeys", "[s]\nopt.lr = 0.1\nopt.momentum = 0.9\nmodel.layers.n = 3\n"},
	{"dottedConflict", "[s]\na.b = 2\na = 1\nc.d = 3\nc.d.e = 4\n"},
	{"dottedOdd", "[s]\na..b = 1\n.x = 2\ny. = 3\n$z = 4\nw.$v = 5\np%q.r = 6\n"},
	{"dottedSection", "[model.v2]\nx = 1\n[$s]\ny = 2\n"},
	{"hostile", "[h]\nq = \"quoted\"\ns = 'single'\nb = C:\\path\\to\\x \\n\nu = ünïcødé ☃\nnul = a\x00b\nctl = a\x01b\nvt = \x0bpad\x0b\nfs = \x1cpad\x1f\nnbsp = \u00a0pad\u00a0\n"},
	{"hostileNumbers", "[n]\nnan = NaN\ninf = inf\nninf = -Infinity\nbig = 99999999999999999999\nmaxint = 9223372036854775807\nminint = -9223372036854775808\nmaxf = 1.7976931348623157e308\nnmaxf = -1.7976931348623157e308\nover = 1e309\nsub = 5e-324\nunder = 1e-400\nhex = 0x10\nunders = 1_000\nzeros = 007\nplus = +7\nneg0 = -0\nhalf = .5\ntrail = 5.\nexp = 1E3\n"},
	{"crlf", "[s]\r\na = 1\r\nb = 2\r\n  more\r\n"},
	{"cr", "[s]\ra = 1\rb = x\r"},
	{"bom", "\ufeff[s]\na = 1\n"},
	{"noTrailingNewline", "[s]\na = 1"},
	{"empty", ""},
	{"emptyValue", "[s]\na =\nb:\n"},
	{"unicodeIndent", "[s]\na = 1\n\u3000b\n"},
	{"tabIndent", "[s]\na = 1\n\tb\n"},
	{"keyWithSpaces", "[s]\nlong key name = v\n"},
	{"hostileKeys", "[s]\na\x00b = 1\n\"q\" = 2\nback\\slash = 3\nctl\x01 = 4\n[sec\x00tion]\nx = 5\n"},

	{"errNoSection", "a = 1\n[s]\n"},
	{"errBadLine", "[s]\njust words\n"},
	{"errEmptyKey", "[s]\n= 1\n"},
	{"errDuplicateSection", "[s]\na = 1\n[s]\nb = 2\n"},
	{"errDuplicateKey", "[s]\na = 1\nA = 2\n"},
	{"errDuplicateDefaultKey", "[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n"},
	{"errEmptyHeader", "[]\na = 1\n"},
}

// pythonINI reads every path with configparser.ConfigParser() and prints,
// per file, the sections' interpolated items (DEFAULT's own items when the
// file has no other section) or the exception's class name.
const pythonINI = `
import configparser, json, sys
out = []
for p in sys.argv[1:]:
    cp = configparser.ConfigParser()
    try:
        with open(p, encoding="utf-8-sig") as f:
            cp.read_file(f)
        secs = cp.sections()
        if not secs and cp.defaults():
            secs = ["DEFAULT"]
        out.append({"ok": {s: dict(cp.items(s)) for s in secs}})
    except Exception as e:
        out.append({"error": type(e).__name__})
print(json.dumps(out))
`

// flattenINI undoes nesting and key encoding, giving section -> dotted key -> text.
func flattenINI(t *testing.T, config map[string]any) map[string]map[string]string {
	t.Helper()
	dec := strings.NewReplacer("%2E", ".", "%24", "$", "%00", "\x00", "%25", "%")
	out := map[string]map[string]string{}
	for sect, v := range config {
		flat := map[string]string{}
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			for k, v := range m {
				key := prefix + dec.Replace(k)
				switch v := v.(type) {
				case map[string]any:
					walk(key+".", v)
				case string:
					flat[key] = v
				default:
					t.Fatalf("section %s key %s: %T, want string in Text mode", sect, key, v)
				}
			}
		}
		walk("", v.(map[string]any))
		out[dec.Replace(sect)] = flat
	}
	return out
}

func writeINI(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.ini")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestINIFileMatchesPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the comparison with configparser needs it; TestINIFileTyped covers the same files with pasted values")
	}
	paths := make([]string, len(iniCorpus))
	for i, c := range iniCorpus {
		paths[i] = writeINI(t, c.text)
	}
	outb, err := exec.Command(py, append([]string{"-c", pythonINI}, paths...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var results []struct {
		OK    map[string]map[string]string `json:"ok"`
		Error string                       `json:"error"`
	}
	if err := json.Unmarshal(outb, &results); err != nil {
		t.Fatalf("python3 output: %v\n%s", err, outb)
	}
	for i, c := range iniCorpus {
		t.Run(c.name, func(t *testing.T) {
			want := results[i]
			got, err := record.INI{Path: paths[i], Text: true}.Load()
			if want.Error != "" {
				if !errors.Is(err, record.ErrInvalid) {
					t.Fatalf("configparser raised %s; Load = %v, %v, want ErrInvalid", want.Error, got, err)
				}
				var ie *record.InvalidError
				if !errors.As(err, &ie) {
					t.Fatalf("error %v (%T) is not an *InvalidError", err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v (configparser read it)", err)
			}
			if diff := cmp.Diff(want.OK, flattenINI(t, got["config"].(map[string]any))); diff != "" {
				t.Errorf("configparser vs INI (-want +got):\n%s", diff)
			}
		})
	}
}

// TestINIFileTyped checks the typed values; the text of each value is what
// python3's configparser produced for the same file (pasted).
func TestINIFileTyped(t *testing.T) {
	cases := []struct {
		name string
		text string
		want map[string]any
	}{
		{"defaultInherited", "[DEFAULT]\nseed = 1\nlr = 0.1\n[train]\nlr = 0.01\n[eval]\nbatch = 8\n", map[string]any{
			"train": map[string]any{"seed": int64(1), "lr": 0.01},
			"eval":  map[string]any{"seed": int64(1), "lr": 0.1, "batch": int64(8)},
		}},
		{"classic", "[DEFAULT]\ntop = 1\n[train]\nlr = 0.001\nepochs = 20\noptimizer = adam ; comment\nshuffle = yes\nopt.momentum = 0.9\n\n[data]\npath = %(root)s/mnist\nroot = /data\nsplit = 0.8\n", map[string]any{
			"train": map[string]any{"top": int64(1), "lr": 0.001, "epochs": int64(20), "optimizer": "adam ; comment", "shuffle": true, "opt": map[string]any{"momentum": 0.9}},
			"data":  map[string]any{"top": int64(1), "path": "/data/mnist", "root": "/data", "split": 0.8},
		}},
		{"defaultOnly", "[DEFAULT]\nseed = 1\n", map[string]any{"DEFAULT": map[string]any{"seed": int64(1)}}},
		{"interpolation", "[DEFAULT]\nroot = /data\n[paths]\ntrain = %(root)s/train\nlog = %(dir)s/log\ndir = %(ROOT)s/run\npct = 50%%\n", map[string]any{
			"paths": map[string]any{"root": "/data", "train": "/data/train", "log": "/data/run/log", "dir": "/data/run", "pct": "50%"},
		}},
		{"interpolationPerSection", "[DEFAULT]\nout = %(name)s.log\n[a]\nname = alpha\n[b]\nname = beta\n", map[string]any{
			"a": map[string]any{"out": "alpha.log", "name": "alpha"},
			"b": map[string]any{"out": "beta.log", "name": "beta"},
		}},
		{"interpolatedNumber", "[DEFAULT]\nn = 5\n[s]\nm = %(n)s0\n", map[string]any{"s": map[string]any{"n": int64(5), "m": int64(50)}}},
		{"booleans", "[b]\na = yes\nb = No\nc = TRUE\nd = off\ne = On\nf = 1\ng = 0\nh = y\ni = truthy\n", map[string]any{
			"b": map[string]any{"a": true, "b": false, "c": true, "d": false, "e": true, "f": int64(1), "g": int64(0), "h": "y", "i": "truthy"},
		}},
		{"caseFolding", "[Sec]\nLR = 1\nMixed_Case = x\n", map[string]any{"Sec": map[string]any{"lr": int64(1), "mixed_case": "x"}}},
		{"multiline", "[s]\ntext = first\n  second\n\n  fourth\n\nnext = 1\nempty =\n   a\n   b\n", map[string]any{
			"s": map[string]any{"text": "first\nsecond\n\nfourth", "next": int64(1), "empty": "\na\nb"},
		}},
		{"comments", "# c\n; c\n[s]\n# c\na = 1 ; not a comment\nb = 2 # nor this\n   ; indented comment\n", map[string]any{
			"s": map[string]any{"a": "1 ; not a comment", "b": "2 # nor this"},
		}},
		{"dottedKeys", "[s]\nopt.lr = 0.1\nopt.momentum = 0.9\nmodel.layers.n = 3\n", map[string]any{
			"s": map[string]any{"opt": map[string]any{"lr": 0.1, "momentum": 0.9}, "model": map[string]any{"layers": map[string]any{"n": int64(3)}}},
		}},
		{"dottedConflict", "[s]\na.b = 2\na = 1\nc.d = 3\nc.d.e = 4\n", map[string]any{
			"s": map[string]any{"a": int64(1), "a%2Eb": int64(2), "c": map[string]any{"d": int64(3)}, "c%2Ed%2Ee": int64(4)},
		}},
		{"dottedOdd", "[s]\na..b = 1\n.x = 2\ny. = 3\n$z = 4\nw.$v = 5\np%q.r = 6\n", map[string]any{
			"s": map[string]any{"a%2E%2Eb": int64(1), "%2Ex": int64(2), "y%2E": int64(3), "%24z": int64(4), "w%2E$v": int64(5), "p%q": map[string]any{"r": int64(6)}},
		}},
		{"dottedSection", "[model.v2]\nx = 1\n[$s]\ny = 2\n", map[string]any{"model%2Ev2": map[string]any{"x": int64(1)}, "%24s": map[string]any{"y": int64(2)}}},
		{"hostile", "[h]\nq = \"quoted\"\ns = 'single'\nb = C:\\path\\to\\x \\n\nu = ünïcødé ☃\nnul = a\x00b\nctl = a\x01b\nvt = \x0bpad\x0b\nfs = \x1cpad\x1f\nnbsp = \u00a0pad\u00a0\n", map[string]any{
			"h": map[string]any{"q": `"quoted"`, "s": "'single'", "b": `C:\path\to\x \n`, "u": "ünïcødé ☃", "nul": "a\x00b", "ctl": "a\x01b", "vt": "pad", "fs": "pad", "nbsp": "pad"},
		}},
		{"hostileNumbers", "[n]\nnan = NaN\ninf = inf\nninf = -Infinity\nbig = 99999999999999999999\nmaxint = 9223372036854775807\nminint = -9223372036854775808\nmaxf = 1.7976931348623157e308\nnmaxf = -1.7976931348623157e308\nover = 1e309\nsub = 5e-324\nunder = 1e-400\nhex = 0x10\nunders = 1_000\nzeros = 007\nplus = +7\nneg0 = -0\nhalf = .5\ntrail = 5.\nexp = 1E3\n", map[string]any{
			"n": map[string]any{"nan": "NaN", "inf": "inf", "ninf": "-Infinity", "big": "99999999999999999999",
				"maxint": int64(math.MaxInt64), "minint": int64(math.MinInt64), "maxf": math.MaxFloat64, "nmaxf": -math.MaxFloat64,
				"over": "1e309", "sub": 5e-324, "under": "1e-400", "hex": "0x10", "unders": "1_000", "zeros": "007",
				"plus": int64(7), "neg0": int64(0), "half": 0.5, "trail": 5.0, "exp": 1000.0},
		}},
		{"crlfAndCR", "[s]\r\na = 1\r\nb = 2\r\n  more\r\n[t]\rc = x\r", map[string]any{
			"s": map[string]any{"a": int64(1), "b": "2\nmore"}, "t": map[string]any{"c": "x"},
		}},
		{"hostileKeys", "[s]\na\x00b = 1\n\"q\" = 2\nback\\slash = 3\nctl\x01 = 4\n[sec\x00tion]\nx = 5\n", map[string]any{
			"s": map[string]any{"a%00b": int64(1), `"q"`: int64(2), `back\slash`: int64(3), "ctl\x01": int64(4)}, "sec%00tion": map[string]any{"x": int64(5)},
		}},
		{"bom", "\ufeff[s]\na = 1\n", map[string]any{"s": map[string]any{"a": int64(1)}}},
		{"empty", "", map[string]any{}},
		{"emptyValue", "[s]\na =\nb:\n", map[string]any{"s": map[string]any{"a": "", "b": ""}}},
		{"sectionHeaderQuirks", "[a]b]\nx = 1\n[c] trailing\ny = 2\n[ spaced ]\nz = 3\n", map[string]any{
			"a]b": map[string]any{"x": int64(1)}, "c": map[string]any{"y": int64(2)}, " spaced ": map[string]any{"z": int64(3)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := record.INIFile(writeINI(t, tc.text)).Load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(map[string]any{"config": tc.want}, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			if _, err := record.Normalize(got); err != nil {
				t.Errorf("Normalize(Load()) = %v: the fields cannot be stored", err)
			}
		})
	}
}

func TestINIFileOptions(t *testing.T) {
	text := "[DEFAULT]\nDir = /d\n[S]\nPath = %(dir)s/x ; note\nN = 3\nFlag = on\n"
	cases := []struct {
		name string
		ini  record.INI
		want map[string]any
	}{
		{"defaults", record.INI{}, map[string]any{
			"S": map[string]any{"dir": "/d", "path": "/d/x ; note", "n": int64(3), "flag": true},
		}},
		{"keepCase", record.INI{KeepCase: true, Raw: true}, map[string]any{
			"S": map[string]any{"Dir": "/d", "Path": "%(dir)s/x ; note", "N": int64(3), "Flag": true},
		}},
		{"raw", record.INI{Raw: true}, map[string]any{
			"S": map[string]any{"dir": "/d", "path": "%(dir)s/x ; note", "n": int64(3), "flag": true},
		}},
		{"text", record.INI{Text: true}, map[string]any{
			"S": map[string]any{"dir": "/d", "path": "/d/x ; note", "n": "3", "flag": "on"},
		}},
		{"keepDefault", record.INI{KeepDefault: true}, map[string]any{
			"S":       map[string]any{"dir": "/d", "path": "/d/x ; note", "n": int64(3), "flag": true},
			"DEFAULT": map[string]any{"dir": "/d"},
		}},
		{"inlineComments", record.INI{InlineCommentPrefixes: []string{";", "#"}}, map[string]any{
			"S": map[string]any{"dir": "/d", "path": "/d/x", "n": int64(3), "flag": true},
		}},
	}
	p := writeINI(t, text)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.ini.Path = p
			got, err := tc.ini.Load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(map[string]any{"config": tc.want}, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
	// KeepCase: references are not folded, so %(dir)s misses Dir.
	_, err := record.INI{Path: p, KeepCase: true}.Load()
	if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), "[S]") {
		t.Errorf("KeepCase with %%(dir)s and key Dir: %v, want ErrInvalid naming [S]", err)
	}
}

// Inline comments follow configparser's round-by-round search, pasted from
// python3 with inline_comment_prefixes=(';', '#').
func TestINIFileInlineComments(t *testing.T) {
	text := "[s]\na = x;y #c ;d\nb = x #c\nc = x;y\nd = ; all\n"
	got, err := record.INI{Path: writeINI(t, text), InlineCommentPrefixes: []string{";", "#"}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"config": map[string]any{"s": map[string]any{"a": "x;y", "b": "x", "c": "x;y", "d": ""}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestINIFileErrors(t *testing.T) {
	cases := []struct {
		name, text string
		path       string   // InvalidError.Path
		says       []string // in the message
	}{
		{"missingReference", "[train]\nout = %(dir)s/x\n", "config.train.out", []string{"[train]", `"out"`, "dir"}},
		{"loop", "[s]\na = %(b)s\nb = %(a)s\n", "config.s.a", []string{"[s]", "10 levels"}},
		{"chain11", "[s]\nk0 = end\nk1 = %(k0)s%%\nk2 = %(k1)s\nk3 = %(k2)s\nk4 = %(k3)s\nk5 = %(k4)s\nk6 = %(k5)s\nk7 = %(k6)s\nk8 = %(k7)s\nk9 = %(k8)s\nk10 = %(k9)s\nk11 = %(k10)s\n", "config.s.k11", []string{"10 levels"}},
		{"badPercent", "[s]\na = 50%\n", "config.s.a", []string{"%%"}},
		{"badReference", "[s]\na = %(x\n", "config.s.a", []string{"%(name)s"}},
		{"defaultMissingReference", "[DEFAULT]\nout = %(name)s\n[a]\nname = x\n[b]\n", "config.b.out", []string{"[b]", "name"}},
		{"noSection", "a = 1\n", "config", []string{"line 1", "header"}},
		{"badLine", "[s]\n\"quoted words\"\n", "config", []string{"line 2"}},
		{"emptyKey", "[s]\n = 1\n", "config", []string{"line 2", "empty key"}},
		{"duplicateSection", "[s]\n[t]\n[s]\n", "config", []string{"line 3", "[s]"}},
		{"duplicateKey", "[s]\na = 1\nA = 2\n", "config", []string{"line 3", `"a"`}},
		{"invalidUTF8", "[s]\na = ok\nb = \xff\xfe\n", "config", []string{"line 3", "UTF-8"}},
		{"invalidUTF8Key", "[s]\n\xc3\x28 = 1\n", "config", []string{"line 2", "UTF-8"}},
		{"encodedSectionClash", "[a.b]\nx = 1\n[a%2Eb]\ny = 2\n", "config.a%2Eb", []string{"[a.b]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := record.INIFile(writeINI(t, tc.text)).Load()
			var ie *record.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, record.ErrInvalid) {
				t.Fatalf("Load = %v, %v (%T), want an *InvalidError", got, err, err)
			}
			if ie.Path != tc.path {
				t.Errorf("InvalidError.Path = %q, want %q (%v)", ie.Path, tc.path, err)
			}
			for _, s := range append(tc.says, "config.ini") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// With KeepCase, a key written "a%2Eb" takes the name that "a.b" (which
// cannot nest under the value of a) would be stored as.
func TestINIFileEncodedKeyClash(t *testing.T) {
	_, err := record.INI{Path: writeINI(t, "[s]\na = 1\na.b = 2\na%2Eb = 3\n"), KeepCase: true}.Load()
	var ie *record.InvalidError
	if !errors.As(err, &ie) || ie.Path != "config.s.a%2Eb" || !strings.Contains(err.Error(), `"a.b"`) {
		t.Errorf("Load = %v, want an *InvalidError at config.s.a%%2Eb naming \"a.b\"", err)
	}
}

func TestINIFileReadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.ini")
	for _, src := range []record.Source{record.INIFile(missing), record.JSONFile(missing)} {
		_, err := src.Load()
		if !errors.Is(err, record.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%T.Load of a missing file = %v, want ErrNotFound and fs.ErrNotExist", src, err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			t.Errorf("%T.Load: the *fs.PathError is not reachable from %v", src, err)
		}
	}
	dir := t.TempDir()
	for _, src := range []record.Source{record.INIFile(dir), record.JSONFile(dir)} {
		if _, err := src.Load(); !errors.Is(err, record.ErrInvalid) {
			t.Errorf("%T.Load of a directory = %v, want ErrInvalid", src, err)
		}
	}
}

// TestINIFileSourceUpdate stores an INI file through Update, the classic
// rec.update(config), and reads it back.
func TestINIFileSourceUpdate(t *testing.T) {
	st, err := record.Open(t.Context(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(t.Context())
	rec, err := st.Create(t.Context(), "c", record.WithoutHost())
	if err != nil {
		t.Fatal(err)
	}
	text := "[DEFAULT]\nroot = /data\nseed = 7\n[train]\nlr = 1e-3\nout = %(root)s/\"run\" \\ 1\nopt.momentum = 0.9\nopt = sgd\nshuffle = yes\n[model.v2]\nlayers = 3\n"
	if err := rec.Update(t.Context(), record.INIFile(writeINI(t, text))); err != nil {
		t.Fatalf("Update(INIFile): %v", err)
	}
	snap, err := st.Get(t.Context(), "c", rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	got, err := snap.Map("config")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"train": map[string]any{"root": "/data", "seed": int64(7), "lr": 0.001, "out": `/data/"run" \ 1`,
			"opt": "sgd", "opt%2Emomentum": 0.9, "shuffle": true},
		"model%2Ev2": map[string]any{"root": "/data", "seed": int64(7), "layers": int64(3)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored config (-want +got):\n%s", diff)
	}
	if err := rec.Update(t.Context(), record.INIFile(filepath.Join(t.TempDir(), "none.ini"))); !errors.Is(err, record.ErrNotFound) {
		t.Errorf("Update of a missing INI file = %v, want ErrNotFound", err)
	}
}

// TestINIFileRandomMatchesPython compares INI{Text: true} with configparser
// on random files built from fragments that hit its corner cases:
// continuation lines, blank lines inside values, comments, [DEFAULT]
// given twice, interpolation and its errors, case folding, odd delimiters.
func TestINIFileRandomMatchesPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the random comparison with configparser needs it")
	}
	good := []string{
		"[s]", "[t]", "[DEFAULT]", "  [u]", "[v] x", "[w.x]",
		"a = 1", "A: yes", "b = %(a)s/x", "c = %(B)s%%", "f = %(c)s", "g : x = y", "h.i = 2", "h = 3",
		"k=", "  cont", "\tcont2", "    # indented comment", "", "", "# comment", "; comment",
		"x y = \"q\" \\ z", "\x0bv = \x1cw\x1f", "n = %(a)s%(a)s", "m = 1 ; note", "ü = ä", "\u3000o = p",
	}
	bad := []string{"[]", "word", " = v", "d = 50%", "e=%(nope)s", "loop = %(loop)s", "q = %(a)"}
	state := uint64(11)
	next := func(n int) int { // a small LCG: the same files on every run
		state = state*6364136223846793005 + 1442695040888963407
		return int((state >> 33) % uint64(n))
	}
	const files = 1000
	paths := make([]string, files)
	texts := make([]string, files)
	dir := t.TempDir()
	for i := range paths {
		var b strings.Builder
		b.WriteString(good[next(3)] + "\n")
		for range 2 + next(10) {
			if next(20) == 0 {
				b.WriteString(bad[next(len(bad))] + "\n")
			} else {
				b.WriteString(good[next(len(good))] + "\n")
			}
		}
		texts[i] = b.String()
		paths[i] = filepath.Join(dir, fmt.Sprintf("%03d.ini", i))
		if err := os.WriteFile(paths[i], []byte(texts[i]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outb, err := exec.Command(py, append([]string{"-c", pythonINI}, paths...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var results []struct {
		OK    map[string]map[string]string `json:"ok"`
		Error string                       `json:"error"`
	}
	if err := json.Unmarshal(outb, &results); err != nil {
		t.Fatalf("python3 output: %v", err)
	}
	oks := 0
	for i, want := range results {
		got, err := record.INI{Path: paths[i], Text: true}.Load()
		switch {
		case want.Error != "":
			if !errors.Is(err, record.ErrInvalid) {
				t.Errorf("file %q: configparser raised %s; Load = %v, %v", texts[i], want.Error, got, err)
			}
		case err != nil:
			t.Errorf("file %q: Load: %v (configparser read it)", texts[i], err)
		default:
			oks++
			if diff := cmp.Diff(want.OK, flattenINI(t, got["config"].(map[string]any))); diff != "" {
				t.Errorf("file %q: configparser vs INI (-want +got):\n%s", texts[i], diff)
			}
		}
	}
	t.Logf("%d of %d random files were valid INI", oks, files)
	if oks < files/5 {
		t.Errorf("only %d of %d random files were valid: the comparison is too weak", oks, files)
	}
}

// References that multiply (each level repeats the one below 100 times,
// 10^12 bytes in all) fail at once with ErrInvalid instead of exhausting
// memory; configparser would try to build the string.
func TestINIFileInterpolationBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("[s]\na0 = " + strings.Repeat("x", 100) + "\n")
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, "a%d = %s\n", i, strings.Repeat(fmt.Sprintf("%%(a%d)s", i-1), 100))
	}
	start := time.Now()
	_, err := record.INIFile(writeINI(t, b.String())).Load()
	if !errors.Is(err, record.ErrInvalid) || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("Load = %v, want ErrInvalid: interpolated text exceeds the limit", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Load took %v", d)
	}
	if len(err.Error()) > 500 {
		t.Errorf("error message is %d bytes long", len(err.Error()))
	}
	// Many keys, each below the limit, that add up to more than it.
	b.Reset()
	b.WriteString("[s]\nbig = " + strings.Repeat("y", 1<<20) + "\n")
	for i := range 20 {
		fmt.Fprintf(&b, "k%d = %%(big)s\n", i)
	}
	if _, err := record.INIFile(writeINI(t, b.String())).Load(); !errors.Is(err, record.ErrInvalid) {
		t.Errorf("Load of 21 MiB of interpolated text = %v, want ErrInvalid", err)
	}
	// Raw reads the same file without expanding anything.
	if _, err := (record.INI{Path: writeINI(t, b.String()), Raw: true}).Load(); err != nil {
		t.Errorf("Raw Load: %v", err)
	}
}
