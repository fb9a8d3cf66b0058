package ui

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// HTML renders a node. It is Go rather than a template partial because it
// is the innermost loop of every page: html/template escapes each
// attribute through reflection, which made it half of a page's cost.
//
// Safety rests on two rules, both fuzzed in nodehtml_test.go: every value
// goes through html.EscapeString (which escapes & < > " '), and every
// attribute is double-quoted. URLs were vetted by nodeView: image sources
// are checked data: images or http(s), anchors are filtered by safeHref.
func (v nodeView) HTML() template.HTML {
	var b strings.Builder
	b.Grow(256)
	switch v.Kind {
	case "hidden":
		b.WriteString(`<input type="hidden"`)
		writeAttr(&b, "name", v.Name)
		writeAttr(&b, "value", v.Value)
		b.WriteString(">")
	case "button":
		typ := "submit"
		if v.Type == "button" {
			typ = "button"
		}
		b.WriteString(`<button class="btn btn-`)
		b.WriteString(html.EscapeString(v.Style))
		b.WriteString(`" type="` + typ + `"`)
		writeAttr(&b, "name", v.Name)
		writeAttr(&b, "value", v.Value)
		if v.Ceremony != "" {
			writeAttr(&b, "data-ceremony", v.Ceremony)
		}
		if v.Disabled {
			b.WriteString(" disabled")
		}
		b.WriteString(">")
		b.WriteString(html.EscapeString(v.Label))
		b.WriteString("</button>\n")
		writeMessages(&b, v.Messages)
	case "checkbox":
		b.WriteString(`<label class="check"><input type="checkbox"`)
		writeAttr(&b, "id", v.ID)
		writeAttr(&b, "name", v.Name)
		b.WriteString(` value="true"`)
		if v.Checked {
			b.WriteString(" checked")
		}
		if v.Disabled {
			b.WriteString(" disabled")
		}
		b.WriteString("> ")
		b.WriteString(html.EscapeString(v.Label))
		b.WriteString("</label>\n")
		writeMessages(&b, v.Messages)
	case "field":
		b.WriteString(`<div class="field">` + "\n" + `<label`)
		writeAttr(&b, "for", v.ID)
		b.WriteString(">")
		b.WriteString(html.EscapeString(v.Label))
		b.WriteString("</label>\n<input")
		writeAttr(&b, "id", v.ID)
		writeAttr(&b, "name", v.Name)
		writeAttr(&b, "type", v.Type)
		writeAttr(&b, "value", v.Value)
		if v.Required {
			b.WriteString(" required")
		}
		if v.Disabled {
			b.WriteString(" disabled")
		}
		if v.Autocomplete != "" {
			writeAttr(&b, "autocomplete", v.Autocomplete)
		}
		if v.Pattern != "" {
			writeAttr(&b, "pattern", v.Pattern)
		}
		if v.MaxLength > 0 {
			b.WriteString(` maxlength="` + strconv.Itoa(v.MaxLength) + `"`)
		}
		if len(v.Messages) > 0 {
			b.WriteString(` aria-invalid="true"`)
		}
		b.WriteString(">\n")
		writeMessages(&b, v.Messages)
		b.WriteString("</div>")
	case "text":
		b.WriteString(`<div class="text"`)
		writeAttr(&b, "id", v.ID)
		b.WriteString(">")
		if v.Label != "" {
			b.WriteString(`<p class="muted">` + html.EscapeString(v.Label) + "</p>")
		}
		b.WriteString("<p><code>" + html.EscapeString(v.Text) + "</code></p></div>")
	case "codes":
		b.WriteString(`<div class="codes"`)
		writeAttr(&b, "id", v.ID)
		b.WriteString(">")
		if v.Label != "" {
			b.WriteString(`<p class="muted">` + html.EscapeString(v.Label) + "</p>")
		}
		b.WriteString("<ul>")
		for _, c := range v.Codes {
			b.WriteString("<li><code>" + html.EscapeString(c) + "</code></li>")
		}
		b.WriteString("</ul></div>")
	case "image":
		if v.ImageSrc == "" {
			break
		}
		b.WriteString(`<figure class="image"><img`)
		writeAttr(&b, "id", v.ID)
		writeAttr(&b, "src", string(v.ImageSrc))
		writeAttr(&b, "alt", v.Label)
		if v.Width > 0 {
			b.WriteString(` width="` + strconv.Itoa(v.Width) + `"`)
		}
		if v.Height > 0 {
			b.WriteString(` height="` + strconv.Itoa(v.Height) + `"`)
		}
		b.WriteString(">")
		if v.Label != "" {
			b.WriteString(`<figcaption class="muted">` + html.EscapeString(v.Label) + "</figcaption>")
		}
		b.WriteString("</figure>")
	case "anchor":
		b.WriteString("<p><a")
		writeAttr(&b, "id", v.ID)
		writeAttr(&b, "href", v.Href)
		b.WriteString(">" + html.EscapeString(v.Label) + "</a></p>")
	}
	return template.HTML(b.String()) // #nosec: every value above is escaped
}

func writeAttr(b *strings.Builder, name, value string) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	b.WriteString(html.EscapeString(value))
	b.WriteByte('"')
}

func writeMessages(b *strings.Builder, ms []message) {
	for _, m := range ms {
		role := "status"
		if m.Type == "error" {
			role = "alert"
		}
		b.WriteString(`<p class="msg msg-`)
		b.WriteString(html.EscapeString(m.Type))
		b.WriteString(`" data-message-id="`)
		b.WriteString(strconv.FormatInt(m.ID, 10))
		b.WriteString(`" role="` + role + `">`)
		b.WriteString(html.EscapeString(m.Text))
		b.WriteString("</p>\n")
	}
}

// safeHref keeps links that cannot run script: http(s), mailto, and
// relative URLs. Anything else becomes "#".
func safeHref(raw string) string {
	s := strings.TrimSpace(raw)
	if i := strings.IndexAny(s, ":/?#"); i >= 0 && s[i] == ':' {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "mailto":
			return s
		}
		return "#"
	}
	return s
}
