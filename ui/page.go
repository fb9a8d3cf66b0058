package ui

import (
	"html/template"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/ui/locale"
)

// basePage is what the layout needs besides the chrome.
type basePage struct {
	Title string
	Nonce string
	// Lang and Dir are the locale's tag and writing direction.
	Lang, Dir string
	// L is the request's locale, for the few words a page template says
	// itself: {{$.Base.L.T "key"}}.
	L      *locale.Locale
	Chrome *chrome
	Footer template.HTML
	// Text is tandem.js's strings in this locale, as JSON; JS the script.
	Text template.JS
	JS   string
	// Login is the sign-in page.
	Login string
}

type link struct {
	Text, Href string
}

// view is what every template executes with: the layout's data and the
// page's own. (Not one struct embedding the other: html/template finds a
// promoted field by a reflective search that allocates, on every access.)
type view struct {
	Base *basePage
	Page any
}

// base fills the layout's data for a page titled title.
func (s *Server) base(c *gin.Context, title string) *basePage {
	l := s.localeOf(c)
	ch := s.chrome[l]
	return &basePage{
		Title:  s.brand.Title(title),
		Nonce:  nonceFrom(c),
		Lang:   l.Tag(),
		Dir:    l.Dir(),
		L:      l,
		Chrome: ch,
		Footer: ch.footerFor(c),
		Text:   template.JS(l.ScriptJSON()), // #nosec: HTML-escaped JSON (locale.ScriptJSON)
		JS:     s.static("tandem.js"),
		Login:  s.path("/login"),
	}
}

// static is a fingerprinted URL of an embedded static file.
func (s *Server) static(name string) string {
	return s.path("/static/" + name + "?v=" + s.assetVersion[name])
}

// brandAsset is a fingerprinted URL of one of the brand's files.
func (s *Server) brandAsset(name string) string {
	a, _ := s.brand.Asset(name)
	return s.path("/static/brand/" + name + "?v=" + a.Version)
}
