package brand

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Color is an sRGB colour.
type Color struct{ R, G, B uint8 }

// ParseColor reads #rgb or #rrggbb.
func ParseColor(s string) (Color, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 || !strings.HasPrefix(strings.TrimSpace(s), "#") {
		return Color{}, fmt.Errorf("must be a colour as #rrggbb, got %q", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return Color{}, fmt.Errorf("must be a colour as #rrggbb, got %q", s)
	}
	return Color{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// MustColor is ParseColor for constants.
func MustColor(s string) Color {
	c, err := ParseColor(s)
	if err != nil {
		panic(err)
	}
	return c
}

func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// luminance is WCAG 2.1's relative luminance.
func (c Color) luminance() float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// Contrast is WCAG 2.1's contrast ratio between two colours, 1 to 21.
func Contrast(a, b Color) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// mix moves c towards target by t (0 = c, 1 = target), in sRGB.
func (c Color) mix(target Color, t float64) Color {
	m := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return Color{m(c.R, target.R), m(c.G, target.G), m(c.B, target.B)}
}

// towards returns the first mix of c towards target, in small steps, that
// reaches ratio against every background; ok is false if even target
// does not.
func (c Color) towards(target Color, ratio float64, backgrounds ...Color) (Color, bool) {
	for i := 0; i <= 100; i++ {
		m := c.mix(target, float64(i)/100)
		if minContrast(m, backgrounds...) >= ratio {
			return m, true
		}
	}
	return c, false
}

func minContrast(c Color, backgrounds ...Color) float64 {
	lo := 21.0
	for _, b := range backgrounds {
		lo = min(lo, Contrast(c, b))
	}
	return lo
}
