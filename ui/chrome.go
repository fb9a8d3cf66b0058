package ui

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/ui/locale"
)

// chrome is what surrounds every page's content in one language: the
// head's links, the brand header, the footer with the language menu. It
// depends only on the brand and the language, so it is rendered once per
// locale at start: on every page it would cost dozens of escaper calls.
type chrome struct {
	Head, Header template.HTML
	// footer has hrefPrefix where each language link's address begins;
	// footerFor puts the request's path and query there.
	footer string
	// More labels the row of links under a form.
	More string
}

// hrefPrefix marks, in the rendered footer, where the request's own path
// and query go: letters only, so that the URL escaper keeps it as it is.
const hrefPrefix = "TANDEMHREFPREFIX"

type chromeData struct {
	L                               *locale.Locale
	Name, Logo, Favicon             string
	CSS, PaletteCSS, ExtraCSS, Home string
	Links                           []link
	Languages                       []languageLink
}

type languageLink struct {
	Tag, Name, Href string
	Current         bool
}

// buildChrome renders each locale's chrome from templates/chrome.
func (s *Server) buildChrome(fsys fs.FS) (map[*locale.Locale]*chrome, error) {
	t, err := template.New("chrome").ParseFS(fsys, "templates/chrome/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse chrome: %w", err)
	}
	exec := func(name string, data any) (string, error) {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name, data); err != nil {
			return "", fmt.Errorf("render chrome %s: %w", name, err)
		}
		return b.String(), nil
	}
	out := map[*locale.Locale]*chrome{}
	for _, l := range s.catalog.Locales() {
		d := chromeData{L: l, Name: s.brand.Name, CSS: s.static("tandem.css"), PaletteCSS: s.brandAsset("palette.css"),
			Home: s.path("/welcome"), Favicon: s.static("favicon.svg")}
		if s.brand.HasStylesheet() {
			d.ExtraCSS = s.brandAsset("extra.css")
		}
		if name := s.brand.Logo(); name != "" {
			d.Logo = s.brandAsset(name)
		}
		if name := s.brand.Favicon(); name != "" {
			d.Favicon = s.brandAsset(name)
		}
		for _, bl := range s.brand.Links {
			d.Links = append(d.Links, link{Text: l.T(bl.Key), Href: bl.Href})
		}
		for _, other := range s.catalog.Locales() {
			d.Languages = append(d.Languages, languageLink{Tag: other.Tag(), Name: other.Name(), Current: other == l,
				Href: hrefPrefix + langParam + "=" + url.QueryEscape(other.Tag())})
		}
		c := &chrome{More: l.T("common.more")}
		var head, header string
		if head, err = exec("head", d); err != nil {
			return nil, err
		}
		if header, err = exec("header", d); err != nil {
			return nil, err
		}
		if c.footer, err = exec("footer", d); err != nil {
			return nil, err
		}
		if !strings.Contains(c.footer, hrefPrefix) && len(s.catalog.Locales()) > 1 {
			return nil, fmt.Errorf("render chrome: the language links lost their prefix")
		}
		c.Head, c.Header = template.HTML(head), template.HTML(header) // #nosec: rendered by html/template
		out[l] = c
	}
	return out, nil
}

// footerFor is the footer with each language link pointing at this page:
// its path and query, lang replaced. The flow id and every other
// parameter stay, so switching language keeps the person where they are.
func (c *chrome) footerFor(gc *gin.Context) template.HTML {
	q, err := url.ParseQuery(gc.Request.URL.RawQuery)
	if err != nil {
		q = url.Values{}
	}
	q.Del(langParam)
	prefix := gc.Request.URL.EscapedPath() + "?"
	if len(q) > 0 {
		prefix += q.Encode() + "&"
	}
	return template.HTML(strings.ReplaceAll(c.footer, hrefPrefix, html.EscapeString(prefix))) // #nosec: an escaped URL prefix into rendered HTML
}
