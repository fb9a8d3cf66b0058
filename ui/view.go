package ui

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// basePage is what every page's layout needs.
type basePage struct {
	Title string
	Nonce string
	CSS   string
	JS    string
}

func (s *Server) base(c *gin.Context, title string) basePage {
	return basePage{
		Title: title,
		Nonce: nonceFrom(c),
		CSS:   "/static/tandem.css?v=" + s.assetVersion["tandem.css"],
		JS:    "/static/tandem.js?v=" + s.assetVersion["tandem.js"],
	}
}

// flowPage renders any of the five self-service flows.
type flowPage struct {
	basePage
	Kind     string
	Heading  string
	Lead     string
	Action   string
	Messages []message
	// Hidden and Account are their nodes, rendered (see nodeView.HTML).
	Hidden  template.HTML
	Account template.HTML
	// AccountSummary names the account when its fields are hidden (the
	// second registration step), with the button that goes back.
	AccountSummary string
	Back           *nodeView
	Primary        *sectionView
	// Sections are the other methods, rendered (see sectionView.html).
	Sections template.HTML
	// Collapse puts Sections behind "another way": the passkey is the one
	// primary action.
	Collapse      bool
	CollapseLabel string
	// OpenAnother unfolds "another way" when one of those methods failed.
	OpenAnother bool
	// NotNow, on a prompt's add page, answers the prompt "not now".
	NotNow  *notNowForm
	Links   []link
	Scripts []nodeView
	// Data is pageData as JSON for tandem.js. encoding/json escapes < > &
	// (and U+2028/9), so it cannot close the <script> element it sits in.
	Data template.JS
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
}

type deviceView struct {
	Class        devices.DeviceClass  `json:"class"`
	Capabilities devices.Capabilities `json:"capabilities"`
}

type notNowForm struct {
	Prompt   devices.PromptKind
	ReturnTo string
}

type sectionView struct {
	Group string
	Title string
	// Nodes are the section's nodes, rendered.
	Nodes template.HTML
}

// HTML renders a secondary section: its heading (when shown) and nodes.
func (v sectionView) html(withTitle bool) string {
	var b strings.Builder
	b.WriteString(`<section class="method method-`)
	b.WriteString(html.EscapeString(v.Group))
	b.WriteString(`" data-group="`)
	b.WriteString(html.EscapeString(v.Group))
	b.WriteString(`"`)
	if v.Group == "webauthn" {
		b.WriteString(" data-needs-webauthn")
	}
	b.WriteString(">\n")
	if withTitle && v.Title != "" {
		b.WriteString("<h2>" + html.EscapeString(v.Title) + "</h2>\n")
	}
	b.WriteString(string(v.Nodes))
	b.WriteString("</section>\n")
	return b.String()
}

// renderNodes joins rendered nodes: one template action per group instead
// of one per node.
func renderNodes(nodes []nodeView) template.HTML {
	var b strings.Builder
	for _, n := range nodes {
		b.WriteString(string(n.HTML()))
		b.WriteByte('\n')
	}
	return template.HTML(b.String()) // #nosec: see nodeView.HTML
}

type link struct {
	Text, Href string
}

type message struct {
	ID   int64
	Type string
	Text string
}

// nodeView is a Kratos node reduced to what its template needs, decided in
// Go so the templates stay free of logic.
type nodeView struct {
	Kind         string // hidden, button, field, checkbox, text, codes, image, anchor, script
	ID           string
	Name         string
	Type         string
	Value        string
	Label        string
	Required     bool
	Disabled     bool
	Checked      bool
	Autocomplete string
	Pattern      string
	MaxLength    int
	// Ceremony is set on buttons that start a WebAuthn ceremony.
	Ceremony string
	// Style is primary, secondary, link or danger for buttons.
	Style    string
	Messages []message
	Text     string
	Codes    []string
	ImageSrc template.URL
	Width    int
	Height   int
	Href     string
	// Script attributes.
	Src            string
	Integrity      string
	Crossorigin    string
	Referrerpolicy string
	Async          bool
}

// plainer replaces Kratos' wording, by message id, where it confuses
// people who do not know the jargon. Other ids keep Kratos' text, which
// carries values (addresses, dates) interpolated for that message.
var plainer = map[int64]string{
	1040009: "Choose how you'll sign in.",                                                        // "Please choose a credential to authenticate yourself with."
	1010003: "Please confirm it's you to continue.",                                              // login refresh
	1010014: "We've e-mailed you a sign-in code. Enter it below.",                                // login code sent
	1060003: "We've e-mailed you a recovery code if the address has an account. Enter it below.", // recovery code sent
	1080003: "We've e-mailed you a verification code. Enter it below.",                           // verification code sent
}

