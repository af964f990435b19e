package record

import (
	"bytes"
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/recordlab/go-record/internal/redact"
)

// Normalize converts a Go value into the stored value model: nil, bool,
// int64, float64, string, time.Time (UTC, milliseconds), []any and
// map[string]any. It accepts every int, uint and float kind, strings,
// slices and arrays, maps with string (or integer) keys, structs (json tags
// honoured, as encoding/json does), pointers, time.Time, json.Marshaler,
// encoding.TextMarshaler and *flag.FlagSet. float32 values keep their
// shortest decimal form (float32(0.1) is stored as 0.1).
//
// Channels, funcs, complex numbers, unsafe pointers, cycles, uint64 above
// math.MaxInt64, strings that are not valid UTF-8 and invalid keys are
// reported as an *InvalidError naming the path.
//
// Secrets in structs and flag sets are redacted, by name and by value, as
// everything record captures (the command line, WithEnv): a field or flag
// whose name says secret (password, passwd, secret, token, api-key,
// apikey, api_key, credential, private-key..., but not token_count,
// max_tokens or keyboard) is stored as "[redacted]" unless it is empty or
// a bool; a string anywhere in them keeps its text with the secrets it
// holds replaced (postgres://user:[redacted]@host/x, a bearer or basic
// credential, a GitHub, Slack, AWS, sk- or JWT token). A struct field
// tagged `record:"secret"` is always redacted, one tagged
// `record:"public"` never (nor anything inside it):
//
//	type Config struct {
//		DSN     string `json:"dsn"`                       // its password redacted
//		Key     string `json:"key" record:"secret"`       // "[redacted]"
//		Example string `json:"example" record:"public"`   // stored as given
//	}
//
// A flag set stores flags that share one variable (-learning_rate and its
// short alias -lr) once, under the longest name. Maps and plain values
// are stored as given.
func Normalize(v any) (any, error) {
	n := normalizer{seen: map[uintptr]bool{}}
	return n.value(reflect.ValueOf(v), "", 0)
}

