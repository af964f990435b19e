package record

import (
	"iter"
	"reflect"
	"strings"
)

// jsonField is a field of a struct under the name encoding/json gives it.
type jsonField struct {
	name string        // the json tag's name, or the Go name
	opts string        // the tag's options after the name: "omitempty,string"...
	v    reflect.Value // the field's value
}

// jsonFields yields the exported fields of the struct v the way
// encoding/json sees them, for Normalize (v read) and Decode (v written):
// "-" skipped, tag names honoured, embedded structs without a tag name
// flattened (not time.Time or a json.Marshaler). A nil embedded pointer
// is skipped, or with alloc set (Decode) allocated first.
func jsonFields(v reflect.Value, alloc bool) iter.Seq[jsonField] {
	return func(yield func(jsonField) bool) {
		walkJSONFields(v, alloc, yield)
	}
}

func walkJSONFields(v reflect.Value, alloc bool, yield func(jsonField) bool) bool {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != timeType && !ft.Implements(jsonMarshalerType) {
				if f.Type.Kind() == reflect.Pointer {
					if fv.IsNil() {
						if !alloc || !f.IsExported() {
							continue
						}
						fv.Set(reflect.New(ft))
					}
					fv = fv.Elem()
				}
				if !walkJSONFields(fv, alloc, yield) {
					return false
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !yield(jsonField{name: name, opts: opts, v: fv}) {
			return false
		}
	}
	return true
}
