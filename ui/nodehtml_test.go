package ui

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui/locale"
)

// FuzzNodeHTML renders every kind of node with hostile strings and parses
// the result: no string may add an element, an attribute, or a script URL.
func FuzzNodeHTML(f *testing.F) {
	f.Add("identifier", `"><script>alert(1)</script>`, "E-mail", "javascript:alert(1)")
	f.Add(`x" onmouseover="alert(1)`, `'`, `</label><img src=x onerror=alert(1)>`, " JaVaScRiPt:alert(1)")
	f.Add("a", "&amp;&lt;", "<!--", "data:text/html,<script>")
	catalog, err := locale.Load(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, value, label, href string) {
		kinds := []kratosext.Node{
			{Type: "input", Attributes: kratosext.Attributes{Name: name, InputType: "hidden", Value: jsonString(value)}},
			{Type: "input", Attributes: kratosext.Attributes{Name: name, InputType: "text", Value: jsonString(value), Pattern: value, Autocomplete: label},
				Meta: kratosext.Meta{Label: &kratosext.Text{Text: label}}, Messages: []kratosext.Message{{Text: label, Type: value}}},
			{Type: "input", Attributes: kratosext.Attributes{Name: name, InputType: "submit", Value: jsonString(value), OnclickTrigger: "oryPasskeyLogin"},
				Meta: kratosext.Meta{Label: &kratosext.Text{Text: label}}},
			{Type: "input", Attributes: kratosext.Attributes{Name: name, InputType: "checkbox"}, Meta: kratosext.Meta{Label: &kratosext.Text{Text: label}}},
			{Type: "text", Attributes: kratosext.Attributes{ID: name, Text: &kratosext.Text{Text: value}}, Meta: kratosext.Meta{Label: &kratosext.Text{Text: label}}},
			{Type: "a", Attributes: kratosext.Attributes{ID: name, Href: href, Title: &kratosext.Text{Text: label}}},
			{Type: "img", Attributes: kratosext.Attributes{ID: name, Src: href}, Meta: kratosext.Meta{Label: &kratosext.Text{Text: label}}},
		}
		for _, n := range kinds {
			v := newNodeWords(catalog.Default(), "login", "").view(n, "primary")
			out := string(v.HTML())
			doc, err := html.Parse(strings.NewReader("<form>" + out + "</form>"))
			if err != nil {
				t.Fatal(err)
			}
			var walk func(*html.Node)
			walk = func(h *html.Node) {
				if h.Type == html.ElementNode {
					switch h.Data {
					case "html", "head", "body", "form", "input", "button", "label", "div", "p", "code", "ul", "li", "a", "img", "figure", "figcaption":
					default:
						t.Fatalf("node %s rendered a <%s> element:\n%s", n.Type, h.Data, out)
					}
					for _, a := range h.Attr {
						if strings.HasPrefix(a.Key, "on") {
							t.Fatalf("node %s rendered an %s attribute:\n%s", n.Type, a.Key, out)
						}
						if (a.Key == "href" || a.Key == "src") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
							t.Fatalf("node %s rendered a script URL:\n%s", n.Type, out)
						}
						if a.Key == "src" && strings.HasPrefix(strings.ToLower(a.Val), "data:") && !dataImage.MatchString(a.Val) {
							t.Fatalf("node %s rendered an unchecked data URL:\n%s", n.Type, out)
						}
					}
				}
				if h.Type == html.CommentNode {
					t.Fatalf("node %s opened a comment:\n%s", n.Type, out)
				}
				for c := h.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
		}
	})
}

func jsonString(s string) []byte {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&15])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return []byte(b.String())
}
