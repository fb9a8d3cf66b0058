package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// flowID is the shape of a Kratos flow id (a UUID). Anything else is
// refused before it reaches Kratos.
var flowID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// handleFlow serves /login, /registration, /settings, /recovery and
// /verification. Without ?flow= it sends the browser to Kratos to create
// the flow; with it, it fetches the flow (one Kratos call) and renders it.
func (s *Server) handleFlow(kind kratosext.FlowKind) handlerFunc {
	return func(c *gin.Context) error {
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			return badRequest("The address has a malformed query string.", err)
		}
		id := q.Get("flow")
		if id == "" {
			if kind == kratosext.Login || kind == kratosext.Registration {
				s.throughContinue(q)
			}
			c.Redirect(http.StatusSeeOther, s.kratos.BrowserFlowURL(kind, q))
			return nil
		}
		if !flowID.MatchString(id) {
			return badRequest("The link you followed is not a valid sign-in link.", fmt.Errorf("malformed flow id %q", id))
		}
		f, err := s.kratos.GetFlow(c.Request.Context(), kind, id, c.GetHeader("Cookie"))
		if err != nil {
			return s.flowFailed(c, kind, q, err)
		}
		ceremonies, err := kratosext.Ceremonies(&f.UI)
		if err != nil {
			return fmt.Errorf("%s flow %s: %w", kind, f.ID, err)
		}
		var dev devices.Device
		var login *loginPlan
		switch kind {
		case kratosext.Registration:
			dev = s.planSignUp(c, ceremonies)
		case kratosext.Settings:
			dev = s.device(c)
			planSettingsAdd(addMode(f), ceremonies)
		case kratosext.Login:
			dev = s.device(c)
			login = s.planLogin(f, dev, ceremonies)
		default:
			dev = s.device(c)
		}
		page, err := s.flowView(c, kind, f, ceremonies, dev, login)
		if err != nil {
			return fmt.Errorf("%s flow %s: %w", kind, f.ID, err)
		}
		status := http.StatusOK
		if f.UI.HasErrors() {
			// Still a page the user can act on, but say it was not accepted.
			status = http.StatusBadRequest
		}
		return s.render(c, status, "flow", page)
	}
}

// throughContinue makes a sign-in end at /continue, which may show a
// prompt before sending the browser to where it was going. Kratos checks
// return_to against its allowed list; /continue checks the inner one
// against Tandem's.
func (s *Server) throughContinue(q url.Values) {
	rt := q.Get("return_to")
	if rt == "" || strings.HasPrefix(rt, s.origin+"/continue") {
		return
	}
	q.Set("return_to", s.origin+"/continue?return_to="+url.QueryEscape(rt))
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
			c.Redirect(http.StatusSeeOther, "/"+string(kind)+"?flow="+apiErr.UseFlowID)
			return nil
		}
		q.Del("flow")
		c.Redirect(http.StatusSeeOther, s.kratos.BrowserFlowURL(kind, q))
		return nil
	case errors.Is(err, kratosext.ErrNoSession):
		// Settings without a (strong enough) session. Kratos says where to
		// step up; follow it only to Kratos or to us.
		if apiErr != nil && s.trustedRedirect(apiErr.RedirectTo) {
			c.Redirect(http.StatusSeeOther, apiErr.RedirectTo)
			return nil
		}
		q.Del("flow")
		c.Redirect(http.StatusSeeOther, s.kratos.BrowserFlowURL(kind, q))
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
