package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/kratosext"
)

// This file is Ory Hydra's consent and logout pages. Hydra's login page is
// /login itself: Tandem passes login_challenge on to Kratos, which accepts
// Hydra's login request once the person has signed in (phone first, like
// any sign-in). Hydra then sends the browser to /consent and, for
// RP-initiated logout, to /logout; both read Hydra's request through its
// admin API and answer it there.

// OAuth2Options configure the consent page.
type OAuth2Options struct {
	// TrustedClients are client ids whose consent is given without asking.
	TrustedClients []string
	// RememberFor is how long "remember this decision" lasts; 0 = until
	// revoked.
	RememberFor time.Duration
	// Claims maps a scope to the ID-token claims it releases, each read
	// from an identity trait: {"email": {"email": "email"}}.
	Claims map[string]map[string]string
}

// maxChallenge bounds a challenge Tandem passes on to Hydra. Hydra v2's
// challenges are encrypted flows of one to two kilobytes.
const maxChallenge = 8192

// maxOAuth2Form bounds a consent or logout form: a challenge and a
// couple of fields.
const maxOAuth2Form = 16 << 10

// scopeWords are the catalog keys that say each standard scope in plain
// words; other scopes are named as they are (scope.unknown).
var scopeWords = map[string]string{
	"openid":         "scope.openid",
	"email":          "scope.email",
	"profile":        "scope.profile",
	"offline_access": "scope.offline_access",
	"offline":        "scope.offline_access",
	"phone":          "scope.phone",
	"address":        "scope.address",
}

// oauth2Errors are the pages for a challenge Hydra will not answer.
var (
	errChallengeMissing = &httpError{Status: http.StatusBadRequest, Heading: "oauth2.missing.title", Message: "oauth2.missing.message"}
	errChallengeGone    = &httpError{Status: http.StatusNotFound, Heading: "oauth2.gone.title", Message: "oauth2.gone.message"}
	errChallengeUsed    = &httpError{Status: http.StatusGone, Heading: "oauth2.used.title", Message: "oauth2.used.message"}
	errHydraDown        = &httpError{Status: http.StatusBadGateway, Heading: "oauth2.down.title", Message: "oauth2.down.message"}
	errHydraSlow        = &httpError{Status: http.StatusGatewayTimeout, Heading: "oauth2.slow.title", Message: "oauth2.slow.message"}
)

// hydraError turns a hydraext error into the page a person sees: never a
// 5xx for a bad challenge, a 502 when Hydra cannot answer.
func hydraError(err error) error {
	var he *httpError
	switch {
	case errors.Is(err, hydraext.ErrChallengeUsed):
		he = errChallengeUsed
	case errors.Is(err, hydraext.ErrChallengeGone):
		he = errChallengeGone
	case errors.Is(err, hydraext.ErrTimeout):
		he = errHydraSlow
	case errors.Is(err, hydraext.ErrUnavailable):
		he = errHydraDown
	default:
		return err
	}
	cp := *he
	cp.Err = err
	return &cp
}

// challenge reads a challenge parameter, refusing one Hydra cannot have
// issued before it reaches Hydra.
func challenge(raw string) (string, error) {
	if raw == "" {
		return "", errChallengeMissing
	}
	if len(raw) > maxChallenge || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' }) {
		cp := *errChallengeGone
		cp.Err = errors.New("malformed challenge")
		return "", &cp
	}
	return raw, nil
}

// answerable reads a challenge and refuses one this server answered
// already.
func (s *Server) answerable(raw string) (string, error) {
	ch, err := challenge(raw)
	if err != nil {
		return "", err
	}
	if s.answered.seen(ch) {
		cp := *errChallengeUsed
		cp.Err = errors.New("challenge answered before")
		return "", &cp
	}
	return ch, nil
}

// consentPage asks the person whether the client may have the scopes.
type consentPage struct {
	Heading   string
	Lead      string
	Action    string
	LogoURI   string
	PolicyURI string
	TosURI    string
	Scopes    []string
	Challenge string
	Account   string
}

