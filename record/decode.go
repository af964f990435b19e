package record

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/recordlab/go-record/internal/docops"
)

// Decode stores the value at the dotted path ("" for the whole document)
// into dst, which must be a non-nil pointer: the mirror of Update and
// UpdateAt. Structs are filled by their json tags as Normalize reads
// them (embedded structs flattened, fields the document lacks left as
// they are, document fields the struct lacks ignored); numbers convert to
// any int, uint or float kind when the value fits exactly; time.Time,
// []T, [N]T, map[string]T, pointers, any, and encoding.TextUnmarshaler
// (from a string) are filled as expected. A value that does not fit is an
// *InvalidError naming its path, and dst may then be partly filled.
func (s *Snapshot) Decode(path string, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return invalid("value", path, fmt.Sprintf("Decode needs a non-nil pointer, not %T", dst))
	}
	var src any = s.doc
	if path != "" {
		var err error
		if src, err = s.lookup(path); err != nil {
			return err
		}
	}
	return decodeValue(src, v.Elem(), path)
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func decodeValue(src any, dst reflect.Value, path string) error {
	if dst.CanAddr() && dst.Kind() != reflect.Interface && reflect.PointerTo(dst.Type()).Implements(textUnmarshalerType) && dst.Type() != timeType {
		if str, ok := src.(string); ok {
			if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(str)); err != nil {
				return invalid("value", path, err.Error())
			}
			return nil
		}
	}
	if src == nil {
		switch dst.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			dst.SetZero()
			return nil
		}
		return decodeMismatch(src, dst, path)
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return decodeValue(src, dst.Elem(), path)
	case reflect.Interface:
		if dst.NumMethod() != 0 {
			return decodeMismatch(src, dst, path)
		}
		dst.Set(reflect.ValueOf(docops.Copy(src)))
		return nil
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return decodeMismatch(src, dst, path)
		}
		dst.SetBool(b)
		return nil
	case reflect.String:
		str, ok := src.(string)
		if !ok {
			return decodeMismatch(src, dst, path)
		}
		dst.SetString(str)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := exactInt(src)
		if !ok || dst.OverflowInt(i) {
			return decodeMismatch(src, dst, path)
		}
		dst.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		i, ok := exactInt(src)
		if !ok || i < 0 || dst.OverflowUint(uint64(i)) {
			return decodeMismatch(src, dst, path)
		}
		dst.SetUint(uint64(i))
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := src.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			return decodeMismatch(src, dst, path)
		}
		if dst.Kind() == reflect.Float32 && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) > math.MaxFloat32 {
			return decodeMismatch(src, dst, path)
		}
		dst.SetFloat(f)
		return nil
	case reflect.Struct:
		if dst.Type() == timeType {
			t, ok := src.(time.Time)
			if !ok {
				return decodeMismatch(src, dst, path)
			}
			dst.Set(reflect.ValueOf(t))
			return nil
		}
		m, ok := src.(map[string]any)
		if !ok {
			return decodeMismatch(src, dst, path)
		}
		return decodeStruct(m, dst, path)
	case reflect.Slice, reflect.Array:
		arr, ok := src.([]any)
		if !ok {
			return decodeMismatch(src, dst, path)
		}
		if dst.Kind() == reflect.Array {
			if len(arr) != dst.Len() {
				return invalid("value", path, fmt.Sprintf("has %d elements, %s holds %d", len(arr), dst.Type(), dst.Len()))
			}
		} else {
			dst.Set(reflect.MakeSlice(dst.Type(), len(arr), len(arr)))
		}
		for i, e := range arr {
			if err := decodeValue(e, dst.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok || dst.Type().Key().Kind() != reflect.String {
			return decodeMismatch(src, dst, path)
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(dst.Type(), len(m)))
		}
		for k, e := range m {
			ev := reflect.New(dst.Type().Elem()).Elem()
			if err := decodeValue(e, ev, joinPath(path, k)); err != nil {
				return err
			}
			dst.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), ev)
		}
		return nil
	}
	return decodeMismatch(src, dst, path)
}

// decodeStruct fills the fields of dst from m, by the names Normalize
// gives them.
func decodeStruct(m map[string]any, dst reflect.Value, path string) error {
	for f := range jsonFields(dst, true) {
		e, ok := m[f.name]
		if !ok {
			continue
		}
		p := joinPath(path, f.name)
		if str, isStr := e.(string); isStr && hasOpt(f.opts, "string") {
			var err error
			if e, err = fromQuoted(str, f.v.Kind()); err != nil {
				return invalid("value", p, err.Error())
			}
		}
		if err := decodeValue(e, f.v, p); err != nil {
			return err
		}
	}
	return nil
}

// fromQuoted reads the value of a field tagged ",string" from its text.
func fromQuoted(s string, k reflect.Kind) (any, error) {
	switch k {
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errors.New("want a bool in a string")
		}
		return b, nil
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errors.New("want a number in a string")
		}
		return x, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errors.New("want an integer in a string")
		}
		return x, nil
	}
	return s, nil
}

// exactInt returns v as an int64 when it is an integer, or a float with
// no fraction inside int64's range.
func exactInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && x >= -0x1p63 && x < 0x1p63 {
			return int64(x), true
		}
	}
	return 0, false
}

func decodeMismatch(src any, dst reflect.Value, path string) error {
	what := fmt.Sprintf("%T", src)
	switch x := src.(type) {
	case nil:
		what = "null"
	case float64, int64:
		what = fmt.Sprintf("%v (%T)", x, x)
	}
	return invalid("value", path, fmt.Sprintf("%s does not fit in %s", what, dst.Type()))
}
