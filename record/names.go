package record

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

var (
	collRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,119}$`)
	idRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
)

// ValidCollection reports whether name is a valid collection name:
// [A-Za-z0-9][A-Za-z0-9_.-]{0,119}, which fits day collections such as
// "Nov-25-2026". Names starting with "system." are refused: MongoDB
// reserves them.
func ValidCollection(name string) error {
	if !collRe.MatchString(name) {
		return invalid("collection", name, "want 1-120 characters of [A-Za-z0-9_.-], starting with a letter or digit")
	}
	if strings.HasPrefix(name, "system.") {
		return invalid("collection", name, `names starting with "system." are reserved by MongoDB`)
	}
	return nil
}

// ValidID reports whether id is a valid record id: [A-Za-z0-9_.-]{1,128}.
func ValidID(id string) error {
	if !idRe.MatchString(id) {
		return invalid("id", id, "want 1-128 characters of [A-Za-z0-9_.-]")
	}
	return nil
}

// ValidKey reports whether key may name a field: non-empty valid UTF-8,
// with no '.', no leading '$' and no NUL. path is the dotted path of the
// key's parent, used in the error.
func validKey(key, parent string) error {
	where := joinPath(parent, key)
	switch {
	case key == "":
		return invalid("key", where, "empty key")
	case !utf8.ValidString(key):
		return invalid("key", joinPath(parent, fmt.Sprintf("%q", key)), "key is not valid UTF-8")
	case strings.Contains(key, "."):
		return invalid("key", where, "key contains '.'")
	case key[0] == '$':
		return invalid("key", where, "key starts with '$'")
	case strings.IndexByte(key, 0) >= 0:
		return invalid("key", fmt.Sprintf("%q", where), "key contains NUL")
	}
	return nil
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// maxDepth bounds the nesting of stored values and paths; MongoDB allows
// 100 levels of documents.
const maxDepth = 100

// ParsePath splits dotted text such as "models.model_0.losses" into keys
// and validates each of them.
func ParsePath(s string) ([]string, error) {
	if s == "" {
		return nil, invalid("path", "", "empty path")
	}
	keys := strings.Split(s, ".")
	if len(keys) > maxDepth {
		return nil, invalid("path", s, fmt.Sprintf("deeper than %d levels", maxDepth))
	}
	parent := ""
	for _, k := range keys {
		if k == "" {
			return nil, invalid("path", s, "empty key in path")
		}
		if err := validKey(k, parent); err != nil {
			return nil, err
		}
		parent = joinPath(parent, k)
	}
	return keys, nil
}

// idCounter and idProcess make generated ids unique within and across
// processes, in MongoDB ObjectID layout.
var (
	idCounter atomic.Uint32
	idProcess [5]byte
)

func init() {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("record: no randomness for ids: " + err.Error())
	}
	copy(idProcess[:], b[:5])
	idCounter.Store(binary.BigEndian.Uint32(b[4:]))
}

// NewID returns a new record id: 24 hex digits in MongoDB ObjectID layout
// (4 bytes of Unix seconds, 5 random bytes per process, a 3-byte counter),
// so ids sort by creation time.
func NewID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(time.Now().Unix()))
	copy(b[4:9], idProcess[:])
	c := idCounter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}
