package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Source produces fields from outside the program, such as a config
// file. Update calls Load and stores the fields it returns.
type Source interface {
	Load() (map[string]any, error)
}

// INIFile returns a Source that reads an INI config file the way Python's
// configparser.ConfigParser() with its default settings does, and yields
// its sections under "config", as the classic record did: the key lr of
// section [train] is stored at config.train.lr. It is INI{Path: path};
// see INI for the rules and for the options.
func INIFile(path string) Source { return INI{Path: path} }

// INI is a Source that reads the INI file at Path. Its zero options follow
// Python 3's configparser.ConfigParser() defaults, so a file yields what
// {s: dict(cp[s]) for s in cp.sections()} yields in Python, then typed:
//
//   - Syntax: "[name]" starts a section (names are case-sensitive); "key = value"
//     and "key: value" set an option (the first '=' or ':' splits); lines whose
//     first non-blank character is '#' or ';' are comments; a value continues
//     on the following lines that are indented deeper than its key, and
//     blank lines inside it are kept (trailing ones are dropped). Inline
//     comments are not stripped ("a = 1 ; x" is "1 ; x"), as in
//     configparser, unless InlineCommentPrefixes says so. Lines end with
//     "\n", "\r\n" or "\r"; a leading UTF-8 byte order mark is ignored.
//   - Errors, as configparser raises them: an option before the first
//     section header, a line that is neither a header nor an option, an
//     empty key, a section given twice ([DEFAULT] excepted) and a key given
//     twice in one section. The file must be UTF-8. Each is an
//     *InvalidError (errors.Is(err, ErrInvalid)) naming the file and line.
//     A missing file matches ErrNotFound; other read errors ErrInvalid;
//     the os error stays reachable with errors.Is/As.
//   - [DEFAULT]: its keys are inherited by every section, where the
//     section's own value wins. DEFAULT itself is not stored as a section,
//     unless KeepDefault is set or the file has no other section (so that
//     its keys are never silently dropped).
//   - Interpolation (configparser's BasicInterpolation): "%(name)s" is
//     replaced by the value of name in the same section or in [DEFAULT],
//     itself interpolated, at most 10 levels deep (MAX_INTERPOLATION_DEPTH);
//     "%%" is a '%'. Any other '%', a missing name or a deeper chain (a
//     loop) is an *InvalidError naming the section and the key, and so is
//     interpolated text of more than 16 MiB in a file (references that
//     multiply, which configparser would try to expand). Raw turns
//     interpolation off, as RawConfigParser does.
//   - Keys are lower-cased, as configparser's optionxform does (Go's
//     strings.ToLower, which differs from Python's str.lower only for rare
//     special casings such as U+0130 and final sigma); KeepCase keeps them.
//     Names in "%(name)s" are folded the same way.
//   - Types (configparser itself keeps text; Text keeps it too): yes, true,
//     on and no, false, off in any case become bool; a decimal integer
//     without leading zeros ("0", "-12", "+7") that fits int64 becomes
//     int64, so "1" and "0" stay numbers; a decimal with a point or an
//     exponent ("0.001", ".5", "1e-3") becomes float64 when it is finite and
//     does not underflow to zero. Everything else stays a string, exactly
//     as written: "007", "1_000", "0x10", "nan", "inf", integers beyond
//     int64, quotes, backslashes, empty values and multi-line values.
//   - Dotted names: a key "opt.lr" is nested, stored at config.<section>.opt.lr,
//     as flag names are. A dotted key that cannot nest (its path runs into
//     another key's value, as with "a = 1" beside "a.b = 2"; an empty part,
//     as in "a..b"; a part starting with '$'; more than 90 parts) is stored
//     whole, at the section's top level, with '%' written as "%25", '.' as
//     "%2E", NUL as "%00" and a leading '$' as "%24": config.<section>."a%2Eb".
//     Keys nest shortest first, then in byte order, so the rule does not
//     depend on the order in the file: the plain key keeps its name. A
//     section name is never nested; one that is not a valid key
//     ("[model.v2]") is stored encoded the same way ("model%2Ev2"). Only
//     when an encoded name equals another name is the file refused.
type INI struct {
	// Path is the file to read.
	Path string
	// KeepCase keeps the case of keys (configparser: optionxform = str).
	KeepCase bool
	// Raw turns off "%(name)s" interpolation (configparser:
	// RawConfigParser, or interpolation=None).
	Raw bool
	// Text keeps every value a string, as configparser returns it.
	Text bool
	// KeepDefault also stores [DEFAULT] as config.DEFAULT.
	KeepDefault bool
	// InlineCommentPrefixes, such as []string{";", "#"}, strip a comment
	// that starts with one of them after whitespace on any line
	// (configparser's inline_comment_prefixes; default none).
	InlineCommentPrefixes []string
}

