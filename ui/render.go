package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/ui/locale"
)

// pages are the page templates; each is parsed with the layout and the
// partials into its own set, once, at start.
var pages = []string{"flow", "welcome", "error", "prompt", "consent", "logout", "sessions"}

// parseTemplates parses each page with the layout and partials. The one
// function the templates call, path, puts a link under the UI's base path.
func (s *Server) parseTemplates(fsys fs.FS) (map[string]*template.Template, error) {
	funcs := template.FuncMap{"path": s.path, "account": accountOf}
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		t, err := template.New(p).Funcs(funcs).ParseFS(fsys,
			"templates/layouts/*.html", "templates/partials/*.html", "templates/pages/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

// assetVersions fingerprints the static files so they can be cached for a
// long time and still change on upgrade.
func assetVersions(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p[len("static/"):]] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out, err
}

// accountView hands a settings section and the page's locale to its
// template (a template takes one argument).
type accountView struct {
	L       *locale.Locale
	Section any
}

func accountOf(l *locale.Locale, section any) accountView { return accountView{L: l, Section: section} }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes page's template (with the layout around it, titled
// title) into a buffer first, so that a template error never leaves a
// half-written page behind a 200.
func (s *Server) render(c *gin.Context, status int, page, title string, data any) error {
	t, ok := s.templates[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "base", view{Base: s.base(c, title), Page: data}); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry CSRF tokens and session details.
	h.Set("Cache-Control", "no-store")
	c.Status(status)
	if _, err := c.Writer.Write(buf.Bytes()); err != nil {
		if ctxErr := c.Request.Context().Err(); ctxErr != nil {
			// The browser left before the page was written (a closed tab,
			// a load generator's phase ending): not a server failure.
			return fmt.Errorf("write %s: %w: %w", page, ctxErr, err)
		}
		return fmt.Errorf("write %s: %w", page, err)
	}
	return nil
}

var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

// staticHeaders are what every static answer carries: its type is what
// Tandem says, never sniffed, and it runs nothing.
func staticHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	c.Next()
}

// handleStatic serves an embedded static file. A request that names the
// current version is cached for a year; there are no directory listings.
func (s *Server) handleStatic(c *gin.Context) {
	name := c.Param("file")
	version, ok := s.assetVersion[name]
	if !ok {
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusNotFound, "not found")
		return
	}
	body, err := fs.ReadFile(assets, "static/"+name)
	if err != nil {
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusNotFound, "not found")
		return
	}
	s.serveAsset(c, body, staticTypes[path.Ext(name)], version)
}

// handleBrandAsset serves one of the brand's files (logo, favicon, palette,
// the team's stylesheet), read once at start.
func (s *Server) handleBrandAsset(c *gin.Context) {
	a, ok := s.brand.Asset(c.Param("file"))
	if !ok {
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusNotFound, "not found")
		return
	}
	s.serveAsset(c, a.Body, a.ContentType, a.Version)
}

func (s *Server) serveAsset(c *gin.Context, body []byte, contentType, version string) {
	if c.Query("v") == version {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.Header("ETag", `"`+version+`"`)
	if c.GetHeader("If-None-Match") == `"`+version+`"` {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, contentType, body)
}
