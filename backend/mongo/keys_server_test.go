package mongo_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/recordlab/go-record/backend"
	recmongo "github.com/recordlab/go-record/backend/mongo"
)

// TestKeysStoredForm: on FerretDB a key it cannot hold is stored in its
// escaped form and an ordinary key as it is; on MongoDB every key is
// stored as it is. Either way the record reads back exactly, and a
// document another program wrote with such stored keys reads decoded.
func TestKeysStoredForm(t *testing.T) {
	ctx := context.Background()
	b, err := recmongo.Open(ctx, newDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	doc := map[string]any{`both\"`: int64(1), "plain key": int64(2), " ": map[string]any{"word$": int64(3)}}
	if err := b.Insert(ctx, "c", "r", doc); err != nil {
		t.Fatal(err)
	}
	raw, err := b.Client().Database(b.Database()).Collection("c").FindOne(ctx, bson.D{{Key: "_id", Value: "r"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := bson.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	delete(stored, "_id")
	want := map[string]any{`both\"`: int64(1), "plain key": int64(2), " ": map[string]any{"word$": int64(3)}}
	if b.FerretDB() {
		want = map[string]any{"both␛005C␛0022": int64(1), "plain key": int64(2), "␛0020": map[string]any{"word␛0024": int64(3)}}
	}
	if !equalDocs(stored, want) {
		t.Fatalf("stored document = %#v, want %#v", stored, want)
	}
	got, err := b.Get(ctx, "c", "r")
	if err != nil {
		t.Fatal(err)
	}
	if !equalDocs(got, doc) {
		t.Fatalf("Get = %#v, want %#v", got, doc)
	}
	if !b.FerretDB() {
		return
	}
	// Written by another program in the stored form, with a stray escape.
	_, err = b.Client().Database(b.Database()).Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "o"}, {Key: "a␛0022b", Value: int64(1)}, {Key: "stray␛", Value: int64(2)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = b.Get(ctx, "c", "o")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{`a"b`: int64(1), "stray␛": int64(2)}; !equalDocs(got, want) {
		t.Fatalf("Get = %#v, want %#v", got, want)
	}
	var n int
	for it, err := range b.List(ctx, "c", backend.Query{Where: []backend.Cond{{Path: []string{`a"b`}, Cmp: backend.Eq, Value: int64(1)}}}) {
		if err != nil {
			t.Fatal(err)
		}
		if it.ID != "o" {
			t.Fatalf("List where a\"b = 1 yielded %q", it.ID)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("List where a\"b = 1 yielded %d records, want 1", n)
	}
}

// equalDocs compares documents of int64s and sub-documents (bson.Unmarshal
// gives bson.D-free maps here: map[string]any).
func equalDocs(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		vm, vIs := asMap(v)
		wm, wIs := asMap(w)
		switch {
		case vIs && wIs:
			if !equalDocs(vm, wm) {
				return false
			}
		case vIs || wIs:
			return false
		case v != w:
			return false
		}
	}
	return true
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case bson.M:
		return m, true
	case bson.D:
		out := map[string]any{}
		for _, e := range m {
			out[e.Key] = e.Value
		}
		return out, true
	}
	return nil, false
}