// Load reads and parses the file; see INI.
func (c INI) Load() (map[string]any, error) {
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return nil, readError("INI", c.Path, err)
	}
	f, err := c.parse(string(b))
	if err != nil {
		return nil, err
	}
	return c.build(f)
}

// readError classifies a failure to read a source file: a missing file is
// ErrNotFound, anything else ErrInvalid; the os error stays reachable.
func readError(kind, path string, err error) error {
	class := ErrInvalid
	if errors.Is(err, fs.ErrNotExist) {
		class = ErrNotFound
	}
	return fmt.Errorf("record: read %s file %q: %w: %w", kind, path, class, err)
}

const (
	iniDefault     = "DEFAULT"
	iniMaxDepth    = 10 // configparser.MAX_INTERPOLATION_DEPTH
	iniMaxKeyParts = 90 // below maxDepth, leaving room for config, section and a prefix
	// iniMaxText bounds the interpolated text of a whole file (MongoDB's
	// document limit), so that references that multiply ("billion
	// laughs") fail at once instead of exhausting memory.
	iniMaxText       = 16 << 20
	iniConfigField   = "config"
	iniCommentMarks  = "#;"
	iniNoOption      = ""
	iniSyntaxProblem = "value"
)

// iniFile is a parsed file: option values as raw text, before
// interpolation. Keys are already folded.
type iniFile struct {
	defaults map[string]string
	sections map[string]map[string]string
}

func (c INI) syntaxError(line int, reason string) error {
	return &InvalidError{What: iniSyntaxProblem, Path: iniConfigField,
		Reason: fmt.Sprintf("INI file %q line %d: %s", c.Path, line, reason)}
}

func (c INI) fold(key string) string {
	if c.KeepCase {
		return key
	}
	return strings.ToLower(key)
}

