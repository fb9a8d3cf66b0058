package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui/locale"
)

// SocialProvider is one of Kratos' oidc providers as Tandem's pages show
// it: a name, an optional icon, and the origin Kratos redirects browsers
// to for it.
type SocialProvider struct {
	// ID is the provider's id in Kratos' configuration.
	ID string
	// Name is shown on the button.
	Name string
	// Icon is the image's bytes (SVG or PNG), served at
	// /social/icons/{id}; nil for none.
	Icon []byte
	// IconType is its Content-Type: image/svg+xml or image/png.
	IconType string
	// AuthorizationURL is the provider's authorization endpoint.
	AuthorizationURL string

	iconVersion string
}

func socialProviders(in []SocialProvider) (map[string]*SocialProvider, []string, error) {
	out := make(map[string]*SocialProvider, len(in))
	var origins []string
	for _, p := range in {
		o := originsOf(p.AuthorizationURL)
		if len(o) == 0 {
			return nil, nil, fmt.Errorf("ui: social provider %s: authorization URL %q is not an http(s) URL", p.ID, p.AuthorizationURL)
		}
		origins = append(origins, o...)
		if len(p.Icon) > 0 {
			if p.IconType != "image/svg+xml" && p.IconType != "image/png" {
				return nil, nil, fmt.Errorf("ui: social provider %s: icon type %q is not SVG or PNG", p.ID, p.IconType)
			}
			sum := sha256.Sum256(p.Icon)
			p.iconVersion = hex.EncodeToString(sum[:6])
		}
		cp := p
		out[p.ID] = &cp
	}
	return out, origins, nil
}

// handleSocialIcon serves a provider's icon, read once at start.
func (s *Server) handleSocialIcon(c *gin.Context) {
	p, ok := s.social[c.Param("id")]
	if !ok || len(p.Icon) == 0 {
		c.Status(http.StatusNotFound)
		return
	}
	// The static group's headers apply: nosniff and a sandboxing CSP, so
	// that an SVG opened on its own runs nothing.
	s.serveAsset(c, p.Icon, p.IconType, p.iconVersion)
}

// socialButton is the HTML of a provider button: Kratos' submit node with
// the configured name and icon (or Kratos' own label when Tandem has no
// name for the provider). The provider id is Kratos' value.
func (s *Server) socialButton(l *locale.Locale, v nodeView) (string, bool) {
	if v.Kind != "button" || v.Name != "provider" {
		return "", false
	}
	p := s.social[v.Value]
	label := v.Label
	if p != nil && p.Name != "" || label == "" {
		label = l.Format("social.continue_with", map[string]any{"Provider": s.providerName(v.Value)})
	}
	var b strings.Builder
	b.WriteString(`<button class="btn btn-social" type="submit" name="provider" value="` + html.EscapeString(v.Value) +
		`" data-provider="` + html.EscapeString(v.Value) + `">`)
	if p != nil && p.iconVersion != "" {
		b.WriteString(`<img src="` + html.EscapeString(s.path("/static/social/"+url.PathEscape(p.ID))) + `?v=` + p.iconVersion + `" alt="" width="20" height="20">`)
	}
	b.WriteString(html.EscapeString(label))
	b.WriteString("</button>\n")
	writeMessages(&b, v.ID, v.Messages)
	return b.String(), true
}

// providerName is the configured name of a provider id, or the id.
func (s *Server) providerName(id string) string {
	if p := s.social[id]; p != nil && p.Name != "" {
		return p.Name
	}
	return id
}

// renderSocial renders the oidc section: a button per provider.
func (s *Server) renderSocial(l *locale.Locale, nodes []nodeView) template.HTML {
	var b strings.Builder
	for _, n := range nodes {
		if h, ok := s.socialButton(l, n); ok {
			b.WriteString(h)
			continue
		}
		b.WriteString(string(n.HTML()))
		b.WriteByte('\n')
	}
	return template.HTML(b.String()) // #nosec: escaped above and in nodeView.HTML
}

// linkInfo is Kratos' message that opens account linking (1010016).
const linkInfo = 1010016

// linkingProvider reports whether a login flow is Kratos' account-linking
// screen, and the provider (its label in Kratos) the person came with.
func linkingProvider(f *kratosext.Flow) (string, bool) {
	for _, m := range f.UI.Messages {
		if m.ID != linkInfo {
			continue
		}
		var ctx struct {
			Provider string `json:"provider"`
		}
		_ = json.Unmarshal(m.Context, &ctx)
		return ctx.Provider, true
	}
	return "", false
}
