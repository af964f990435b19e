package plot

import (
	"image/color"
	"math"
	"strconv"
	"strings"
)

// Palette is the color cycle for lines without a color of their own
// (matplotlib's tab10, so that uncolored records look like the classic
// plots).
var Palette = []color.Color{
	rgb(0x1f, 0x77, 0xb4), rgb(0xff, 0x7f, 0x0e), rgb(0x2c, 0xa0, 0x2c), rgb(0xd6, 0x27, 0x28),
	rgb(0x94, 0x67, 0xbd), rgb(0x8c, 0x56, 0x4b), rgb(0xe3, 0x77, 0xc2), rgb(0x7f, 0x7f, 0x7f),
	rgb(0xbc, 0xbd, 0x22), rgb(0x17, 0xbe, 0xcf),
}

func rgb(r, g, b uint8) color.Color { return color.NRGBA{R: r, G: g, B: b, A: 255} }

// ParseColor reads a color as records store it: [r, g, b] or [r, g, b, a]
// with components in 0..1 (matplotlib's form) or 0..255, "#rgb",
// "#rrggbb", a basic color name ("red", "k"), or a matplotlib tab10 name
// ("tab:blue", "C0"). It reports false for anything else.
func ParseColor(v any) (color.Color, bool) {
	switch x := v.(type) {
	case []any:
		if len(x) != 3 && len(x) != 4 {
			return nil, false
		}
		f, ok := numbers(x)
		if !ok {
			return nil, false
		}
		scale := 255.0
		for _, c := range f {
			if !(c >= 0 && c <= 255) {
				return nil, false
			}
			if c > 1 {
				scale = 1
			}
		}
		ch := func(c float64) uint8 { return uint8(math.Round(c * scale)) }
		out := color.NRGBA{R: ch(f[0]), G: ch(f[1]), B: ch(f[2]), A: 255}
		if len(f) == 4 {
			out.A = ch(f[3])
		}
		return out, true
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		if c, ok := named[s]; ok {
			return c, true
		}
		if len(s) == 2 && s[0] == 'c' && s[1] >= '0' && s[1] <= '9' {
			return Palette[s[1]-'0'], true
		}
		if strings.HasPrefix(s, "#") {
			h := s[1:]
			if len(h) == 3 {
				h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
			}
			if len(h) != 6 {
				return nil, false
			}
			n, err := strconv.ParseUint(h, 16, 32)
			if err != nil {
				return nil, false
			}
			return rgb(uint8(n>>16), uint8(n>>8), uint8(n)), true
		}
	}
	return nil, false
}

var named = map[string]color.Color{
	"b": rgb(0, 0, 255), "blue": rgb(0, 0, 255),
	"g": rgb(0, 128, 0), "green": rgb(0, 128, 0),
	"r": rgb(255, 0, 0), "red": rgb(255, 0, 0),
	"c": rgb(0, 191, 191), "cyan": rgb(0, 255, 255),
	"m": rgb(191, 0, 191), "magenta": rgb(255, 0, 255),
	"y": rgb(191, 191, 0), "yellow": rgb(255, 255, 0),
	"k": rgb(0, 0, 0), "black": rgb(0, 0, 0),
	"w": rgb(255, 255, 255), "white": rgb(255, 255, 255),
	"orange": rgb(255, 165, 0), "purple": rgb(128, 0, 128), "gray": rgb(128, 128, 128), "grey": rgb(128, 128, 128),
	"brown": rgb(165, 42, 42), "pink": rgb(255, 192, 203),
	"tab:blue": Palette[0], "tab:orange": Palette[1], "tab:green": Palette[2], "tab:red": Palette[3],
	"tab:purple": Palette[4], "tab:brown": Palette[5], "tab:pink": Palette[6], "tab:gray": Palette[7],
	"tab:grey": Palette[7], "tab:olive": Palette[8], "tab:cyan": Palette[9],
}
