package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/ini.v1"
)

// A Source produces fields from outside the program, such as a config
// file. Update calls Load and stores the fields it returns.
type Source interface {
	Load() (map[string]any, error)
}

// INIFile returns a Source that reads an INI config file and yields its
// sections under "config", as the classic record did: the key lr of
// section [train] is stored at config.train.lr. Keys outside any section
// go under config.DEFAULT. Values are typed where the text is
// unambiguous: integers become int64, decimals float64, true/false bool;
// everything else stays a string.
func INIFile(path string) Source { return iniSource(path) }

type iniSource string

func (p iniSource) Load() (map[string]any, error) {
	f, err := ini.LoadSources(ini.LoadOptions{Insensitive: false, SpaceBeforeInlineComment: true}, string(p))
	if err != nil {
		return nil, fmt.Errorf("record: read INI file %s: %w", p, err)
	}
	config := map[string]any{}
	for _, sec := range f.Sections() {
		keys := sec.Keys()
		if len(keys) == 0 && sec.Name() == ini.DefaultSection {
			continue
		}
		m := make(map[string]any, len(keys))
		for _, k := range keys {
			m[k.Name()] = typedText(k.Value())
		}
		config[sec.Name()] = m
	}
	return map[string]any{"config": config}, nil
}

// typedText converts INI text to the value it unambiguously denotes.
func typedText(s string) any {
	t := strings.TrimSpace(s)
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		return i
	}
	if strings.ContainsAny(t, "0123456789") && !strings.ContainsAny(t, "xXpP_") {
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f
		}
	}
	switch strings.ToLower(t) {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}

// JSONFile returns a Source that reads a JSON object from a file; its
// fields are stored at the top level (or under the key given to Update).
// Numbers keep their form: 10 is an int64, 10.0 a float64.
func JSONFile(path string) Source { return jsonSource(path) }

type jsonSource string

func (p jsonSource) Load() (map[string]any, error) {
	b, err := os.ReadFile(string(p))
	if err != nil {
		return nil, fmt.Errorf("record: read JSON file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("record: JSON file %s: %w: %w", p, ErrInvalid, err)
	}
	return m, nil
}
