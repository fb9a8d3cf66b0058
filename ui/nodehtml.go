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
			// A ceremony needs tandem.js, which reveals the button.
			writeAttr(&b, "data-ceremony", v.Ceremony)
			b.WriteString(" data-needs-js hidden")
		}
		if v.Disabled {
			b.WriteString(" disabled")
		}
		b.WriteString(">")
		b.WriteString(html.EscapeString(v.Label))
		b.WriteString("</button>\n")
		writeMessages(&b, v.ID, v.Messages)
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
		if len(v.Messages) > 0 {
			writeDescribedBy(&b, v.ID, len(v.Messages))
		}
		b.WriteString("> ")
		b.WriteString(html.EscapeString(v.Label))
		b.WriteString("</label>\n")
		writeMessages(&b, v.ID, v.Messages)
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
			if hasError(v.Messages) {
				b.WriteString(` aria-invalid="true"`)
			}
			writeDescribedBy(&b, v.ID, len(v.Messages))
		}
		b.WriteString(">\n")
		writeMessages(&b, v.ID, v.Messages)
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

// writeDescribedBy ties a control to its messages (ids from
// writeMessages), so a screen reader reads the error with the field.
func writeDescribedBy(b *strings.Builder, id string, n int) {
	b.WriteString(` aria-describedby="`)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(html.EscapeString(messageID(id, i)))
	}
	b.WriteByte('"')
}

func messageID(controlID string, i int) string {
	return controlID + "-msg-" + strconv.Itoa(i+1)
}

func hasError(ms []message) bool {
	for _, m := range ms {
		if m.Type == "error" {
			return true
		}
	}
	return false
}

// writeMessages writes a control's messages, each with the id its
// control's aria-describedby names.
func writeMessages(b *strings.Builder, controlID string, ms []message) {
	for i, m := range ms {
		role := "status"
		if m.Type == "error" {
			role = "alert"
		}
		b.WriteString(`<p class="msg msg-`)
		b.WriteString(html.EscapeString(m.Type))
		if controlID != "" {
			b.WriteString(`" id="`)
			b.WriteString(html.EscapeString(messageID(controlID, i)))
		}
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

// HTML renders the passkey section: its nodes (already rendered), the
// secondary "this computer" choice tandem.js may reveal, and the status
// line the ceremonies write to. Like the node writer, it is Go because it
// is on every page: as template actions its attributes cost a reflective
// escaper call each.
func (p *primarySection) HTML() template.HTML {
	var b strings.Builder
	b.Grow(len(p.Nodes) + 512)
	b.WriteString(`<section class="method method-`)
	b.WriteString(html.EscapeString(p.Group))
	b.WriteString(` primary"`)
	writeAttr(&b, "data-group", p.Group)
	b.WriteString(" data-needs-webauthn")
	if p.NeedsJS {
		b.WriteString(" data-needs-js hidden")
	}
	b.WriteString(">\n")
	if p.Title != "" {
		b.WriteString("<h2>" + html.EscapeString(p.Title) + "</h2>\n")
	}
	b.WriteString(string(p.Nodes))
	if p.ThisComputer != "" {
		b.WriteString(`<button class="btn btn-secondary" type="button"`)
		writeAttr(&b, "data-ceremony", p.ThisComputerCeremony)
		b.WriteString(` data-choice="this_computer" hidden>`)
		b.WriteString(html.EscapeString(p.ThisComputer))
		b.WriteString("</button>\n")
	}
	b.WriteString(`<p class="status" role="status" aria-live="polite" data-ceremony-status></p>` + "\n</section>")
	return template.HTML(b.String()) // #nosec: every value above is escaped
}

// sectionsHTML renders the other methods' sections.
func sectionsHTML(secs []section) template.HTML {
	var b strings.Builder
	for _, s := range secs {
		b.WriteString(`<section class="method method-`)
		b.WriteString(html.EscapeString(s.Group))
		b.WriteByte('"')
		writeAttr(&b, "data-group", s.Group)
		if s.NeedsJS {
			b.WriteString(" data-needs-webauthn data-needs-js hidden")
		}
		b.WriteString(">\n")
		if s.Title != "" {
			b.WriteString("<h2>" + html.EscapeString(s.Title) + "</h2>\n")
		}
		b.WriteString(string(s.Nodes))
		b.WriteString("</section>\n")
	}
	return template.HTML(b.String()) // #nosec: every value above is escaped
}
