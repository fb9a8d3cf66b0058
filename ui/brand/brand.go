// Package brand is the team's look on Tandem's pages: product name, logo,
// favicon, accent colour (with the palette derived from it and checked
// for contrast at start), an extra stylesheet, and help/terms/privacy
// links. Everything comes from configuration; nothing needs a rebuild.
package brand

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// DefaultAccent is Tandem's own accent.
const DefaultAccent = "#1f5eff"

// Config is the brand section of Tandem's configuration. File paths are
// read once, at start.
type Config struct {
	Name string
	// Logo is an SVG or PNG file; empty shows Tandem's mark.
	Logo string
	// Favicon is an ICO, PNG or SVG file; empty uses the logo, else
	// Tandem's.
	Favicon string
	// Accent is #rrggbb; empty is DefaultAccent.
	Accent string
	// Stylesheet is an extra CSS file served after Tandem's own.
	Stylesheet string
	// TitlePattern is the page title; {page} and {name} are replaced.
	TitlePattern string
	// Links to the team's help, terms and privacy pages (absolute URLs);
	// each is shown in the footer when set.
	Help, Terms, Privacy string
}

// Asset is a file the brand serves.
type Asset struct {
	Body        []byte
	ContentType string
	// Version fingerprints Body, for a long cache lifetime.
	Version string
}

// Brand is a loaded, checked brand.
type Brand struct {
	Name    string
	title   string
	Links   []Link
	Palette Palette
	// Pairs are the contrast ratios the palette reaches, for operators.
	Pairs []Pair
	// assets by file name under /static/brand/.
	assets map[string]Asset
	logo   string // asset name, "" for Tandem's mark
	icon   string
}

// Link is a footer link.
type Link struct {
	// Key is the catalog key of its text (brand.help, …).
	Key, Href string
}

// Load reads the brand's files with readFile and derives its palette.
// Errors name the configuration key at fault: a file that cannot be read
// or is not the kind expected, an accent that is not a colour or whose
// palette falls below WCAG AA contrast, a link that is not http(s).
func Load(c Config, readFile func(string) ([]byte, error)) (*Brand, error) {
	b := &Brand{Name: c.Name, title: c.TitlePattern, assets: map[string]Asset{}}
	if b.Name == "" {
		b.Name = "Tandem"
	}
	if b.title == "" {
		b.title = "{page} · {name}"
	}
	if !strings.Contains(b.title, "{page}") {
		return nil, fmt.Errorf("brand.title: must contain {page}, got %q", c.TitlePattern)
	}
	accent := c.Accent
	if accent == "" {
		accent = DefaultAccent
	}
	col, err := ParseColor(accent)
	if err != nil {
		return nil, fmt.Errorf("brand.accent: %w", err)
	}
	b.Palette, b.Pairs, err = Derive("brand.accent", col)
	if err != nil {
		return nil, err
	}
	b.add("palette.css", []byte(b.Palette.CSS()), "text/css; charset=utf-8")

	if c.Logo != "" {
		name, err := b.file("brand.logo", c.Logo, readFile, "logo", []string{".svg", ".png"})
		if err != nil {
			return nil, err
		}
		b.logo = name
	}
	switch {
	case c.Favicon != "":
		name, err := b.file("brand.favicon", c.Favicon, readFile, "favicon", []string{".ico", ".png", ".svg"})
		if err != nil {
			return nil, err
		}
		b.icon = name
	case b.logo != "":
		b.icon = b.logo
	}
	if c.Stylesheet != "" {
		if _, err := b.file("brand.stylesheet", c.Stylesheet, readFile, "extra", []string{".css"}); err != nil {
			return nil, err
		}
	}
	for _, l := range []struct{ key, cfg, href string }{
		{"brand.help", "brand.links.help", c.Help},
		{"brand.terms", "brand.links.terms", c.Terms},
		{"brand.privacy", "brand.links.privacy", c.Privacy},
	} {
		if l.href == "" {
			continue
		}
		u, err := url.Parse(l.href)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s: must be an absolute http(s) URL, got %q", l.cfg, l.href)
		}
		b.Links = append(b.Links, Link{Key: l.key, Href: u.String()})
	}
	return b, nil
}

var contentTypes = map[string]string{
	".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon", ".css": "text/css; charset=utf-8",
}

// maxFile bounds a brand file: a logo or a stylesheet is kilobytes.
const maxFile = 1 << 20

func (b *Brand) file(key, path string, readFile func(string) ([]byte, error), base string, exts []string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	ok := false
	for _, e := range exts {
		ok = ok || e == ext
	}
	if !ok {
		return "", fmt.Errorf("%s: %q must be one of %s", key, path, strings.Join(exts, ", "))
	}
	body, err := readFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	if len(body) == 0 || len(body) > maxFile {
		return "", fmt.Errorf("%s: %q is %d bytes; it must be between 1 byte and 1 MiB", key, path, len(body))
	}
	if err := sniff(ext, body); err != nil {
		return "", fmt.Errorf("%s: %q %w", key, path, err)
	}
	name := base + ext
	b.add(name, body, contentTypes[ext])
	return name, nil
}

// sniff refuses a file whose content is not what its name says: a PNG
// that is HTML would be served as an image, but only if it is one.
func sniff(ext string, body []byte) error {
	switch ext {
	case ".png":
		if !bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("is not a PNG image")
		}
	case ".ico":
		if !bytes.HasPrefix(body, []byte{0, 0, 1, 0}) && !bytes.HasPrefix(body, []byte("\x89PNG\r\n\x1a\n")) {
			return fmt.Errorf("is not an icon")
		}
	case ".svg":
		if !bytes.Contains(body[:min(len(body), 4096)], []byte("<svg")) {
			return fmt.Errorf("is not an SVG image")
		}
	}
	return nil
}

func (b *Brand) add(name string, body []byte, ct string) {
	sum := sha256.Sum256(body)
	b.assets[name] = Asset{Body: body, ContentType: ct, Version: hex.EncodeToString(sum[:6])}
}

// Asset returns a brand file by name.
func (b *Brand) Asset(name string) (Asset, bool) {
	a, ok := b.assets[name]
	return a, ok
}

// Logo is the logo's asset name, or "" for Tandem's own mark.
func (b *Brand) Logo() string { return b.logo }

// Favicon is the favicon's asset name, or "" for Tandem's own.
func (b *Brand) Favicon() string { return b.icon }

// HasStylesheet reports whether the team added a stylesheet.
func (b *Brand) HasStylesheet() bool { _, ok := b.assets["extra.css"]; return ok }

// Title is a page's title under the brand's pattern.
func (b *Brand) Title(page string) string {
	return strings.NewReplacer("{page}", page, "{name}", b.Name).Replace(b.title)
}
