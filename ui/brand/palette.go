package brand

import (
	"fmt"
	"strings"
)

// Text needs 4.5:1 against what it sits on (WCAG 2.1 AA, 1.4.3); a focus
// indicator 3:1 (1.4.11).
const (
	MinText  = 4.5
	MinFocus = 3.0
)

// scheme is one colour scheme's fixed colours: the neutrals and the
// status colours Tandem ships. Only the accent is the team's.
type scheme struct {
	name                         string
	bg, card, ink, muted, border Color
	infoBg, errBg, okBg          Color
	danger, ok                   Color
}

var (
	light = scheme{
		name: "light",
		bg:   MustColor("#f4f5f7"), card: MustColor("#ffffff"), ink: MustColor("#14171f"),
		muted: MustColor("#555c69"), border: MustColor("#878e9b"),
		infoBg: MustColor("#eef4ff"), errBg: MustColor("#fef3f2"), okBg: MustColor("#ecfdf3"),
		danger: MustColor("#b42318"), ok: MustColor("#067647"),
	}
	dark = scheme{
		name: "dark",
		bg:   MustColor("#0f1115"), card: MustColor("#181b22"), ink: MustColor("#eef0f4"),
		muted: MustColor("#a9b0bc"), border: MustColor("#6b7280"),
		infoBg: MustColor("#16223d"), errBg: MustColor("#3a1a17"), okBg: MustColor("#12301f"),
		danger: MustColor("#ff9c92"), ok: MustColor("#6fdca4"),
	}
	white = MustColor("#ffffff")
	black = MustColor("#000000")
)

// Palette is the accent's derived colours in each scheme.
type Palette struct {
	Light, Dark Accent
}

// Accent is the accent in one scheme: the colour itself (links, the
// primary button, the focus ring), the button's text on it, and the
// button's hover shade.
type Accent struct {
	Accent, Ink, Hover Color
}

// Pair is one foreground/background pair the palette was checked for.
type Pair struct {
	Scheme, What string
	Fg, Bg       Color
	Ratio, Min   float64
}

// ContrastError says which pair falls short.
type ContrastError struct {
	Key  string
	Pair Pair
}

func (e *ContrastError) Error() string {
	return fmt.Sprintf("%s: %s (%s) on %s (%s) reaches %.2f:1 in the %s scheme; it needs %.1f:1",
		e.Key, e.Pair.What, e.Pair.Fg, backgroundName(e.Pair.What), e.Pair.Bg, e.Pair.Ratio, e.Pair.Scheme, e.Pair.Min)
}

func backgroundName(what string) string {
	if strings.Contains(what, "button text") {
		return "the button"
	}
	return "its background"
}

// Derive builds the palette for an accent colour: in the light scheme the
// accent as given, in the dark scheme the accent lightened until it reads
// on the dark card; the button text is white or near-black, whichever
// reads better; hover darkens (light) or lightens (dark). It then checks
// every pair that carries text or a focus ring and returns a
// *ContrastError for the first that falls short, naming key.
func Derive(key string, accent Color) (Palette, []Pair, error) {
	var p Palette
	p.Light = Accent{Accent: accent}
	p.Light.Ink = bestInk(accent, white, light.ink)
	p.Light.Hover = accent.mix(black, 0.15)

	d, _ := accent.towards(white, MinText, dark.card, dark.bg, dark.infoBg)
	p.Dark = Accent{Accent: d}
	p.Dark.Ink = bestInk(d, dark.bg, white)
	p.Dark.Hover = d.mix(white, 0.15)

	pairs := p.pairs()
	for _, pr := range pairs {
		if pr.Ratio < pr.Min {
			return p, pairs, &ContrastError{Key: key, Pair: pr}
		}
	}
	return p, pairs, nil
}

func bestInk(bg Color, a, b Color) Color {
	if Contrast(a, bg) >= Contrast(b, bg) {
		return a
	}
	return b
}

// pairs lists every pair the pages draw with the accent, and the fixed
// pairs, in both schemes.
func (p Palette) pairs() []Pair {
	var out []Pair
	add := func(s scheme, what string, fg, bg Color, min float64) {
		out = append(out, Pair{Scheme: s.name, What: what, Fg: fg, Bg: bg, Ratio: Contrast(fg, bg), Min: min})
	}
	for _, x := range []struct {
		s scheme
		a Accent
	}{{light, p.Light}, {dark, p.Dark}} {
		s, a := x.s, x.a
		add(s, "link text", a.Accent, s.card, MinText)
		add(s, "link text on the page", a.Accent, s.bg, MinText)
		add(s, "link text in a notice", a.Accent, s.infoBg, MinText)
		add(s, "primary button text", a.Ink, a.Accent, MinText)
		add(s, "primary button text (hover)", a.Ink, a.Hover, MinText)
		add(s, "focus ring", a.Accent, s.card, MinFocus)
		add(s, "focus ring on the page", a.Accent, s.bg, MinFocus)
		add(s, "body text", s.ink, s.card, MinText)
		add(s, "secondary text", s.muted, s.card, MinText)
		add(s, "secondary text on the page", s.muted, s.bg, MinText)
		add(s, "notice text", s.ink, s.infoBg, MinText)
		add(s, "error text", s.danger, s.errBg, MinText)
		add(s, "error text on the card", s.danger, s.card, MinText)
		add(s, "success text", s.ok, s.okBg, MinText)
		add(s, "field border", s.border, s.card, MinFocus)
	}
	return out
}

// CSS is the palette as custom properties over tandem.css's defaults.
func (p Palette) CSS() string {
	var b strings.Builder
	fmt.Fprintf(&b, ":root{--accent:%s;--accent-ink:%s;--accent-hover:%s}\n", p.Light.Accent, p.Light.Ink, p.Light.Hover)
	fmt.Fprintf(&b, "@media (prefers-color-scheme: dark){:root{--accent:%s;--accent-ink:%s;--accent-hover:%s}}\n", p.Dark.Accent, p.Dark.Ink, p.Dark.Hover)
	return b.String()
}
