package ui

import (
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui/locale"
)

// nodeView is a Kratos node reduced to what the node writer needs,
// decided here so that the writer and the templates stay free of logic.
type nodeView struct {
	Kind         string // hidden, button, field, checkbox, text, codes, image, anchor
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
	// Ceremony is set on buttons that start a WebAuthn ceremony; they are
	// hidden until tandem.js shows them (a page without JavaScript cannot
	// run one).
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
}

type message struct {
	ID   int64
	Type string
	Text string
}

// nodeWords words nodes for one page: the locale, and which of Tandem's
// own button labels the page calls for.
type nodeWords struct {
	l *locale.Locale
	// kind and variant select button.<name>.<kind>_<variant>, then
	// button.<name>.<kind>, in the catalog ("login_desktop",
	// "settings_phone"). A button without either keeps Kratos' label.
	kind, variant string
	seen          map[string]int
}

func newNodeWords(l *locale.Locale, kind, variant string) *nodeWords {
	return &nodeWords{l: l, kind: kind, variant: variant, seen: map[string]int{}}
}

// messages words Kratos' messages in the page's language.
func (w *nodeWords) messages(ms []kratosext.Message) []message {
	if len(ms) == 0 {
		return nil
	}
	out := make([]message, 0, len(ms))
	for _, m := range ms {
		t := m.Type
		if t == "" {
			t = "info"
		}
		out = append(out, message{ID: m.ID, Type: t, Text: w.l.Kratos(m.ID, m.Context, m.Text)})
	}
	return out
}

// label is what a person reads next to a node: Tandem's own wording for
// a field it knows (field.<name>), else Kratos' label in the page's
// language.
func (w *nodeWords) label(n kratosext.Node) string {
	t := n.Meta.Label
	if t == nil {
		t = n.Attributes.Label
	}
	if n.Type == kratosext.NodeInput && n.Attributes.InputType != "submit" && n.Attributes.InputType != "button" {
		if s, ok := w.l.Field(n.Attributes.Name); ok {
			return s
		}
	}
	if t == nil {
		return ""
	}
	return w.l.Kratos(t.ID, t.Context, t.Text)
}

// buttonLabel is Tandem's wording for a button where it has one: the
// page's variant first, then the flow kind's.
func (w *nodeWords) buttonLabel(name string) (string, bool) {
	return w.l.Button(name, w.kind, w.variant)
}

// dataImage accepts only inline raster images (Kratos' TOTP QR code).
var dataImage = regexp.MustCompile(`^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=]+$`)

// view builds a node's view; style is the look of its buttons.
// views are view for each of nodes.
func (w *nodeWords) views(nodes []kratosext.Node, style string) []nodeView {
	out := make([]nodeView, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, w.view(n, style))
	}
	return out
}

func (w *nodeWords) view(n kratosext.Node, style string) nodeView {
	a := n.Attributes
	v := nodeView{Messages: w.messages(n.Messages), Label: w.label(n)}
	switch n.Type {
	case kratosext.NodeInput:
		v.Name, v.Type, v.Value = a.Name, a.InputType, a.StringValue()
		v.Required, v.Disabled = a.Required, a.Disabled
		v.Autocomplete, v.Pattern, v.MaxLength = a.Autocomplete, a.Pattern, a.MaxLength
		base := "f-" + idSafe(a.Name)
		w.seen[base]++
		v.ID = base
		if w.seen[base] > 1 {
			v.ID = base + "-" + strconv.Itoa(w.seen[base])
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
			if l, ok := w.buttonLabel(a.Name); ok {
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
			// The text of a text node is data (a TOTP secret), not words.
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
			v.Label = w.l.Kratos(a.Title.ID, a.Title.Context, a.Title.Text)
		}
	}
	return v
}

// render joins rendered nodes: one template action per group instead of
// one per node.
func render(nodes []nodeView) template.HTML {
	var b strings.Builder
	for _, n := range nodes {
		b.WriteString(string(n.HTML()))
		b.WriteByte('\n')
	}
	return template.HTML(b.String()) // #nosec: see nodeView.HTML
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