// pyIsSpace is Python's str.isspace for one character: Go's unicode.IsSpace
// plus the information separators U+001C to U+001F.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// parse follows configparser.RawConfigParser._read with the default
// settings (strict, empty_lines_in_values, no valueless options).
func (c INI) parse(text string) (*iniFile, error) {
	text = strings.TrimPrefix(text, "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	defaults := map[string][]string{}
	sections := map[string]map[string][]string{}
	seen := map[[2]string]bool{}
	var (
		cur    map[string][]string // nil before the first header
		sect   string
		opt    = iniNoOption
		indent int
	)
	for i, line := range strings.Split(text, "\n") {
		lineno := i + 1
		if !utf8.ValidString(line) {
			return nil, c.syntaxError(lineno, "not valid UTF-8")
		}
		cs := c.inlineComment(line)
		trimmed := pyStrip(line)
		for _, p := range iniCommentMarks {
			if strings.HasPrefix(trimmed, string(p)) {
				cs = 0
				break
			}
		}
		v := line
		if cs >= 0 {
			v = line[:cs]
		}
		v = pyStrip(v)
		if v == "" {
			if cs < 0 && cur != nil && opt != iniNoOption {
				cur[opt] = append(cur[opt], "")
			}
			continue
		}
		ind := utf8.RuneCountInString(line) - utf8.RuneCountInString(strings.TrimLeftFunc(line, pyIsSpace))
		if cur != nil && opt != iniNoOption && ind > indent {
			cur[opt] = append(cur[opt], v)
			continue
		}
		indent = ind
		if j := strings.LastIndexByte(v, ']'); v[0] == '[' && j >= 2 {
			sect = v[1:j]
			if sect == iniDefault {
				cur = defaults
			} else {
				if _, dup := sections[sect]; dup {
					return nil, c.syntaxError(lineno, fmt.Sprintf("section [%s] already exists", sect))
				}
				cur = map[string][]string{}
				sections[sect] = cur
			}
			opt = iniNoOption
			continue
		}
		if cur == nil {
			return nil, c.syntaxError(lineno, "an option before the first [section] header")
		}
		d := strings.IndexAny(v, "=:")
		if d < 0 {
			return nil, c.syntaxError(lineno, "neither a [section] header nor a key = value option")
		}
		key := c.fold(strings.TrimRightFunc(v[:d], pyIsSpace))
		if key == "" {
			return nil, c.syntaxError(lineno, "an option with an empty key")
		}
		if seen[[2]string{sect, key}] {
			return nil, c.syntaxError(lineno, fmt.Sprintf("key %q already exists in section [%s]", key, sect))
		}
		seen[[2]string{sect, key}] = true
		cur[key] = []string{pyStrip(v[d+1:])}
		opt = key
	}
	join := func(m map[string][]string) map[string]string {
		out := make(map[string]string, len(m))
		for k, lines := range m {
			out[k] = strings.TrimRightFunc(strings.Join(lines, "\n"), pyIsSpace)
		}
		return out
	}
	f := &iniFile{defaults: join(defaults), sections: map[string]map[string]string{}}
	for name, m := range sections {
		f.sections[name] = join(m)
	}
	return f, nil
}

// inlineComment returns where an inline comment starts in line, or -1,
// exactly as configparser's round-by-round search does.
func (c INI) inlineComment(line string) int {
	type mark struct {
		prefix string
		at     int
	}
	var marks []mark
	for _, p := range c.InlineCommentPrefixes {
		if p != "" {
			marks = append(marks, mark{p, -1})
		}
	}
	start := -1
	for start < 0 && len(marks) > 0 {
		var next []mark
		for _, m := range marks {
			from := m.at + 1
			if m.at >= 0 {
				_, size := utf8.DecodeRuneInString(line[m.at:])
				from = m.at + size
			}
			j := strings.Index(line[from:], m.prefix)
			if j < 0 {
				continue
			}
			j += from
			next = append(next, mark{m.prefix, j})
			prev, _ := utf8.DecodeLastRuneInString(line[:j])
			if j == 0 || pyIsSpace(prev) {
				if start < 0 || j < start {
					start = j
				}
			}
		}
		marks = next
	}
	return start
}

// build interpolates, types and nests the parsed file.
func (c INI) build(f *iniFile) (map[string]any, error) {
	config := map[string]any{}
	names := make([]string, 0, len(f.sections)+1)
	for name := range f.sections {
		names = append(names, name)
	}
	sort.Strings(names)
	if c.KeepDefault || len(names) == 0 {
		names = append(names, iniDefault)
	}
	budget := iniMaxText
	for _, name := range names {
		unified := make(map[string]string, len(f.defaults))
		for k, v := range f.defaults {
			unified[k] = v
		}
		for k, v := range f.sections[name] {
			unified[k] = v
		}
		if len(names) == 1 && name == iniDefault && len(unified) == 0 {
			break // an empty file
		}
		keys := make([]string, 0, len(unified))
		for k := range unified {
			keys = append(keys, k)
		}
		sort.Strings(keys) // the same error for the same file, every time
		values := make(map[string]any, len(unified))
		for _, k := range keys {
			raw := unified[k]
			s := raw
			if !c.Raw {
				var sb strings.Builder
				if err := c.interpolate(&sb, name, k, raw, unified, 1, budget); err != nil {
					return nil, err
				}
				s = sb.String()
				if len(s) > budget {
					return nil, invalid("value", iniConfigField+"."+name+"."+k,
						fmt.Sprintf("INI file %q, section [%s], key %q: interpolated text exceeds %d bytes", c.Path, name, k, iniMaxText))
				}
				budget -= len(s)
			}
			if c.Text {
				values[k] = s
			} else {
				values[k] = iniValue(s)
			}
		}
		nested, err := nestKeys(name, values)
		if err != nil {
			return nil, err
		}
		stored := name
		if validKey(name, "") != nil {
			stored = encodeKey(name)
		}
		if _, clash := config[stored]; clash {
			return nil, invalid("key", iniConfigField+"."+stored, fmt.Sprintf("INI file %q: section [%s] is stored as %q, which another section already uses", c.Path, name, stored))
		}
		config[stored] = nested
	}
	return map[string]any{iniConfigField: config}, nil
}

// interpolate follows configparser.BasicInterpolation._interpolate_some.
// The text written to sb may not exceed limit bytes.
func (c INI) interpolate(sb *strings.Builder, sect, key, rest string, m map[string]string, depth, limit int) error {
	fail := func(reason string) error {
		return invalid("value", iniConfigField+"."+sect+"."+key,
			fmt.Sprintf("INI file %q, section [%s], key %q: %s", c.Path, sect, key, reason))
	}
	if depth > iniMaxDepth {
		return fail(fmt.Sprintf("%%(name)s references nested deeper than %d levels (a loop?)", iniMaxDepth))
	}
	for rest != "" {
		if sb.Len() > limit {
			return fail(fmt.Sprintf("interpolated text exceeds %d bytes", iniMaxText))
		}
		p := strings.IndexByte(rest, '%')
		if p < 0 {
			sb.WriteString(rest)
			return nil
		}
		sb.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "%%"):
			sb.WriteByte('%')
			rest = rest[2:]
		case strings.HasPrefix(rest, "%("):
			e := strings.IndexByte(rest[2:], ')')
			if e <= 0 || !strings.HasPrefix(rest[2+e+1:], "s") {
				return fail(fmt.Sprintf("bad interpolation reference %q: want %%(name)s", clip(rest)))
			}
			name := c.fold(rest[2 : 2+e])
			rest = rest[2+e+2:]
			v, ok := m[name]
			if !ok {
				return fail(fmt.Sprintf("%%(%s)s refers to a key that is neither in section [%s] nor in [DEFAULT]", name, sect))
			}
			if strings.Contains(v, "%") {
				if err := c.interpolate(sb, sect, key, v, m, depth+1, limit); err != nil {
					return err
				}
			} else {
				sb.WriteString(v)
			}
		default:
			return fail(fmt.Sprintf("'%%' must be followed by '%%' or '(', found %q (write %%%% for a '%%')", clip(rest)))
		}
	}
	return nil
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	const most = 40
	if len(s) <= most {
		return s
	}
	i := most
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

