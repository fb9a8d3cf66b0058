package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui/locale"
)

// flowPage is what templates/pages/flow.html renders, for every flow kind.
type flowPage struct {
	Kind    string
	Heading string
	Lead    string
	// JSHeading and JSLead, when set, replace Heading and Lead once
	// tandem.js has revealed the passkey: without JavaScript the page
	// leads with what works without it.
	JSHeading, JSLead string
	Messages          []message
	Action            string
	// Hidden and Account are their nodes, rendered (see nodeView.HTML).
	Hidden  template.HTML
	Account template.HTML
	// AccountSummary names the account when its fields are hidden (the
	// second registration step), with Back, the button that returns.
	AccountSummary string
	Back           *nodeView
	Primary        *primarySection
	Sections       []section
	// SectionsHTML is Sections rendered (see sectionsHTML).
	SectionsHTML template.HTML
	// Collapse puts Sections behind "another way" (CollapseLabel) once
	// tandem.js has shown the passkey; without JavaScript they stay open.
	Collapse      bool
	CollapseLabel string
	// OpenAnother keeps "another way" open: one of its methods failed.
	OpenAnother bool
	// NotNow, on a prompt's add page, answers the prompt "not now".
	NotNow *notNowForm
	Links  []link
	// Passkeys is the settings page's list; Confirm, when set, is the
	// whole page: the question before a removal.
	Passkeys *passkeysSection
	Confirm  *removeConfirm
	Scripts  []scriptView
	// Data is pageData as JSON for tandem.js. encoding/json escapes < > &
	// (and U+2028/9), so it cannot close the <script> element it sits in.
	Data template.JS
}

// primarySection is the passkey method, first on the page.
type primarySection struct {
	Group string
	// Title heads the section where methods are listed side by side
	// (settings).
	Title string
	Nodes template.HTML
	// ThisComputer labels the secondary choice tandem.js reveals when the
	// plan offers it ("Use this computer instead"); Ceremony is the
	// ceremony it runs. Empty: no such choice.
	ThisComputer         string
	ThisComputerCeremony string
	// NeedsJS hides the whole section without JavaScript.
	NeedsJS bool
}

// section is one other method.
type section struct {
	Group, Title string
	Nodes        template.HTML
	// NeedsJS: a method that only works with tandem.js (security keys).
	NeedsJS bool
}

type scriptView struct {
	Src, Integrity, Crossorigin, Referrerpolicy string
	Async                                       bool
}

type notNowForm struct {
	Prompt   devices.PromptKind
	ReturnTo string
}

// pageData is handed to tandem.js as JSON.
type pageData struct {
	Flow       string                                         `json:"flow"`
	FlowID     string                                         `json:"flowId"`
	Ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony `json:"ceremonies"`
	// Device is what Tandem knows of this browser: tandem.js reports its
	// capabilities again only when they differ.
	Device *deviceView `json:"device,omitempty"`
	// Login is the CDA login plan for this device (login pages).
	Login *loginPlan `json:"login,omitempty"`
	// API is where tandem.js posts (under the UI's base path).
	API string `json:"api"`
	// Signal is what the settings page tells the browser's passkey
	// provider (WebAuthn Signal API).
	Signal *signalData `json:"signal,omitempty"`
}

type deviceView struct {
	Class        devices.DeviceClass  `json:"class"`
	Capabilities devices.Capabilities `json:"capabilities"`
}

// flowInput is what every builder starts from.
type flowInput struct {
	c          *gin.Context
	kind       kratosext.FlowKind
	f          *kratosext.Flow
	ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony
	dev        devices.Device
	login      *loginPlan
	l          *locale.Locale
	signal     *signalData
}

// arrangement says how a builder wants the flow's nodes laid out.
type arrangement struct {
	// variant selects Tandem's button labels (see nodeWords).
	variant string
	// collapse puts the other methods behind "another way".
	collapse bool
	// titles heads each other method with its name.
	titles bool
	// secondary styles the other methods' buttons as secondary.
	secondary bool
	// only keeps only the primary section's ceremony buttons (a prompt's
	// add page).
	only bool
}

// sectionTitles are the catalog keys of each method's heading.
var sectionTitles = map[string]string{
	"passkey":       "method.passkey",
	"password":      "method.password",
	"code":          "method.code",
	"webauthn":      "method.webauthn",
	"totp":          "method.totp",
	"lookup_secret": "method.lookup_secret",
	"oidc":          "method.oidc",
	"profile":       "method.profile",
}

