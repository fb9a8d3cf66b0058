package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// flowID is the shape of a Kratos flow id (a UUID). Anything else is
// refused before it reaches Kratos.
var flowID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// builders word each flow kind's page.
func (s *Server) builder(kind kratosext.FlowKind) func(flowInput) (flowPage, error) {
	switch kind {
	case kratosext.Login:
		return s.buildLogin
	case kratosext.Registration:
		return s.buildRegistration
	case kratosext.Settings:
		return s.buildSettings
	case kratosext.Recovery:
		return s.buildRecovery
	}
	return s.buildVerification
}

// handleFlow serves /login, /registration, /settings, /recovery and
// /verification. Without ?flow= it sends the browser to Kratos to create
// the flow; with it, it fetches the flow (one Kratos call), plans the
// passkey ceremonies for this device and renders the page.
func (s *Server) handleFlow(kind kratosext.FlowKind) handlerFunc {
	build := s.builder(kind)
	return func(c *gin.Context) error {
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			return badRequest("error.bad_link.malformed_query", err)
		}
		id := q.Get("flow")
		if id == "" {
			if !s.health.ok(c.Request.Context()) {
				return &httpError{Status: http.StatusBadGateway, Heading: "error.kratos_down.title", Message: "error.kratos_down.message",
					Err: errors.New("kratos is not ready; not sending the browser there")}
			}
			if kind == kratosext.Login || kind == kratosext.Registration {
				s.throughContinue(q)
			}
			s.redirect(c, s.kratos.BrowserFlowURL(kind, q))
			return nil
		}
		if !flowID.MatchString(id) {
			return badRequest("error.bad_link.malformed_flow", fmt.Errorf("malformed flow id %q", clipForLog(id)))
		}
		f, err := s.kratos.GetFlow(c.Request.Context(), kind, id, c.GetHeader("Cookie"))
		if err != nil {
			return s.flowFailed(c, kind, q, err)
		}
		in := flowInput{c: c, kind: kind, f: f, l: s.localeOf(c)}
		if in.ceremonies, err = kratosext.Ceremonies(&f.UI); err != nil {
			return fmt.Errorf("%s flow %s: %w", kind, f.ID, err)
		}
		in.dev = s.device(c)
		switch kind {
		case kratosext.Registration:
			planSignUp(in.dev, in.ceremonies)
		case kratosext.Settings:
			planSettingsAdd(addMode(f), in.dev.Class.Mobile(), in.ceremonies)
		case kratosext.Login:
			in.login = s.planLogin(f, in.dev, in.ceremonies)
			if f.Refresh && f.RequestedAAL != "aal2" {
				if p := s.planRefresh(c, in.dev, in.ceremonies); p != nil {
					in.login = p
				}
			}
		}
		if r := f.OAuth2LoginRequest; r != nil && s.hydra != nil {
			// A sign-in for an OAuth2 client: Kratos' answer to this form
			// goes through Hydra to the client's redirect URI in one chain
			// of redirects when consent is remembered or the client is
			// trusted, and Chromium checks every hop against form-action.
			s.allowOrigins(c, originsOf(r.Client.RedirectURIs...), nil)
		}
		page, err := build(in)
		if err != nil {
			return fmt.Errorf("%s flow %s: %w", kind, f.ID, err)
		}
		status := http.StatusOK
		if f.UI.HasErrors() {
			// Still a page the user can act on, but say it was not accepted.
			status = http.StatusBadRequest
		}
		return s.render(c, status, "flow", page.Heading, page)
	}
}

// throughContinue makes a sign-in end at /continue, which may show a
// prompt before sending the browser to where it was going. Kratos checks
// return_to against its allowed list; /continue checks the inner one
// against Tandem's.
func (s *Server) throughContinue(q url.Values) {
	rt := q.Get("return_to")
	if rt == "" || strings.HasPrefix(rt, s.abs("/continue")) {
		return
	}
	q.Set("return_to", s.abs("/continue")+"?return_to="+url.QueryEscape(rt))
}

// flowFailed answers a flow Kratos would not give us: an expired or unknown
// flow starts a new one, a missing session goes to sign-in, anything else is
// an error page.
func (s *Server) flowFailed(c *gin.Context, kind kratosext.FlowKind, q url.Values, err error) error {
	var apiErr *kratosext.APIError
	errors.As(err, &apiErr)
	switch {
	case errors.Is(err, kratosext.ErrFlowGone):
		if apiErr != nil && apiErr.UseFlowID != "" && flowID.MatchString(apiErr.UseFlowID) {
			s.redirect(c, s.path("/"+string(kind))+"?flow="+apiErr.UseFlowID)
			return nil
		}
		q.Del("flow")
		s.redirect(c, s.kratos.BrowserFlowURL(kind, q))
		return nil
	case errors.Is(err, kratosext.ErrNoSession):
		// Settings without a (strong enough) session. Kratos says where to
		// step up; follow it only to Kratos or to us.
		if apiErr != nil && s.trustedRedirect(apiErr.RedirectTo) {
			s.redirect(c, apiErr.RedirectTo)
			return nil
		}
		q.Del("flow")
		s.redirect(c, s.kratos.BrowserFlowURL(kind, q))
		return nil
	}
	return err
}

// trustedRedirect reports whether raw points at Kratos' public API or at
// this UI: the only places Tandem forwards a browser to on Kratos' word.
func (s *Server) trustedRedirect(raw string) bool {
	if raw == "" {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return false
	}
	for _, o := range []*url.URL{s.kratos.PublicURL(), s.publicURL} {
		if strings.EqualFold(u.Scheme, o.Scheme) && strings.EqualFold(u.Host, o.Host) {
			return true
		}
	}
	return false
}
