package kratosext

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// FlowKind names a Kratos self-service flow; it is also the path segment of
// its endpoints (/self-service/<kind>/browser, /self-service/<kind>/flows).
type FlowKind string

// The self-service flows Tandem renders.
const (
	Login        FlowKind = "login"
	Registration FlowKind = "registration"
	Settings     FlowKind = "settings"
	Recovery     FlowKind = "recovery"
	Verification FlowKind = "verification"
)

// Valid reports whether k is one of the five flows.
func (k FlowKind) Valid() bool {
	switch k {
	case Login, Registration, Settings, Recovery, Verification:
		return true
	}
	return false
}

// Flow is the part of any Kratos self-service flow that a UI needs. One type
// serves all five kinds: they share id, ui and the timestamps, and the
// kind-specific fields are few.
//
// Tandem decodes flows itself rather than through kratos-client-go: the
// SDK's generated decoders parse every flow three times and every node
// twice, and this decode sits on the page-render hot path.
type Flow struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"` // "browser" or "api"
	ExpiresAt  time.Time `json:"expires_at"`
	IssuedAt   time.Time `json:"issued_at"`
	RequestURL string    `json:"request_url"`
	ReturnTo   string    `json:"return_to,omitempty"`
	UI         UI        `json:"ui"`
	// State is the flow's step: "choose_method", "sent_email",
	// "passed_challenge", "success", … (login and registration in v1.3 use it
	// for the code method; settings uses "show_form"/"success").
	State string `json:"state,omitempty"`
	// Refresh is true on a login flow that re-authenticates a session.
	Refresh bool `json:"refresh,omitempty"`
	// RequestedAAL is "aal1" or "aal2" on login flows.
	RequestedAAL string `json:"requested_aal,omitempty"`
	// Active is the method the flow is in the middle of, if any.
	Active string `json:"active,omitempty"`
	// Identity is set on settings flows: the signed-in identity.
	Identity *FlowIdentity `json:"identity,omitempty"`
	// OAuth2LoginRequest is set on login and registration flows that
	// answer Hydra's login challenge: the OAuth2 client signing the user
	// in.
	OAuth2LoginRequest *OAuth2LoginRequest `json:"oauth2_login_request,omitempty"`
}

// OAuth2LoginRequest is the part of Hydra's login request that Kratos
// copies onto a flow and a UI shows or acts on.
type OAuth2LoginRequest struct {
	Challenge string `json:"challenge"`
	Skip      bool   `json:"skip"`
	Client    struct {
		ID           string   `json:"client_id"`
		Name         string   `json:"client_name"`
		RedirectURIs []string `json:"redirect_uris"`
	} `json:"client"`
}

// FlowIdentity is the slice of an identity that a settings flow carries.
type FlowIdentity struct {
	ID     string          `json:"id"`
	Traits json.RawMessage `json:"traits,omitempty"`
}

// UI is a flow's form: where to post, and the nodes to render.
type UI struct {
	Action   string    `json:"action"`
	Method   string    `json:"method"`
	Nodes    []Node    `json:"nodes"`
	Messages []Message `json:"messages,omitempty"`
}

// Node is one Kratos UI node. Its Type selects which Attributes fields mean
// anything.
type Node struct {
	Type       string     `json:"type"` // input, text, img, a, script
	Group      string     `json:"group"`
	Attributes Attributes `json:"attributes"`
	Messages   []Message  `json:"messages,omitempty"`
	Meta       Meta       `json:"meta"`
}

// Node types.
const (
	NodeInput  = "input"
	NodeText   = "text"
	NodeImage  = "img"
	NodeAnchor = "a"
	NodeScript = "script"
)