// assemble lays out a flow's nodes as a builder asked: the parts every
// flow page shares. The builder then words the page (heading, lead,
// links).
func (s *Server) assemble(in flowInput, a arrangement) (flowPage, error) {
	l := kratosext.Arrange(&in.f.UI)
	w := newNodeWords(in.l, string(in.kind), a.variant)
	p := flowPage{
		Kind:     string(in.kind),
		Action:   in.f.UI.Action,
		Messages: w.messages(in.f.UI.Messages),
		Collapse: a.collapse && l.Primary != nil,
	}
	data, err := json.Marshal(pageData{Flow: string(in.kind), FlowID: in.f.ID, Ceremonies: in.ceremonies,
		Device: &deviceView{Class: in.dev.Class, Capabilities: in.dev.Capabilities}, Login: in.login, API: s.path("/api"), Signal: in.signal})
	if err != nil {
		return flowPage{}, fmt.Errorf("encode page data: %w", err)
	}
	p.Data = template.JS(data) // #nosec: HTML-escaped JSON, see flowPage.Data
	hidden, account := w.views(l.Hidden, ""), w.views(l.Account, "")
	p.Hidden, p.Account = render(hidden), render(account)
	for _, n := range l.Scripts {
		at := n.Attributes
		p.Scripts = append(p.Scripts, scriptView{Src: at.Src, Integrity: at.Integrity, Crossorigin: at.Crossorigin,
			Referrerpolicy: at.Referrerpolicy, Async: at.Async})
	}
	if l.Primary != nil {
		p.Primary = primary(in, a, w, &l)
	}
	style := "primary"
	if a.secondary || p.Collapse {
		style = "secondary"
	}
	p.Sections, p.Back = s.sections(in, w, l.Sections, style, a.titles || p.Collapse)
	p.SectionsHTML = sectionsHTML(p.Sections)
	if len(account) == 0 {
		for _, h := range hidden {
			if h.Name == "traits.email" {
				p.AccountSummary = h.Value
			}
		}
	}
	p.OpenAnother = in.f.UI.HasErrors() && in.f.Active != "passkey"
	return p, nil
}

// primary is the method the page leads with. With a.only, just its
// ceremony buttons, and no other method.
func primary(in flowInput, a arrangement, w *nodeWords, l *kratosext.Layout) *primarySection {
	nodes := l.Primary.Nodes
	if a.only {
		nodes = nil
		for _, n := range l.Primary.Nodes {
			if n.Attributes.OnclickTrigger != "" {
				nodes = append(nodes, n)
			}
		}
		l.Sections = nil
	}
	p := &primarySection{Group: l.Primary.Group, Nodes: render(w.views(nodes, "primary"))}
	if a.titles {
		p.Title = in.l.T(sectionTitles[l.Primary.Group])
	}
	return p
}

// sections are the other methods, in Kratos' order, and registration's
// "Back" button, which sits with the account summary instead.
func (s *Server) sections(in flowInput, w *nodeWords, groups []kratosext.Section, style string, titled bool) ([]section, *nodeView) {
	var out []section
	var back *nodeView
	for _, sec := range groups {
		var nodes []nodeView
		for _, nv := range w.views(sec.Nodes, style) {
			if nv.Name == "screen" {
				b := nv
				back = &b
				continue
			}
			nodes = append(nodes, nv)
		}
		if len(nodes) == 0 {
			continue
		}
		sv := section{Group: sec.Group, Nodes: render(nodes), NeedsJS: sec.Group == "webauthn"}
		if sec.Group == "oidc" {
			// The providers' buttons: the configured name and icon.
			sv.Nodes = s.renderSocial(in.l, nodes)
		}
		if titled {
			if key, ok := sectionTitles[sec.Group]; ok {
				sv.Title = in.l.T(key)
			}
		}
		out = append(out, sv)
	}
	return out, back
}

// flowLink is a link from one flow's page to another (sign in ↔ sign
// up): a sign-in for an OAuth2 app keeps Hydra's login_challenge, which
// Kratos answers at the end of either flow; any other keeps return_to
// (see withReturn).
func (s *Server) flowLink(path string, f *kratosext.Flow) string {
	if r := f.OAuth2LoginRequest; r != nil && r.Challenge != "" && len(r.Challenge) <= maxChallenge {
		return s.path(path) + "?login_challenge=" + url.QueryEscape(r.Challenge)
	}
	return s.withReturn(path, f.ReturnTo)
}

// withReturn keeps a sign-in's return_to on a link to another flow, if
// it is one /continue would follow: Kratos keeps return_to as the browser
// sent it, and a page must not carry an unchecked one onwards.
func (s *Server) withReturn(path, returnTo string) string {
	if _, err := s.safeReturn(returnTo); returnTo == "" || err != nil {
		return s.path(path)
	}
	return s.path(path) + "?return_to=" + url.QueryEscape(returnTo)
}