var (
	iniIntRe   = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)$`)
	iniFloatRe = regexp.MustCompile(`^[+-]?(([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)$`)
)

// iniValue types INI text; see INI.
func iniValue(s string) any {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true
	case "no", "false", "off":
		return false
	}
	if iniIntRe.MatchString(s) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		return s
	}
	if iniFloatRe.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return s
		}
		if f == 0 {
			mant, _, _ := strings.Cut(strings.ToLower(s), "e")
			if strings.ContainsAny(mant, "123456789") {
				return s // underflow: the text is not zero
			}
		}
		return f
	}
	return s
}

// nestKeys nests dotted keys of one section; see INI.
func nestKeys(sect string, values map[string]any) (map[string]any, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	parts := func(k string) int { return strings.Count(k, ".") + 1 }
	sort.Slice(keys, func(i, j int) bool {
		if pi, pj := parts(keys[i]), parts(keys[j]); pi != pj {
			return pi < pj
		}
		return keys[i] < keys[j]
	})
	out := map[string]any{}
	for _, k := range keys {
		if placeNested(out, k, values[k]) {
			continue
		}
		e := encodeKey(k)
		if _, clash := out[e]; clash {
			return nil, invalid("key", iniConfigField+"."+sect+"."+e,
				fmt.Sprintf("INI key %q of section [%s] cannot nest, and its encoded name is taken", k, sect))
		}
		out[e] = values[k]
	}
	return out, nil
}

// placeNested stores v at the dotted key k inside m and reports whether it
// could: every part is a valid key and the path is free.
func placeNested(m map[string]any, k string, v any) bool {
	ps := strings.Split(k, ".")
	if len(ps) > iniMaxKeyParts {
		return false
	}
	for _, p := range ps {
		if validKey(p, "") != nil {
			return false
		}
	}
	cur := m
	for _, p := range ps[:len(ps)-1] {
		next, exists := cur[p]
		if !exists {
			nm := map[string]any{}
			cur[p] = nm
			cur = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return false
		}
		cur = nm
	}
	last := ps[len(ps)-1]
	if _, taken := cur[last]; taken {
		return false
	}
	cur[last] = v
	return true
}

// encodeKey writes a name as one valid key: '%' as %25, '.' as %2E, NUL as
// %00 and a leading '$' as %24.
func encodeKey(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '%':
			b.WriteString("%25")
		case r == '.':
			b.WriteString("%2E")
		case r == 0:
			b.WriteString("%00")
		case r == '$' && i == 0:
			b.WriteString("%24")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// JSONFile returns a Source that reads a JSON object from a file; its
// fields are stored at the top level (or under the key given to Update).
// Numbers keep their form: 10 is an int64, 10.0 a float64. A missing file
// matches ErrNotFound, a file that is not a JSON object ErrInvalid.
func JSONFile(path string) Source { return jsonSource(path) }

type jsonSource string

func (p jsonSource) Load() (map[string]any, error) {
	b, err := os.ReadFile(string(p))
	if err != nil {
		return nil, readError("JSON", string(p), err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("record: JSON file %s: %w: %w", p, ErrInvalid, err)
	}
	return m, nil
}