// handleConsent serves Hydra's consent URL. A remembered consent (Hydra's
// skip) and a trusted client are granted at once; otherwise the page asks.
func (s *Server) handleConsent(c *gin.Context) error {
	ch, err := s.answerable(c.Query("consent_challenge"))
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	req, err := s.hydra.ConsentRequest(ctx, ch)
	if err != nil {
		return hydraError(err)
	}
	if req.Skip || slices.Contains(s.oauth2.TrustedClients, req.Client.ID) {
		return s.grantConsent(c, req, false)
	}
	l := s.localeOf(c)
	app := map[string]any{"App": req.Client.DisplayName()}
	page := consentPage{
		Heading:   l.Format("consent.heading", app),
		Lead:      l.Format("consent.lead", app),
		Action:    s.path("/consent"),
		Challenge: ch,
	}
	for _, sc := range req.Scopes {
		if key, ok := scopeWords[sc]; ok {
			page.Scopes = append(page.Scopes, l.T(key))
		} else {
			page.Scopes = append(page.Scopes, l.Format("scope.unknown", map[string]any{"Scope": sc}))
		}
	}
	page.LogoURI = safeExternal(req.Client.LogoURI)
	page.PolicyURI = safeExternal(req.Client.PolicyURI)
	page.TosURI = safeExternal(req.Client.TosURI)
	if id, err := s.kratos.IdentityTraits(ctx, req.Subject); err == nil {
		if e, ok := id.Traits["email"].(string); ok {
			page.Account = e
		}
	}
	// Allow and Deny both end at the client's redirect URI, through Hydra.
	s.allowOrigins(c, originsOf(req.Client.RedirectURIs...), originsOf(page.LogoURI))
	return s.render(c, http.StatusOK, "consent", page.Heading, page)
}

// handleConsentAnswer takes the consent form's Allow or Deny.
func (s *Server) handleConsentAnswer(c *gin.Context) error {
	form, err := s.ownForm(c, "consent answer", maxOAuth2Form)
	if err != nil {
		return err
	}
	ch, err := s.answerable(form.Get("consent_challenge"))
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	// The scopes come from Hydra again, never from the form.
	req, err := s.hydra.ConsentRequest(ctx, ch)
	if err != nil {
		return hydraError(err)
	}
	switch form.Get("action") {
	case "allow":
		return s.grantConsent(c, req, form.Get("remember") == "true")
	case "deny":
		// The description is for the app's developers (RFC 6749 §4.1.2.1).
		next, err := s.hydra.RejectConsent(ctx, ch, "access_denied", "The resource owner denied the request.")
		if err != nil {
			return hydraError(err)
		}
		s.answered.mark(ch)
		s.logger.InfoContext(ctx, "consent denied", "client_id", req.Client.ID, "identity_id", req.Subject)
		return s.redirectToHydra(c, next)
	}
	return badRequest("error.bad_link.form", fmt.Errorf("unknown consent action %q", clipForLog(form.Get("action"))))
}

// grantConsent accepts the consent request with the scopes asked for and
// the claims they release, and sends the browser on through Hydra.
func (s *Server) grantConsent(c *gin.Context, req *hydraext.ConsentRequest, remember bool) error {
	ctx := c.Request.Context()
	id, err := s.kratos.IdentityTraits(ctx, req.Subject)
	if err != nil {
		if errors.Is(err, kratosext.ErrIdentityNotFound) {
			return &httpError{Status: http.StatusNotFound, Heading: "oauth2.no_account.title", Message: "oauth2.no_account.message", Err: err}
		}
		return err
	}
	next, err := s.hydra.AcceptConsent(ctx, req.Challenge, hydraext.Grant{
		Scopes:      req.Scopes,
		Audience:    req.Audience,
		Remember:    remember,
		RememberFor: s.oauth2.RememberFor,
		IDToken:     idTokenClaims(s.oauth2.Claims, req.Scopes, id),
	})
	if err != nil {
		return hydraError(err)
	}
	s.answered.mark(req.Challenge)
	s.logger.InfoContext(ctx, "consent granted", "client_id", req.Client.ID, "identity_id", req.Subject,
		"skip", req.Skip, "remember", remember)
	return s.redirectToHydra(c, next)
}

// idTokenClaims picks the claims the granted scopes release from the
// identity's traits. The e-mail claim brings email_verified with it, as
// OpenID Connect defines them together.
func idTokenClaims(mapping map[string]map[string]string, scopes []string, id *kratosext.IdentityTraits) map[string]any {
	out := map[string]any{}
	for _, sc := range scopes {
		for claim, path := range mapping[sc] {
			v, ok := trait(id.Traits, path)
			if !ok {
				continue
			}
			out[claim] = v
			if claim == "email" {
				e, _ := v.(string)
				out["email_verified"] = e != "" && slices.Contains(id.Verified, e)
			}
		}
	}
	return out
}

