package mongo

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/recordlab/go-record/backend"
)

// BSON binary subtypes of the tagged forms. 0x80-0xFF are user-defined in
// the BSON specification; package record never produces binary values, so
// a value of these subtypes is always a tag.
const (
	// subtypeFloat holds the 8 big-endian bytes of an IEEE 754 float64
	// (NaN, ±Inf, -0 on FerretDB).
	subtypeFloat byte = 0x80
	// subtypeArray holds a BSON document {"a": [...]} whose array is an
	// array nested directly inside another array (FerretDB v1 refuses
	// nested arrays).
	subtypeArray byte = 0x81
)

// codec converts record values to BSON and back. With tag set (FerretDB),
// values the server cannot hold natively are stored in their tagged forms;
// without it (MongoDB) every value is stored natively. Decoding accepts
// both forms either way. With keys set (FerretDB), keys are stored in
// their encoded forms (encodeKey) and decoded on reading; the documents
// inside tagged arrays, which the server never parses, keep their keys.
type codec struct {
	tag  bool
	keys bool
}

// key returns the stored form of a record key.
func (c codec) key(k string) string {
	if c.keys {
		return encodeKey(k)
	}
	return k
}

// path returns the dotted path that names path on the server.
func (c codec) path(path []string) string {
	if !c.keys {
		return strings.Join(path, ".")
	}
	var sb strings.Builder
	for i, k := range path {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(encodeKey(k))
	}
	return sb.String()
}

// encodeDoc converts a document to BSON, keys sorted for a stable layout.
func (c codec) encodeDoc(doc map[string]any) bson.D {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d := make(bson.D, 0, len(keys))
	for _, k := range keys {
		d = append(d, bson.E{Key: c.key(k), Value: c.encode(doc[k], false)})
	}
	return d
}

// encode converts one value; inArray says that v is an element of an array.
func (c codec) encode(v any, inArray bool) any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool, int64, string:
		return x
	case float64:
		if c.tag && needsFloatTag(x) {
			return floatTag(x)
		}
		return x
	case time.Time:
		return bson.NewDateTimeFromTime(x)
	case map[string]any:
		return c.encodeDoc(x)
	case []any:
		if c.tag && inArray {
			data, err := bson.Marshal(bson.D{{Key: "a", Value: codec{}.encode(x, false)}})
			if err != nil {
				// Unreachable: every value of the record value model encodes.
				panic(fmt.Sprintf("mongo: encode nested array: %v", err))
			}
			return bson.Binary{Subtype: subtypeArray, Data: data}
		}
		a := make(bson.A, len(x))
		for i, e := range x {
			a[i] = c.encode(e, true)
		}
		return a
	}
	// Package record never passes other types; keep the value so that the
	// driver reports it.
	return v
}

// needsFloatTag reports whether FerretDB v1 cannot store f natively: it
// refuses NaN and ±Inf and loses the sign of -0.
func needsFloatTag(f float64) bool {
	return math.IsNaN(f) || math.IsInf(f, 0) || (f == 0 && math.Signbit(f))
}

func floatTag(f float64) bson.Binary {
	data := make([]byte, 8)
	binary.BigEndian.PutUint64(data, math.Float64bits(f))
	return bson.Binary{Subtype: subtypeFloat, Data: data}
}

// decodeDoc converts a stored document to the record value model, leaving
// out the top-level _id.
func (c codec) decodeDoc(raw bson.Raw, top bool) (map[string]any, error) {
	elems, err := raw.Elements()
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(elems))
	for _, e := range elems {
		k := e.Key()
		if top && k == "_id" {
			continue
		}
		if c.keys {
			k = decodeKey(k)
		}
		v, err := c.decodeValue(e.Value())
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		m[k] = v
	}
	return m, nil
}

func (c codec) decodeArray(raw bson.RawArray) ([]any, error) {
	vals, err := raw.Values()
	if err != nil {
		return nil, err
	}
	a := make([]any, len(vals))
	for i, rv := range vals {
		if a[i], err = c.decodeValue(rv); err != nil {
			return nil, fmt.Errorf("%d: %w", i, err)
		}
	}
	return a, nil
}

// decodeValue converts one BSON value. Types that package record never
// writes (written by other programs) map to the nearest value of the model:
// int32 to int64, ObjectId to its hex string, Decimal128 to its string,
// timestamps to times, anything else to its extended JSON text.
func (c codec) decodeValue(rv bson.RawValue) (any, error) {
	switch rv.Type {
	case bson.TypeNull, bson.TypeUndefined:
		return nil, nil
	case bson.TypeBoolean:
		return rv.Boolean(), nil
	case bson.TypeInt64:
		return rv.Int64(), nil
	case bson.TypeInt32:
		return int64(rv.Int32()), nil
	case bson.TypeDouble:
		return rv.Double(), nil
	case bson.TypeString:
		return rv.StringValue(), nil
	case bson.TypeDateTime:
		return time.UnixMilli(rv.DateTime()).UTC(), nil
	case bson.TypeEmbeddedDocument:
		return c.decodeDoc(rv.Document(), false)
	case bson.TypeArray:
		return c.decodeArray(rv.Array())
	case bson.TypeBinary:
		sub, data := rv.Binary()
		switch {
		case sub == subtypeFloat && len(data) == 8:
			return math.Float64frombits(binary.BigEndian.Uint64(data)), nil
		case sub == subtypeArray:
			inner := bson.Raw(data)
			if err := inner.Validate(); err != nil {
				return nil, fmt.Errorf("tagged array: %w", err)
			}
			av, ok := inner.Lookup("a").ArrayOK()
			if !ok {
				return nil, fmt.Errorf("tagged array without its array: %w", backend.ErrInvalid)
			}
			return codec{}.decodeArray(av) // encoded by codec{}
		}
		return rv.String(), nil
	case bson.TypeObjectID:
		return rv.ObjectID().Hex(), nil
	case bson.TypeDecimal128:
		return rv.Decimal128().String(), nil
	case bson.TypeTimestamp:
		t, _ := rv.Timestamp()
		return time.Unix(int64(t), 0).UTC(), nil
	}
	return rv.String(), nil
}

// storedID is the _id of record id: an ObjectId when id is 24 lower-case
// hex digits (as generated ids are), else the string itself. Upper-case hex
// stays a string so that the id reads back exactly as given.
func storedID(id string) any {
	if len(id) == 24 && isLowerHex(id) {
		if oid, err := bson.ObjectIDFromHex(id); err == nil {
			return oid
		}
	}
	return id
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// idString is the record id of a stored _id.
func idString(rv bson.RawValue) string {
	switch rv.Type {
	case bson.TypeObjectID:
		return rv.ObjectID().Hex()
	case bson.TypeString:
		return rv.StringValue()
	}
	return rv.String()
}
