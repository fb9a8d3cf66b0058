package brand

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestDefaultPaletteMeetsWCAG(t *testing.T) {
	_, pairs, err := Derive("brand.accent", MustColor(DefaultAccent))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		t.Logf("%-5s %-32s %s on %s: %5.2f:1 (needs %.1f)", p.Scheme, p.What, p.Fg, p.Bg, p.Ratio, p.Min)
	}
}

func TestCustomAccents(t *testing.T) {
	for _, tc := range []struct {
		accent string
		ok     bool
	}{
		{"#1f5eff", true},
		{"#0b7a3e", true},  // a green
		{"#6d28d9", true},  // a violet
		{"#000000", true},  // black: dark scheme lightens it
		{"#ffcc00", false}, // yellow on white: links unreadable
		{"#7fb3ff", false}, // pale blue on white
	} {
		t.Run(tc.accent, func(t *testing.T) {
			_, pairs, err := Derive("brand.accent", MustColor(tc.accent))
			var ce *ContrastError
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				if !errors.As(err, &ce) {
					t.Fatalf("accepted an accent below WCAG AA (%v)", err)
				}
				if !strings.HasPrefix(err.Error(), "brand.accent: ") || !strings.Contains(err.Error(), ":1") {
					t.Errorf("error does not name the key and the ratio: %v", err)
				}
				return
			}
			for _, p := range pairs {
				if p.Ratio < p.Min {
					t.Errorf("%s %s: %.2f < %.1f", p.Scheme, p.What, p.Ratio, p.Min)
				}
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	files := map[string][]byte{
		"logo.svg":  []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`),
		"fake.png":  []byte(`<html>not a png</html>`),
		"extra.css": []byte(`.card{border-radius:0}`),
	}
	read := func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, os.ErrNotExist
	}
	b, err := Load(Config{Name: "Acme", Logo: "logo.svg", Stylesheet: "extra.css", Accent: "#0b7a3e",
		Help: "https://help.acme.example/", TitlePattern: "{page} – {name}"}, read)
	if err != nil {
		t.Fatal(err)
	}
	if b.Logo() != "logo.svg" || b.Favicon() != "logo.svg" || !b.HasStylesheet() {
		t.Errorf("logo %q favicon %q stylesheet %v", b.Logo(), b.Favicon(), b.HasStylesheet())
	}
	if got := b.Title("Sign in"); got != "Sign in – Acme" {
		t.Errorf("title %q", got)
	}
	if a, ok := b.Asset("palette.css"); !ok || !strings.Contains(string(a.Body), "#0b7a3e") {
		t.Errorf("palette.css = %q", a.Body)
	}
	for name, c := range map[string]Config{
		"brand.logo":        {Logo: "missing.svg"},
		"brand.favicon":     {Favicon: "fake.png"},
		"brand.stylesheet":  {Stylesheet: "logo.svg"},
		"brand.accent":      {Accent: "blue"},
		"brand.links.terms": {Terms: "javascript:alert(1)"},
		"brand.title":       {TitlePattern: "Acme"},
	} {
		if _, err := Load(c, read); err == nil || !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
