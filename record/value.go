package record

import (
	"bytes"
	"encoding"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
func Normalize(v any) (any, error) {
	n := normalizer{seen: map[uintptr]bool{}}
	return n.value(reflect.ValueOf(v), "", 0)
}

type normalizer struct {
	seen map[uintptr]bool // pointers, maps and slices on the current path
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
	return s, nil
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
func (n *normalizer) structFields(v reflect.Value, path string, depth int, out map[string]any) error {
	for f := range jsonFields(v, false) {
		if hasOpt(f.opts, "omitempty") && isEmpty(f.v) || hasOpt(f.opts, "omitzero") && f.v.IsZero() {
			continue
		}
		if err := validKey(f.name, path); err != nil {
			return err
		}
		e, err := n.value(f.v, joinPath(path, f.name), depth+1)
		if err != nil {
			return err
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
// by name; dotted flag names ("train.lr") become nested objects.
func (n *normalizer) flags(fs *flag.FlagSet, path string, depth int) (any, error) {
	out := map[string]any{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
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