type normalizer struct {
	seen map[uintptr]bool // pointers, maps and slices on the current path
	// scrub is set inside a struct or a flag set (and not under a field
	// tagged record:"public"): strings there are redacted by value, and
	// map keys that say secret by name.
	scrub bool
	// public is set under a struct field tagged record:"public": nothing
	// there is redacted.
	public bool
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
	flagSetType       = reflect.TypeFor[*flag.FlagSet]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func (n *normalizer) value(v reflect.Value, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, invalid("value", path, fmt.Sprintf("nested deeper than %d levels", maxDepth))
	}
	if !v.IsValid() {
		return nil, nil
	}
	t := v.Type()
	switch {
	case t == timeType:
		tm := v.Interface().(time.Time).UTC().Truncate(time.Millisecond)
		if y := tm.Year(); y < 0 || y > 9999 {
			// RFC 3339, and so every JSON store, writes years 0 to 9999 only.
			return nil, invalid("value", path, fmt.Sprintf("time in year %d: only years 0 to 9999 can be stored", y))
		}
		return tm, nil
	case t == jsonNumberType:
		return n.jsonValue(json.Number(v.String()), path, depth)
	case t == flagSetType:
		if v.IsNil() {
			return nil, nil
		}
		return n.flags(v.Interface().(*flag.FlagSet), path, depth)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		if t.Kind() == reflect.Pointer && t.Elem() == timeType {
			return n.value(v.Elem(), path, depth)
		}
	}
	if t.Kind() != reflect.Interface && t.Implements(jsonMarshalerType) {
		return n.marshaler(v, path, depth)
	}
	if t.Kind() != reflect.Interface && t.Implements(textMarshalerType) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return nil, invalid("value", path, "MarshalText: "+err.Error())
		}
		return n.str(string(b), path)
	}
	switch t.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return nil, invalid("value", path, fmt.Sprintf("unsigned integer %d exceeds the int64 range", u))
		}
		return int64(u), nil
	case reflect.Float32:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return f, nil
		}
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		return f, nil
	case reflect.Float64:
		return v.Float(), nil
	case reflect.String:
		return n.str(v.String(), path)
	case reflect.Interface:
		return n.value(v.Elem(), path, depth)
	case reflect.Pointer:
		ptr := v.Pointer()
		if n.seen[ptr] {
			return nil, invalid("value", path, "cycle: the value contains itself")
		}
		n.seen[ptr] = true
		defer delete(n.seen, ptr)
		return n.value(v.Elem(), path, depth)
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && !v.IsNil() {
			ptr := v.Pointer()
			if v.Len() > 0 && n.seen[ptr] {
				return nil, invalid("value", path, "cycle: the value contains itself")
			}
			n.seen[ptr] = true
			defer delete(n.seen, ptr)
		}
		out := make([]any, v.Len())
		for i := range out {
			e, err := n.value(v.Index(i), path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		return n.mapValue(v, path, depth)
	case reflect.Struct:
		out := map[string]any{}
		if err := n.structFields(v, path, depth, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, invalid("value", path, "a "+t.String()+" cannot be stored")
}

func (n *normalizer) str(s, path string) (any, error) {
	if !utf8.ValidString(s) {
		return nil, invalid("value", path, "string is not valid UTF-8")
	}
	if n.scrub {
		return redact.Text(s), nil
	}
	return s, nil
}

// secretValue returns what is stored for the value of a field or flag
// whose name says secret: the value itself when it is empty (a zero
// number, "", nil, an empty list or object) or a bool, which reveal
// nothing, else redact.Mask.
func secretValue(nv any) any {
	switch x := nv.(type) {
	case nil, bool:
		return nv
	case string:
		if x == "" {
			return x
		}
	case int64:
		if x == 0 {
			return x
		}
	case float64:
		if x == 0 {
			return x
		}
	case []any:
		if len(x) == 0 {
			return x
		}
	case map[string]any:
		if len(x) == 0 {
			return x
		}
	}
	return redact.Mask
}

func (n *normalizer) marshaler(v reflect.Value, path string, depth int) (any, error) {
	b, err := v.Interface().(json.Marshaler).MarshalJSON()
	if err != nil {
		return nil, invalid("value", path, "MarshalJSON: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, invalid("value", path, "MarshalJSON returned bad JSON: "+err.Error())
	}
	return n.jsonValue(raw, path, depth)
}

// jsonValue normalizes a value decoded by encoding/json with UseNumber.
func (n *normalizer) jsonValue(raw any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, invalid("value", path, fmt.Sprintf("nested deeper than %d levels", maxDepth))
	}
	switch x := raw.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i, nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, invalid("value", path, "number "+s+" is out of range")
		}
		return f, nil
	case []any:
		for i, e := range x {
			c, err := n.jsonValue(e, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			if err := validKey(k, path); err != nil {
				return nil, err
			}
			c, err := n.jsonValue(e, joinPath(path, k), depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	case string:
		return n.str(x, path)
	}
	return raw, nil // nil, bool
}

func (n *normalizer) mapValue(v reflect.Value, path string, depth int) (any, error) {
	if v.IsNil() {
		return map[string]any{}, nil
	}
	ptr := v.Pointer()
	if n.seen[ptr] {
		return nil, invalid("value", path, "cycle: the value contains itself")
	}
	n.seen[ptr] = true
	defer delete(n.seen, ptr)
	out := make(map[string]any, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		k, err := mapKey(iter.Key(), path)
		if err != nil {
			return nil, err
		}
		if err := validKey(k, path); err != nil {
			return nil, err
		}
		e, err := n.value(iter.Value(), joinPath(path, k), depth+1)
		if err != nil {
			return nil, err
		}
		if n.scrub && redact.Name(k) {
			e = secretValue(e)
		}
		out[k] = e
	}
	return out, nil
}

func mapKey(k reflect.Value, path string) (string, error) {
	switch k.Kind() {
	case reflect.String:
		return k.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		b, err := tm.MarshalText()
		if err != nil {
			return "", invalid("key", path, "MarshalText: "+err.Error())
		}
		return string(b), nil
	}
	return "", invalid("key", path, "map keys of type "+k.Type().String()+" cannot be stored")
}

// structFields adds v's exported fields to out following encoding/json's
// rules: json tag names, "-", omitempty, and embedded structs flattened.
// Secrets are redacted: the value of a field whose name (json or Go) says
// secret (see redact.Name) or that is tagged record:"secret" is stored as
// "[redacted]", and the strings of the other fields are redacted by value
// (redact.Text), except under a field tagged record:"public".
func (n *normalizer) structFields(v reflect.Value, path string, depth int, out map[string]any) error {
	tags := recordTags(v.Type())
	scrub, public := n.scrub, n.public
	defer func() { n.scrub, n.public = scrub, public }()
	for f := range jsonFields(v, false) {
		if hasOpt(f.opts, "omitempty") && isEmpty(f.v) || hasOpt(f.opts, "omitzero") && f.v.IsZero() {
			continue
		}
		if err := validKey(f.name, path); err != nil {
			return err
		}
		tag := tags[f.name]
		n.public = public || tag.tag == "public"
		n.scrub = !n.public
		e, err := n.value(f.v, joinPath(path, f.name), depth+1)
		if err != nil {
			return err
		}
		if tag.tag == "secret" || !n.public && (redact.Name(f.name) || redact.Name(tag.goName)) {
			e = secretValue(e)
		}
		if hasOpt(f.opts, "string") {
			switch e.(type) {
			case bool, int64, float64:
				e = fmt.Sprint(e)
			}
		}
		out[f.name] = e
	}
	return nil
}

// fieldTag is a struct field's Go name and record tag ("secret",
// "public" or "").
type fieldTag struct{ goName, tag string }

var recordTagCache sync.Map // reflect.Type -> map[string]fieldTag

// recordTags returns the Go name and record tag of each field of the
// struct type t under the name jsonFields gives it, embedded structs
// flattened as jsonFields flattens them.
func recordTags(t reflect.Type) map[string]fieldTag {
	if m, ok := recordTagCache.Load(t); ok {
		return m.(map[string]fieldTag)
	}
	m := map[string]fieldTag{}
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct && ft != timeType && !ft.Implements(jsonMarshalerType) {
					if depth < maxDepth {
						walk(ft, depth+1)
					}
					continue
				}
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := m[name]; !dup {
				m[name] = fieldTag{goName: f.Name, tag: strings.TrimSpace(f.Tag.Get("record"))}
			}
		}
	}
	walk(t, 0)
	recordTagCache.Store(t, m)
	return m
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// isEmpty is encoding/json's definition of empty for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// flags returns every flag of fs with its typed value (flag.Getter), keyed
// by name; dotted flag names ("train.lr") become nested objects. Flags
// that share one variable (a long and a short name, -learning_rate and
// -lr, whose flag.Value is the same pointer) are stored once, under the
// longest name (the first in sorted order among names of one length).
// Secrets are redacted: the value of a flag whose name, or an alias's,
// says secret (see redact.Name) is stored as "[redacted]" unless it is
// empty or a bool, and strings are redacted by value (redact.Text).
func (n *normalizer) flags(fs *flag.FlagSet, path string, depth int) (any, error) {
	out := map[string]any{}
	var err error
	scrub := n.scrub
	n.scrub = !n.public
	defer func() { n.scrub = scrub }()
	aliases := flagAliases(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		names, shared := aliases[f.Name]
		if shared && names[0] != f.Name {
			return // stored under its longest alias
		}
		var val any = f.Value.String()
		if g, ok := f.Value.(flag.Getter); ok {
			val = g.Get()
		}
		keys := strings.Split(f.Name, ".")
		var nv any
		if nv, err = n.value(reflect.ValueOf(val), joinPath(path, f.Name), depth+len(keys)); err != nil {
			return
		}
		secret := redact.Name(f.Name)
		for _, a := range names {
			secret = secret || redact.Name(a)
		}
		if secret && !n.public {
			nv = secretValue(nv)
		}
		cur := out
		parent := path
		for i, k := range keys {
			if err = validKey(k, parent); err != nil {
				return
			}
			parent = joinPath(parent, k)
			if i == len(keys)-1 {
				if _, clash := cur[k]; clash {
					err = invalid("key", parent, "flag name clashes with another flag's nested name")
					return
				}
				cur[k] = nv
				return
			}
			next, ok := cur[k].(map[string]any)
			if !ok {
				if _, clash := cur[k]; clash {
					err = invalid("key", parent, "flag name clashes with another flag's nested name")
					return
				}
				next = map[string]any{}
				cur[k] = next
			}
			cur = next
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// flagAliases returns, for each flag of fs that shares its flag.Value (the
// same pointer) with others, the names of all of them, longest first
// (ties in sorted order).
func flagAliases(fs *flag.FlagSet) map[string][]string {
	type key struct {
		t reflect.Type
		p uintptr
	}
	groups := map[key][]string{}
	fs.VisitAll(func(f *flag.Flag) {
		rv := reflect.ValueOf(f.Value)
		if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Type().Elem().Size() == 0 {
			return // not comparable by address: stored on its own
		}
		k := key{rv.Type(), rv.Pointer()}
		groups[k] = append(groups[k], f.Name)
	})
	out := map[string][]string{}
	for _, names := range groups {
		if len(names) < 2 {
			continue
		}
		slices.SortFunc(names, func(a, b string) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return strings.Compare(a, b)
		})
		for _, nm := range names {
			out[nm] = names
		}
	}
	return out
}

// reservedFlagError returns an *InvalidError for the first flag of fs
// whose name (or the first part of a dotted name) is a field the record
// keeps for itself (id, status, error, ...), naming the flag and the way
// out, or nil. Update of a flag set at the top level calls it.
func reservedFlagError(fs *flag.FlagSet) error {
	var err error
	aliases := flagAliases(fs)
	fs.VisitAll(func(f *flag.Flag) {
		if names, ok := aliases[f.Name]; err != nil || ok && names[0] != f.Name {
			return
		}
		first, _, _ := strings.Cut(f.Name, ".")
		if slices.Contains(reserved, first) {
			err = invalid("key", f.Name, fmt.Sprintf(
				"flag -%s: %q is reserved for the record's own use, so Update cannot store it at the top level; "+
					"store the flags under a key instead, as in rec.UpdateAt(ctx, \"flags\", fs), or rename the flag",
				f.Name, first))
		}
	})
	return err
}
