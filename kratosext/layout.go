package kratosext

import "sort"

// Layout is a flow's nodes arranged for a passkey-first page: the account
// field on top (it carries autofill), the passkey method as the primary
// action, every other method after it. Ordering lives here, not in
// templates, so that it is tested once and the same for every page.
type Layout struct {
	// Hidden are inputs that render nothing: the CSRF token, the fields a
	// WebAuthn ceremony fills in, traits carried over between steps.
	Hidden []Node
	// Account are the visible fields that name the account (the login
	// identifier, registration traits): shared by every method, so they
	// stand above all of them.
	Account []Node
	// Primary is the passkey section, when the flow offers passkeys.
	Primary *Section
	// Sections are the other methods, most phone-friendly first.
	Sections []Section
	// Scripts are script nodes other than Kratos' own webauthn.js, which
	// Tandem replaces with tandem.js.
	Scripts []Node
}

// Section is one method's visible nodes.
type Section struct {
	Group string
	Nodes []Node
}

// KratosWebAuthnScriptID is the id of the script node that loads Kratos'
// webauthn.js. Tandem never renders it: tandem.js performs the ceremonies
// instead, without eval-style triggers.
const KratosWebAuthnScriptID = "webauthn_script"

// groupRank orders methods CDA-first: passkeys (on the phone first, see the
// ui package), then the ways that work on any browser, then second factors.
var groupRank = map[string]int{
	"passkey":       0,
	"profile":       1,
	"password":      2,
	"code":          3,
	"webauthn":      4,
	"oidc":          5,
	"saml":          6,
	"totp":          7,
	"lookup_secret": 8,
}

// Arrange sorts a flow's nodes into a Layout. It keeps Kratos' node order
// within each group.
func Arrange(ui *UI) Layout {
	var l Layout
	// A flow has a handful of groups: a slice beats a map here, and this
	// runs on every page render.
	type group struct {
		name  string
		nodes []Node
	}
	groups := make([]group, 0, 8)
	add := func(n Node) {
		for i := range groups {
			if groups[i].name == n.Group {
				groups[i].nodes = append(groups[i].nodes, n)
				return
			}
		}
		groups = append(groups, group{name: n.Group, nodes: []Node{n}})
	}
	for _, n := range ui.Nodes {
		switch {
		case n.Type == NodeScript:
			if n.Attributes.ID != KratosWebAuthnScriptID {
				l.Scripts = append(l.Scripts, n)
			}
			continue
		case n.IsHidden():
			l.Hidden = append(l.Hidden, n)
			continue
		case n.Group == "default" && n.Type == NodeInput && identifierName(n.Attributes.Name):
			l.Account = append(l.Account, n)
			continue
		}
		add(n)
	}
	sort.SliceStable(groups, func(i, j int) bool { return rank(groups[i].name) < rank(groups[j].name) })
	for _, g := range groups {
		s := Section{Group: g.name, Nodes: g.nodes}
		if g.name == "passkey" {
			l.Primary = &s
			continue
		}
		l.Sections = append(l.Sections, s)
	}
	return l
}

func rank(group string) int {
	if r, ok := groupRank[group]; ok {
		return r
	}
	return len(groupRank) // unknown groups last, in Kratos' order
}
