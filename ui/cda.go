package ui

import (
	"errors"
	"net/url"

	"github.com/gin-gonic/gin"
	"github.com/go-webauthn/webauthn/protocol"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// acceptCH asks Chromium-based browsers for the client hints the CDA policy
// reads: the following requests carry them.
const acceptCH = "Sec-CH-UA-Mobile, Sec-CH-UA-Platform, Sec-CH-UA-Platform-Version, Sec-CH-UA-Model"

// choiceThisComputer is the secondary sign-up choice: "Use this computer
// instead".
const choiceThisComputer = "this_computer"

// device describes the requesting browser: its class from the User-Agent
// and client hints of this request, its capabilities from what it reported
// before (unknown on a first visit).
func (s *Server) device(c *gin.Context) devices.Device {
	return s.deviceByID(c, deviceFrom(c))
}

// deviceByID is device for a device id the caller has verified (the API
// routes read the cookie themselves).
func (s *Server) deviceByID(c *gin.Context, id string) devices.Device {
	class, os, browser := browser.Classify(c.GetHeader("User-Agent"), c.GetHeader("Sec-CH-UA-Mobile"), c.GetHeader("Sec-CH-UA-Platform"))
	d := devices.Device{ID: id, Class: class, OS: os, Browser: browser}
	if fresh, _ := c.Request.Context().Value(newDeviceKey{}).(bool); d.ID == "" || fresh {
		return d
	}
	if cached, found, ok := s.devices.get(d.ID); ok {
		if found {
			d.Capabilities = cached.Capabilities
		}
		return d
	}
	stored, err := s.store.GetDevice(c.Request.Context(), d.ID)
	switch {
	case err == nil:
		d.Capabilities = stored.Capabilities
		s.devices.put(d.ID, stored, true)
	case errors.Is(err, devices.ErrNotFound):
		s.devices.put(d.ID, devices.Device{}, false)
	default:
		// The plan falls back to unknown capabilities: a degraded choice
		// of options, not a reason to fail the page.
		s.logger.WarnContext(c.Request.Context(), "read device", "err", err)
	}
	return d
}

// planSignUp rewrites the passkey registration for this device, CDA-first:
// on a desktop the passkey is created on the phone.
func planSignUp(d devices.Device, ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony) {
	cer := ceremonies[kratosext.PasskeyRegistration]
	if cer == nil {
		return
	}
	plan := devices.PlanSignUp(d)
	switch {
	case plan.Passkey != nil:
		cer.Plan = createPlan(plan.Passkey)
		if plan.ThisComputer != nil {
			cer.Choices = map[string]*kratosext.Plan{choiceThisComputer: createPlan(plan.ThisComputer)}
		}
	case plan.ThisComputer != nil:
		cer.Plan = createPlan(plan.ThisComputer)
	}
}

func createPlan(r *devices.CreateRequest) *kratosext.Plan {
	p := &kratosext.Plan{Attachment: protocol.AuthenticatorAttachment(r.Attachment)}
	for _, h := range r.Hints {
		p.Hints = append(p.Hints, protocol.PublicKeyCredentialHints(h))
	}
	return p
}

// onPhone reports whether a sign-up plan creates the passkey on a phone
// reached over hybrid, for the page's wording.
func onPhone(cer *kratosext.Ceremony) bool {
	return cer != nil && cer.Plan != nil && cer.Plan.Attachment == protocol.CrossPlatform
}

// Add modes: a settings flow whose return_to carries tandem_add=… shows
// only the passkey creation a prompt asked for.
const (
	addThisComputer = "this_computer"
	addPhone        = "phone"
)

// addMode reads the prompt's request from a settings flow's return_to.
func addMode(f *kratosext.Flow) string {
	if f.ReturnTo == "" {
		return ""
	}
	u, err := url.Parse(f.ReturnTo)
	if err != nil {
		return ""
	}
	switch m := u.Query().Get("tandem_add"); m {
	case addThisComputer, addPhone:
		return m
	}
	return ""
}

// addPrompt is the prompt an add-mode settings flow answers, and where
// the browser goes after it: its "Not now" posts a snooze for that prompt.
func addPrompt(f *kratosext.Flow) (kind devices.PromptKind, next string, ok bool) {
	u, err := url.Parse(f.ReturnTo)
	if err != nil {
		return "", "", false
	}
	q := u.Query()
	kind = devices.PromptKind(q.Get("tandem_prompt"))
	if kind != devices.PromptPostCDA && kind != devices.PromptUpgrade {
		return "", "", false
	}
	return kind, q.Get("return_to"), true
}

// planSettingsAdd sets the settings passkey ceremony for an add mode:
// this computer's own authenticator, or a phone over hybrid.
//
// Without a mode (the settings page), a desktop adds a passkey on the
// phone, and on this computer only by the secondary choice; a phone adds
// one on itself. Kratos' hard-coded platform attachment never reaches a
// desktop's browser unasked.
func planSettingsAdd(mode string, mobile bool, ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony) {
	cer := ceremonies[kratosext.PasskeySettings]
	if cer == nil {
		return
	}
	switch mode {
	case "":
		// The settings page itself: CDA-first on every device.
		cer.Plan = createPlan(&devices.CreateRequest{Attachment: devices.AttachmentCrossPlatform, Hints: []devices.Hint{devices.HintHybrid}})
		cer.Choices = map[string]*kratosext.Plan{choiceThisComputer: createPlan(&devices.CreateRequest{
			Attachment: devices.AttachmentPlatform, Hints: []devices.Hint{devices.HintClientDevice}})}
		if mobile {
			// A phone is its own phone.
			cer.Plan, cer.Choices = cer.Choices[choiceThisComputer], nil
		}
	case addThisComputer:
		cer.Plan = createPlan(&devices.CreateRequest{Attachment: devices.AttachmentPlatform, Hints: []devices.Hint{devices.HintClientDevice}})
	case addPhone:
		cer.Plan = createPlan(&devices.CreateRequest{Attachment: devices.AttachmentCrossPlatform, Hints: []devices.Hint{devices.HintHybrid}})
	}
}

// planLogin decides the login page's CDA plan before the identity is known
// (refresh flows keep Kratos' own narrowed request). tandem.js revises it
// once the page has probed the browser, and narrows it once the user gives
// an identifier (/api/login-plan).
func (s *Server) planLogin(f *kratosext.Flow, d devices.Device, ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony) *loginPlan {
	if f.Refresh || f.RequestedAAL == "aal2" {
		return nil
	}
	plan := viewLoginPlan(devices.PlanLogin(devices.LoginInput{Device: d}))
	if cer := ceremonies[kratosext.PasskeyLogin]; cer != nil && plan.Passkey != nil {
		cer.Plan = plan.Passkey
	}
	return plan
}

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
