package ui

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-webauthn/webauthn/protocol"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// loginPlan is the login plan as tandem.js reads it: which flow the page
// runs, and how the passkey button (and "use this computer's passkey")
// rewrite Kratos' request.
type loginPlan struct {
	Flow         devices.LoginFlow `json:"flow"`
	Passkey      *kratosext.Plan   `json:"passkey,omitempty"`
	ThisComputer *kratosext.Plan   `json:"thisComputer,omitempty"`
	// Message explains a fallback to password or code, when there is one.
	Message string `json:"message,omitempty"`
}

func viewLoginPlan(p devices.LoginPlan) *loginPlan {
	return &loginPlan{Flow: p.Flow, Passkey: getPlan(p.Passkey), ThisComputer: getPlan(p.ThisComputer)}
}

func getPlan(r *devices.GetRequest) *kratosext.Plan {
	if r == nil {
		return nil
	}
	p := &kratosext.Plan{}
	for _, h := range r.Hints {
		p.Hints = append(p.Hints, protocol.PublicKeyCredentialHints(h))
	}
	for _, c := range r.AllowCredentials {
		raw, err := c.ID.Bytes()
		if err != nil {
			continue
		}
		d := protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: raw}
		for _, t := range c.Transports {
			d.Transport = append(d.Transport, protocol.AuthenticatorTransport(t))
		}
		p.AllowCredentials = append(p.AllowCredentials, d)
	}
	return p
}

// sameOrigin refuses a request that did not come from this UI's own pages.
func (s *Server) sameOrigin(c *gin.Context) bool {
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		apiError(c, http.StatusForbidden, "cross-site requests are not accepted")
		return false
	}
	if c.GetHeader("Origin") != s.origin {
		apiError(c, http.StatusForbidden, "requests must come from "+s.origin)
		return false
	}
	if c.ContentType() != "application/json" {
		apiError(c, http.StatusUnsupportedMediaType, "the body must be application/json")
		return false
	}
	return true
}

// requestDevice verifies the device cookie of an API request.
func (s *Server) requestDevice(c *gin.Context) (string, bool) {
	v, err := c.Cookie(browser.CookieName)
	if err == nil {
		if id, err := s.cookies.Decode(v); err == nil {
			return id, true
		}
	}
	apiError(c, http.StatusBadRequest, "no valid device cookie: reload the page")
	return "", false
}

// readJSON reads a small JSON body into dst.
func readJSON(c *gin.Context, limit int64, dst any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(c, http.StatusRequestEntityTooLarge, "the body is too large")
		} else {
			apiError(c, http.StatusBadRequest, "could not read the body")
		}
		return false
	}
	if err := json.Unmarshal(body, dst); err != nil {
		apiError(c, http.StatusBadRequest, "the body is not the JSON object expected")
		return false
	}
	return true
}

// handleDevice records what the browser can do (tandem.js sends it once
// per device and whenever it changes) and answers the login plan those
// capabilities call for.
func (s *Server) handleDevice(c *gin.Context) {
	if !s.sameOrigin(c) {
		return
	}
	id, ok := s.requestDevice(c)
	if !ok {
		return
	}
	if !s.limiter.allow("device:" + id) {
		apiError(c, http.StatusTooManyRequests, "too many requests; try again in a minute")
		return
	}
	var req struct {
		Capabilities devices.Capabilities `json:"capabilities"`
	}
	if !readJSON(c, 2<<10, &req) {
		return
	}
	class, os, browser := browser.Classify(c.GetHeader("User-Agent"), c.GetHeader("Sec-CH-UA-Mobile"), c.GetHeader("Sec-CH-UA-Platform"))
	d, err := s.store.UpsertDevice(c.Request.Context(), devices.Device{ID: id, Class: class, OS: os, Browser: browser, Capabilities: req.Capabilities})
	if errors.Is(err, devices.ErrInvalid) {
		apiError(c, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.logger.ErrorContext(c.Request.Context(), "record device", "err", err)
		apiError(c, http.StatusServiceUnavailable, "could not record the device")
		return
	}
	s.devices.put(d.ID, d, true)
	c.JSON(http.StatusOK, gin.H{"login": viewLoginPlan(devices.PlanLogin(devices.LoginInput{Device: d}))})
}

// noPhonePasskey is what an identifier-first sign-in says when there is no
// passkey on a phone to ask for. It is the same whether or not the account
// exists, so that the answer does not tell who has an account.
const noPhonePasskey = "There is no passkey on a phone for this account yet. Sign in another way below."

// handleLoginPlan narrows the passkey request to one identity: the
// identifier-first rows of the CDA table. The browser then asks the phone
// that holds the passkey straight away (the QR code), or offers this
// computer's passkey.
func (s *Server) handleLoginPlan(c *gin.Context) {
	if !s.sameOrigin(c) {
		return
	}
	id, ok := s.requestDevice(c)
	if !ok {
		return
	}
	// Each answer says whether an address has a phone passkey: throttle.
	if !s.limiter.allow("plan:" + id) {
		apiError(c, http.StatusTooManyRequests, "too many attempts; try again in a minute")
		return
	}
	var req struct {
		Identifier string `json:"identifier"`
	}
	if !readJSON(c, 1<<10, &req) {
		return
	}
	identifier := strings.TrimSpace(req.Identifier)
	if identifier == "" || len(identifier) > 320 {
		apiError(c, http.StatusBadRequest, "enter your e-mail address")
		return
	}
	fallback := &loginPlan{Flow: devices.LoginPasswordOrCode, Message: noPhonePasskey}
	ctx := c.Request.Context()
	identity, err := s.kratos.IdentityByIdentifier(ctx, identifier)
	if errors.Is(err, kratosext.ErrIdentityNotFound) {
		c.JSON(http.StatusOK, fallback)
		return
	}
	if err != nil {
		s.logger.ErrorContext(ctx, "find identity for login plan", "err", err)
		apiError(c, http.StatusBadGateway, "the sign-in service did not answer; try again")
		return
	}
	creds, err := s.store.ListCredentials(ctx, identity, devices.CredentialFilter{})
	if err != nil {
		s.logger.ErrorContext(ctx, "list credentials for login plan", "err", err)
		apiError(c, http.StatusServiceUnavailable, "could not read your passkeys; try again")
		return
	}
	local := false
	if link, err := s.store.GetLink(ctx, id, identity); err == nil {
		local = link.LocalPasskey
	}
	plan := devices.PlanLogin(devices.LoginInput{Device: s.deviceByID(c, id), Identified: true, Credentials: creds, LocalPasskey: local})
	v := viewLoginPlan(plan)
	if v.Flow == devices.LoginPasswordOrCode {
		v.Message = noPhonePasskey
	}
	c.JSON(http.StatusOK, v)
}