func messages(ms []kratosext.Message) []message {
	out := make([]message, 0, len(ms))
	for _, m := range ms {
		t := m.Type
		if t == "" {
			t = "info"
		}
		text := m.Text
		if p, ok := plainer[m.ID]; ok {
			text = p
		}
		out = append(out, message{ID: m.ID, Type: t, Text: text})
	}
	return out
}

// idSafe turns an input name into an id fragment: letters, digits, _ and
// -, with every other run of bytes replaced by one "-".
func idSafe(name string) string {
	b := make([]byte, 0, len(name))
	dash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b = append(b, c)
			dash = false
		} else if !dash {
			b = append(b, '-')
			dash = true
		}
	}
	return string(b)
}

// dataImage accepts only inline raster images (Kratos' TOTP QR code).
var dataImage = regexp.MustCompile(`^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=]+$`)

// buttonLabels replaces Kratos' wording where Tandem's is plainer.
var buttonLabels = map[string]string{
	"passkey_login_trigger/login":                     "Sign in with a passkey",
	"passkey_login_trigger/login/desktop":             "Sign in with your phone",
	"passkey_register_trigger/registration":           "Create a passkey",
	"passkey_register_trigger/registration/phone":     "Create a passkey on your phone",
	"passkey_register_trigger/settings":               "Add a passkey",
	"passkey_register_trigger/settings/this_computer": "Add a passkey to this computer",
	"passkey_register_trigger/settings/phone":         "Create a passkey on my phone",
	"passkey_register_trigger/settings/this_phone":    "Create a passkey on this phone",
}

// nodeView builds a node's view. labelKey selects Tandem's own button
// labels: the flow kind, or a variant such as "registration/phone".
func (s *Server) nodeView(n kratosext.Node, labelKey string, seen map[string]int, style string) nodeView {
	a := n.Attributes
	v := nodeView{Messages: messages(n.Messages), Label: n.LabelText()}
	switch n.Type {
	case kratosext.NodeInput:
		v.Name, v.Type, v.Value = a.Name, a.InputType, a.StringValue()
		v.Required, v.Disabled = a.Required, a.Disabled
		v.Autocomplete, v.Pattern, v.MaxLength = a.Autocomplete, a.Pattern, a.MaxLength
		base := "f-" + idSafe(a.Name)
		seen[base]++
		v.ID = base
		if seen[base] > 1 {
			v.ID = base + "-" + itoa(seen[base])
		}
		switch {
		case a.InputType == "hidden":
			v.Kind = "hidden"
		case a.InputType == "submit" || a.InputType == "button":
			v.Kind = "button"
			v.Style = style
			if a.OnclickTrigger != "" {
				if ck, ok := kratosext.CeremonyForTrigger(a.OnclickTrigger); ok {
					v.Ceremony = string(ck)
				}
				v.Type = "button"
			}
			if l, ok := buttonLabels[a.Name+"/"+labelKey]; ok {
				v.Label = l
			}
			switch {
			case a.Name == "resend" || a.Name == "screen":
				v.Style = "link"
			case strings.HasSuffix(a.Name, "_remove") || a.Name == "totp_unlink" || a.Name == "lookup_secret_disable":
				v.Style = "danger"
			}
			if v.Label == "" {
				v.Label = v.Value
			}
		case a.InputType == "checkbox":
			v.Kind = "checkbox"
			v.Checked = a.Checked()
			v.Value = "true"
		default:
			v.Kind = "field"
		}
	case kratosext.NodeText:
		v.ID = a.ID
		v.Kind = "text"
		if codes := a.Text.Secrets(); len(codes) > 0 {
			v.Kind = "codes"
			v.Codes = codes
		} else if a.Text != nil {
			v.Text = a.Text.Text
		}
	case kratosext.NodeImage:
		v.Kind, v.ID, v.Width, v.Height = "image", a.ID, a.Width, a.Height
		switch {
		case dataImage.MatchString(a.Src):
			// html/template blocks data: URLs; this one is a checked image.
			v.ImageSrc = template.URL(a.Src)
		default:
			if u, err := url.Parse(a.Src); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
				v.ImageSrc = template.URL(u.String())
			}
		}
	case kratosext.NodeAnchor:
		v.Kind, v.ID, v.Href = "anchor", a.ID, safeHref(a.Href)
		if a.Title != nil {
			v.Label = a.Title.Text
		}
	case kratosext.NodeScript:
		v.Kind, v.ID = "script", a.ID
		v.Src, v.Integrity, v.Crossorigin, v.Referrerpolicy, v.Async = a.Src, a.Integrity, a.Crossorigin, a.Referrerpolicy, a.Async
		v.Type = a.InputType
	}
	return v
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