// Attributes is the union of every node type's attributes. The field sets
// barely overlap and a union decodes in one pass, which the SDK's
// discriminated oneOf does not.
type Attributes struct {
	NodeType string `json:"node_type"`

	// input
	Name           string          `json:"name,omitempty"`
	InputType      string          `json:"type,omitempty"` // also script's type
	Value          json.RawMessage `json:"value,omitempty"`
	Required       bool            `json:"required,omitempty"`
	Disabled       bool            `json:"disabled,omitempty"`
	Pattern        string          `json:"pattern,omitempty"`
	MaxLength      int             `json:"maxlength,omitempty"`
	Autocomplete   string          `json:"autocomplete,omitempty"`
	Label          *Text           `json:"label,omitempty"`
	OnclickTrigger string          `json:"onclickTrigger,omitempty"`
	OnloadTrigger  string          `json:"onloadTrigger,omitempty"`

	// text, img, a, script share id
	ID string `json:"id,omitempty"`

	// text
	Text *Text `json:"text,omitempty"`

	// img, script
	Src    string `json:"src,omitempty"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`

	// a
	Href  string `json:"href,omitempty"`
	Title *Text  `json:"title,omitempty"`

	// script
	Async          bool   `json:"async,omitempty"`
	Crossorigin    string `json:"crossorigin,omitempty"`
	Integrity      string `json:"integrity,omitempty"`
	Referrerpolicy string `json:"referrerpolicy,omitempty"`
	Nonce          string `json:"nonce,omitempty"`
}

// StringValue returns an input's value as the string a form would post:
// strings unquoted, other JSON values (numbers, booleans) as written.
func (a Attributes) StringValue() string {
	v := a.Value
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		// Most values (tokens, JSON options, e-mail addresses) carry no
		// escape sequence: slice them instead of running a decoder.
		if len(v) >= 2 && v[len(v)-1] == '"' && !bytes.ContainsAny(v[1:len(v)-1], "\\\"") {
			return string(v[1 : len(v)-1])
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// Checked reports whether a checkbox input's value is true.
func (a Attributes) Checked() bool { return string(a.Value) == "true" }

// Meta carries a node's label.
type Meta struct {
	Label *Text `json:"label,omitempty"`
}

// Text is a Kratos UI text: a message id, its English text and the values
// that were interpolated into it.
type Text struct {
	ID      int64           `json:"id"`
	Text    string          `json:"text"`
	Type    string          `json:"type,omitempty"` // info, error, success
	Context json.RawMessage `json:"context,omitempty"`
}

// Message is a Text shown with a flow or a node.
type Message = Text

// Secrets returns the list a text node carries in its context, such as
// lookup-secret recovery codes (context.secrets[].text).
func (t *Text) Secrets() []string {
	if t == nil || len(t.Context) == 0 {
		return nil
	}
	var c struct {
		Secrets []struct {
			Text string `json:"text"`
		} `json:"secrets"`
	}
	if json.Unmarshal(t.Context, &c) != nil {
		return nil
	}
	out := make([]string, 0, len(c.Secrets))
	for _, s := range c.Secrets {
		out = append(out, s.Text)
	}
	return out
}

// NodeByName returns the first input node called name.
func (u *UI) NodeByName(name string) (*Node, bool) {
	for i := range u.Nodes {
		if u.Nodes[i].Attributes.Name == name {
			return &u.Nodes[i], true
		}
	}
	return nil, false
}

// IsHidden reports whether a node renders nothing visible.
func (n *Node) IsHidden() bool {
	return n.Type == NodeInput && n.Attributes.InputType == "hidden"
}

// LabelText is the text a person reads next to the node.
func (n *Node) LabelText() string {
	if n.Meta.Label != nil && n.Meta.Label.Text != "" {
		return n.Meta.Label.Text
	}
	if n.Attributes.Label != nil {
		return n.Attributes.Label.Text
	}
	return ""
}

// HasErrors reports whether the flow or any node carries an error message.
func (u *UI) HasErrors() bool {
	for _, m := range u.Messages {
		if m.Type == "error" {
			return true
		}
	}
	for i := range u.Nodes {
		for _, m := range u.Nodes[i].Messages {
			if m.Type == "error" {
				return true
			}
		}
	}
	return false
}

// identifierName reports whether an input names the account: login's
// identifier or a registration trait.
func identifierName(name string) bool {
	return name == "identifier" || strings.HasPrefix(name, "traits.")
}

// HasGroup reports whether any node belongs to group (a method Kratos
// offers in this flow).
func (u *UI) HasGroup(group string) bool {
	for i := range u.Nodes {
		if u.Nodes[i].Group == group {
			return true
		}
	}
	return false
}
