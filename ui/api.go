package ui

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// This file is the page's own JSON API under /api: what tandem.js posts
// (observations, capabilities, an identifier to narrow the sign-in to)
// and the checks every such request passes first (same origin, a device
// cookie Tandem issued, a bounded JSON body, a rate limit).

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
	if !s.limits.report.allow(c.ClientIP()) {
		tooMany(c)
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
const noPhonePasskey = "login.no_phone_passkey"

// loginPlanFloor is the least time /api/login-plan takes to answer. The
// same reads answer an unknown address and an account without a phone
// passkey, but Kratos finds one identity and not the other in different
// times; answering no sooner than this hides that difference (a few
// milliseconds) under one a person does not notice before the QR code.
const loginPlanFloor = 40 * time.Millisecond

// handleLoginPlan narrows the passkey request to one identity: the
// identifier-first rows of the CDA table. The browser then asks the phone
// that holds the passkey straight away (the QR code), or offers this
// computer's passkey.
func (s *Server) handleLoginPlan(c *gin.Context) {
	start := time.Now()
	if !s.sameOrigin(c) {
		return
	}
	device, ok := s.requestDevice(c)
	if !ok {
		return
	}
	// Each answer says whether an address has a phone passkey: throttle.
	if !s.limits.lookup.allow(c.ClientIP()) {
		tooMany(c)
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
	plan, err := s.loginPlanFor(c, device, identifier)
	// Answer no sooner than the floor, whatever was found.
	select {
	case <-time.After(time.Until(start.Add(loginPlanFloor))):
	case <-c.Request.Context().Done():
		return
	}
	switch {
	case errors.Is(err, kratosext.ErrUnavailable), errors.Is(err, kratosext.ErrTimeout):
		s.logger.ErrorContext(c.Request.Context(), "find identity for login plan", "err", err)
		apiError(c, http.StatusBadGateway, "the sign-in service did not answer; try again")
	case err != nil:
		s.logger.ErrorContext(c.Request.Context(), "read credentials for login plan", "err", err)
		apiError(c, http.StatusServiceUnavailable, "could not read your passkeys; try again")
	default:
		c.JSON(http.StatusOK, plan)
	}
}

// loginPlanFor plans the sign-in of identifier on device.
func (s *Server) loginPlanFor(c *gin.Context, device, identifier string) (*loginPlan, error) {
	ctx := c.Request.Context()
	identity, err := s.kratos.IdentityByIdentifier(ctx, identifier)
	if errors.Is(err, kratosext.ErrIdentityNotFound) {
		// An unknown address takes the same path as an account without a
		// passkey, against an identity no one has: the same store reads,
		// the same answer, so neither its words nor the work behind it
		// tells whether the address has an account.
		identity, err = s.nobody, nil
	}
	if err != nil {
		return nil, err
	}
	creds, err := s.store.ListCredentials(ctx, identity, devices.CredentialFilter{})
	if err != nil {
		return nil, err
	}
	local := false
	if link, err := s.store.GetLink(ctx, device, identity); err == nil {
		local = link.LocalPasskey
	}
	v := viewLoginPlan(devices.PlanLogin(devices.LoginInput{Device: s.deviceByID(c, device), Identified: true, Credentials: creds, LocalPasskey: local}))
	if v.Flow == devices.LoginPasswordOrCode {
		v.Message = s.localeOf(c).T(noPhonePasskey)
	}
	return v, nil
}

// observationTTL outlives Kratos' flow lifespan (30 min in kratos.yml): an
// observation is useless once its flow has expired.
const observationTTL = 35 * time.Minute

// maxObserveBody bounds /api/observe: a report is a few hundred bytes.
const maxObserveBody = 8 << 10

type observeRequest struct {
	FlowID string          `json:"flow_id"`
	Report json.RawMessage `json:"report"`
}

// handleObserve stores what the browser reported about a ceremony, keyed
// by the flow and this device, for the web hook to join. It is same-origin
// only: the Origin must be the UI's, and cross-site fetches are refused
// before anything is read.
func (s *Server) handleObserve(c *gin.Context) {
	if !s.sameOrigin(c) {
		return
	}
	// The device must be one this UI issued: a report under any other id
	// could never be joined, and must not fill the store.
	device, ok := s.requestDevice(c)
	if !ok {
		return
	}
	if !s.limits.report.allow(c.ClientIP()) {
		tooMany(c)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxObserveBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(c, http.StatusRequestEntityTooLarge, "the report is too large")
			return
		}
		apiError(c, http.StatusBadRequest, "could not read the body")
		return
	}
	var req observeRequest
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(c, http.StatusBadRequest, "the body is not a JSON object with flow_id and report")
		return
	}
	if !flowID.MatchString(req.FlowID) {
		apiError(c, http.StatusBadRequest, "flow_id must be a Kratos flow id")
		return
	}
	rep, err := browser.DecodeReport(req.Report)
	if err != nil {
		apiError(c, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	// Only the fields Tandem reads are kept, whatever else was sent.
	data, err := rep.Encode()
	if err != nil {
		apiError(c, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	err = s.store.PutObservation(c.Request.Context(), devices.Observation{
		FlowID:    req.FlowID,
		DeviceID:  device,
		Data:      data,
		ExpiresAt: s.now().Add(observationTTL),
	})
	if err != nil {
		s.logger.ErrorContext(c.Request.Context(), "store observation", "flow_id", req.FlowID, "err", err)
		apiError(c, http.StatusServiceUnavailable, "could not store the report; the sign-in goes on without it")
		return
	}
	c.Status(http.StatusNoContent)
}

func apiError(c *gin.Context, status int, msg string) {
	c.Header("Cache-Control", "no-store")
	c.JSON(status, gin.H{"error": gin.H{"code": status, "status": http.StatusText(status), "message": msg}})
}

// tooMany answers a request over its budget (see limits.go).
func tooMany(c *gin.Context) {
	c.Header("Retry-After", "60")
	apiError(c, http.StatusTooManyRequests, "too many requests; try again in a minute")
}

// originOf is scheme://host of a URL string.
func originOf(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	return raw[:i+3] + rest
}