var sectionTitles = map[string]string{
	"passkey":       "Passkey",
	"password":      "Password",
	"code":          "E-mail code",
	"webauthn":      "Security key",
	"totp":          "Authenticator app",
	"lookup_secret": "Backup recovery codes",
	"oidc":          "Other accounts",
	"profile":       "Profile",
}

// flowView arranges a flow CDA-first and words it for a person.
func (s *Server) flowView(c *gin.Context, kind kratosext.FlowKind, f *kratosext.Flow, ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony, dev devices.Device, login *loginPlan) (flowPage, error) {
	l := kratosext.Arrange(&f.UI)
	p := flowPage{
		Kind:     string(kind),
		Action:   f.UI.Action,
		Messages: messages(f.UI.Messages),
	}
	data, err := json.Marshal(pageData{Flow: string(kind), FlowID: f.ID, Ceremonies: ceremonies,
		Device: &deviceView{Class: dev.Class, Capabilities: dev.Capabilities}, Login: login})
	if err != nil {
		return flowPage{}, fmt.Errorf("encode page data: %w", err)
	}
	p.Data = template.JS(data) // #nosec: HTML-escaped JSON, see flowPage.Data
	seen := map[string]int{}
	labelKey := string(kind)
	if kind == kratosext.Registration && onPhone(ceremonies[kratosext.PasskeyRegistration]) {
		labelKey = "registration/phone"
	}
	if kind == kratosext.Settings && addMode(f) != "" {
		labelKey = "settings/" + addMode(f)
		if dev.Class.Mobile() && addMode(f) == addThisComputer {
			labelKey = "settings/this_phone"
		}
	}
	if kind == kratosext.Login && !f.Refresh && !dev.Class.Mobile() {
		labelKey = "login/desktop"
	}
	var hidden, account []nodeView
	for _, n := range l.Hidden {
		hidden = append(hidden, s.nodeView(n, labelKey, seen, ""))
	}
	for _, n := range l.Account {
		account = append(account, s.nodeView(n, labelKey, seen, ""))
	}
	p.Hidden, p.Account = renderNodes(hidden), renderNodes(account)
	for _, n := range l.Scripts {
		p.Scripts = append(p.Scripts, s.nodeView(n, labelKey, seen, ""))
	}

	mode := ""
	if kind == kratosext.Settings {
		mode = addMode(f)
	}
	if mode != "" && l.Primary != nil {
		// A prompt sent the user here to add one passkey: show that alone.
		var trigger []kratosext.Node
		for _, n := range l.Primary.Nodes {
			if n.Attributes.OnclickTrigger != "" {
				trigger = append(trigger, n)
			}
		}
		l.Primary.Nodes = trigger
		l.Sections = nil
		p.Kind = "settings-add"
	}
	p.Collapse = l.Primary != nil && (kind == kratosext.Login || kind == kratosext.Registration)
	p.OpenAnother = f.UI.HasErrors() && f.Active != "passkey"
	if l.Primary != nil {
		sv := sectionView{Group: l.Primary.Group, Title: sectionTitles[l.Primary.Group]}
		var nodes []nodeView
		for _, n := range l.Primary.Nodes {
			nodes = append(nodes, s.nodeView(n, labelKey, seen, "primary"))
		}
		html := string(renderNodes(nodes))
		if kind == kratosext.Login && ceremonies[kratosext.PasskeyLogin] != nil && !f.Refresh {
			// Shown when the plan offers this computer's own passkey.
			html += `<button class="btn btn-secondary" type="button" data-ceremony="passkey_login" data-choice="` +
				choiceThisComputer + `" hidden>Use this computer's passkey instead</button>` + "\n"
		}
		if cer := ceremonies[kratosext.PasskeyRegistration]; cer != nil && cer.Choices[choiceThisComputer] != nil {
			// Hidden until the page learns this computer can hold a
			// passkey (isUserVerifyingPlatformAuthenticatorAvailable).
			html += `<button class="btn btn-secondary" type="button" data-ceremony="passkey_registration" data-choice="` +
				choiceThisComputer + `" hidden>Use this computer instead</button>` + "\n"
		}
		sv.Nodes = template.HTML(html) // #nosec: constant markup around rendered nodes
		p.Primary = &sv
	}
	var sections strings.Builder
	for _, sec := range l.Sections {
		style := "primary"
		if p.Collapse || kind == kratosext.Settings {
			style = "secondary"
		}
		sv := sectionView{Group: sec.Group, Title: sectionTitles[sec.Group]}
		var nodes []nodeView
		for _, n := range sec.Nodes {
			nv := s.nodeView(n, labelKey, seen, style)
			if nv.Name == "screen" {
				// Registration's "Back" returns to the first step; it sits
				// with the account summary, not among the methods.
				b := nv
				p.Back = &b
				continue
			}
			nodes = append(nodes, nv)
		}
		if len(nodes) > 0 {
			sv.Nodes = renderNodes(nodes)
			sections.WriteString(sv.html(p.Collapse || kind == kratosext.Settings))
		}
	}
	p.Sections = template.HTML(sections.String()) // #nosec: see nodeView.HTML
	if len(account) == 0 && kind == kratosext.Registration {
		for _, h := range hidden {
			if h.Name == "traits.email" {
				p.AccountSummary = h.Value
			}
		}
	}

	returnTo := f.ReturnTo
	withReturn := func(path string) string {
		if returnTo == "" {
			return path
		}
		return path + "?return_to=" + url.QueryEscape(returnTo)
	}
	switch kind {
	case kratosext.Login:
		p.Heading, p.Lead = "Sign in", "Welcome back."
		if !dev.Class.Mobile() && l.Primary != nil {
			p.Lead = "Use the passkey on your phone: your browser shows a code to scan with it."
		}
		p.CollapseLabel = "Sign in another way"
		switch {
		case f.Refresh:
			p.Heading, p.Lead = "Confirm it's you", "Please sign in again to continue."
		case f.RequestedAAL == "aal2":
			p.Heading, p.Lead = "One more step", "Confirm with your second factor."
		}
		if !f.Refresh && f.RequestedAAL != "aal2" {
			p.Links = []link{{"Create an account", withReturn("/registration")}, {"Forgot your password?", "/recovery"}}
		}
	case kratosext.Registration:
		p.Heading, p.Lead = "Create your account", "Start with your e-mail address."
		p.CollapseLabel = "Sign up another way"
		if l.Primary != nil {
			p.Heading, p.Lead = "Secure your account", "A passkey lets you sign in with your fingerprint, face or screen lock: nothing to remember, nothing to phish."
			if onPhone(ceremonies[kratosext.PasskeyRegistration]) {
				p.Heading = "Create a passkey on your phone"
				p.Lead = "Your phone will hold the passkey, so you can sign in anywhere with it. Select the button, then scan the code with your phone's camera."
			}
		}
		p.Links = []link{{"Already have an account? Sign in", withReturn("/login")}}
	case kratosext.Settings:
		p.Heading, p.Lead = "Account settings", "Manage how you sign in."
		p.Links = []link{{"Back to your account", "/welcome"}}
		switch mode {
		case addThisComputer:
			p.Heading = "Sign in faster on this computer"
			p.Lead = "Add a passkey to this computer: next time, sign in with its fingerprint reader, face or screen lock, without your phone."
			if dev.Class.Mobile() {
				p.Heading = "Sign in with a passkey next time"
				p.Lead = "Create a passkey on this phone: next time, its fingerprint, face or screen lock signs you in. No password to type."
			}
			p.Links = []link{{"Not now", f.ReturnTo}}
		case addPhone:
			p.Heading = "Sign in with your phone next time"
			p.Lead = "Create a passkey on your phone: select the button, then scan the code with your phone's camera. No password to type next time."
			p.Links = []link{{"Not now", f.ReturnTo}}
		}
		if kind, next, ok := addPrompt(f); ok && mode != "" {
			// "Not now" is an answer to the prompt: remember it.
			p.Links = nil
			p.NotNow = &notNowForm{Prompt: kind, ReturnTo: next}
		}
	case kratosext.Recovery:
		p.Heading, p.Lead = "Recover your account", "We'll e-mail you a code to get back in."
		p.Links = []link{{"Back to sign in", "/login"}}
	case kratosext.Verification:
		p.Heading, p.Lead = "Verify your e-mail address", "We'll e-mail you a code."
		p.Links = []link{{"Back to your account", "/welcome"}}
	}
	p.basePage = s.base(c, p.Heading)
	return p, nil
}