// trait reads a dotted path such as name.first from traits.
func trait(traits map[string]any, path string) (any, bool) {
	var cur any = traits
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// redirectToHydra sends the browser where Hydra said, which must be
// Hydra's own public URL: Tandem never follows a redirect elsewhere on an
// API's word.
func (s *Server) redirectToHydra(c *gin.Context, next string) error {
	u, err := url.Parse(next)
	pub := s.hydra.PublicURL()
	if err != nil || !strings.EqualFold(u.Scheme, pub.Scheme) || !strings.EqualFold(u.Host, pub.Host) {
		return fmt.Errorf("hydra redirect to %q is outside its public URL", clipForLog(next))
	}
	s.redirect(c, u.String())
	return nil
}

// safeExternal keeps an https (or, for local development, http) URL from a
// client registration, or drops it.
func safeExternal(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// logoutPage asks before signing out.
type logoutPage struct {
	Heading   string
	Lead      string
	Action    string
	Challenge string
}

// handleLogout serves Hydra's logout URL. A logout an OAuth2 client asked
// for with its ID token (Hydra names the client) signs out at once; any
// other asks first, so that a link on another site cannot sign anyone
// out.
func (s *Server) handleLogout(c *gin.Context) error {
	ch, err := s.answerable(c.Query("logout_challenge"))
	if err != nil {
		return err
	}
	req, err := s.hydra.LogoutRequest(c.Request.Context(), ch)
	if err != nil {
		return hydraError(err)
	}
	if req.RPInitiated && req.Client != nil {
		return s.signOut(c, req)
	}
	l := s.localeOf(c)
	page := logoutPage{Heading: l.T("logout.heading"), Lead: l.T("logout.lead"), Action: s.path("/logout"), Challenge: ch}
	if req.Client != nil {
		page.Lead = l.Format("logout.lead_app", map[string]any{"App": req.Client.DisplayName()})
		// "Sign out" ends, through Kratos and Hydra, at the client's
		// post-logout URL.
		s.allowOrigins(c, originsOf(req.Client.PostLogoutRedirectURIs...), nil)
	}
	return s.render(c, http.StatusOK, "logout", page.Heading, page)
}

// handleLogoutAnswer takes the logout question's answer.
func (s *Server) handleLogoutAnswer(c *gin.Context) error {
	form, err := s.ownForm(c, "logout answer", maxOAuth2Form)
	if err != nil {
		return err
	}
	ch, err := s.answerable(form.Get("logout_challenge"))
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	req, err := s.hydra.LogoutRequest(ctx, ch)
	if err != nil {
		return hydraError(err)
	}
	switch c.Request.PostForm.Get("action") {
	case "sign_out":
		return s.signOut(c, req)
	case "stay":
		if err := s.hydra.RejectLogout(ctx, ch); err != nil {
			return hydraError(err)
		}
		s.answered.mark(ch)
		s.redirect(c, s.path("/welcome"))
		return nil
	}
	return badRequest("error.bad_link.form", fmt.Errorf("unknown logout action %q", clipForLog(c.Request.PostForm.Get("action"))))
}

// signOut accepts Hydra's logout request, then ends the Kratos session by
// sending the browser through Kratos' logout URL, which returns it to
// Hydra, which sends it to the client's post-logout URL.
func (s *Server) signOut(c *gin.Context, req *hydraext.LogoutRequest) error {
	ctx := c.Request.Context()
	next, err := s.hydra.AcceptLogout(ctx, req.Challenge)
	if err != nil {
		return hydraError(err)
	}
	s.answered.mark(req.Challenge)
	logout, err := s.kratos.LogoutURL(ctx, c.GetHeader("Cookie"), next)
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		// Signed out of Kratos already: only Hydra's session was left.
		return s.redirectToHydra(c, next)
	case err != nil:
		return err
	}
	s.logger.InfoContext(ctx, "oauth2 logout", "identity_id", req.Subject, "rp_initiated", req.RPInitiated)
	if !s.trustedRedirect(logout) {
		return fmt.Errorf("kratos logout URL %q is outside its public URL", clipForLog(logout))
	}
	s.redirect(c, logout)
	return nil
}

// oauth2ErrorCodes are the OAuth2 error codes (RFC 6749 §4.1.2.1,
// OpenID Connect Core §3.1.2.6) the catalog words for a person under
// oauth2.error.<code>. Hydra's own description is for developers and is
// logged, never shown: the query is anyone's to write.
var oauth2ErrorCodes = map[string]bool{
	"access_denied": true, "request_forbidden": true, "invalid_request": true, "invalid_client": true,
	"unauthorized_client": true, "invalid_scope": true, "login_required": true, "consent_required": true,
	"request_unauthorized": true, "temporarily_unavailable": true, "server_error": true, "unsupported_response_type": true,
}

// oauth2ErrorPage is Hydra's error URL: an OAuth2 request that cannot go
// back to its client (an unknown client, a bad redirect URI).
func (s *Server) oauth2ErrorPage(c *gin.Context, code string) error {
	msg := "oauth2.error.unlisted"
	if oauth2ErrorCodes[code] {
		msg = "oauth2.error." + code
	}
	s.logger.InfoContext(c.Request.Context(), "oauth2 error page", "error", clipForLog(code),
		"description", clipForLog(c.Query("error_description")))
	return &httpError{Status: http.StatusBadRequest, Heading: "oauth2.error.title", Message: msg,
		Err: fmt.Errorf("hydra error %q", clipForLog(code))}
}
