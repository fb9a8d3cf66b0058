package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// pages are the page templates; each is parsed with the layout and the
// partials into its own set, once, at start.
var pages = []string{"flow", "welcome", "error", "prompt"}

func parseTemplates(fsys fs.FS) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		t, err := template.New(p).ParseFS(fsys,
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
	err := fs.WalkDir(fsys, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path[len("static/"):]] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out, err
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes page into a buffer first, so that a template error never
// leaves a half-written page behind a 200.
func (s *Server) render(c *gin.Context, status int, page string, data any) error {
	t, ok := s.templates[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "base", data); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry CSRF tokens and session details.
	h.Set("Cache-Control", "no-store")
	c.Status(status)
	_, err := c.Writer.Write(buf.Bytes())
	return err
}

// staticHandler serves the embedded static files. A request that names the
// current version is cached for a year.
func (s *Server) staticHandler() gin.HandlerFunc {
	sub, _ := fs.Sub(assets, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return func(c *gin.Context) {
		name := c.Param("file")
		if len(name) > 0 && name[0] == '/' {
			name = name[1:]
		}
		if v, ok := s.assetVersion[name]; ok && c.Query("v") == v {
			c.Header("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			c.Header("Cache-Control", "no-cache")
		}
		fileServer.ServeHTTP(c.Writer, c.Request)
	}
}
