package ui

import "github.com/tandemauth/tandem/kratosext"

// buildLogin words the sign-in page, CDA-first: on a desktop the passkey
// is on the phone (the browser shows the QR code), every other method
// behind "Sign in another way". A refresh confirms the person, an aal2
// flow asks for the second factor.
func (s *Server) buildLogin(in flowInput) (flowPage, error) {
	desktop := !in.dev.Class.Mobile() && !in.f.Refresh
	a := arrangement{collapse: true}
	if desktop {
		a.variant = "desktop"
	}
	p, err := s.assemble(in, a)
	if err != nil {
		return p, err
	}
	l := in.l
	p.Heading, p.Lead = l.T("login.heading"), l.T("login.lead")
	p.CollapseLabel = l.T("login.another_way")
	switch {
	case in.f.Refresh:
		p.Heading, p.Lead = l.T("login.refresh.heading"), l.T("login.refresh.lead")
	case in.f.RequestedAAL == "aal2":
		p.Heading, p.Lead = l.T("login.aal2.heading"), l.T("login.aal2.lead")
	case p.Primary != nil:
		// The page leads with what works without JavaScript; tandem.js
		// puts the passkey first once it can run it.
		p.Lead = l.T("login.lead_no_js")
		p.JSLead = l.T("login.lead")
		if desktop {
			p.JSLead = l.T("login.lead_desktop")
		}
	}
	if p.Primary != nil {
		p.Primary.NeedsJS = true
		if in.ceremonies[kratosext.PasskeyLogin] != nil && !in.f.Refresh {
			p.Primary.ThisComputer = l.T("login.this_computer")
			p.Primary.ThisComputerCeremony = string(kratosext.PasskeyLogin)
		}
	}
	if !in.f.Refresh && in.f.RequestedAAL != "aal2" {
		flows := s.features.get()
		if flows.Registration {
			p.Links = append(p.Links, link{l.T("login.create_account"), s.flowLink("/registration", in.f)})
		}
		if flows.Recovery {
			key := "login.cant_sign_in"
			if in.f.UI.HasGroup("password") {
				key = "login.forgot_password"
			}
			p.Links = append(p.Links, link{l.T(key), s.path("/recovery")})
		}
	}
	if provider, ok := linkingProvider(in.f); ok {
		// Kratos' account linking: a social sign-in met an account with
		// the same e-mail address; signing in to it links the two.
		name := map[string]any{"Provider": s.providerName(provider)}
		p.Heading, p.Lead = l.Format("social.link.heading", name), l.Format("social.link.lead", name)
		if p.JSHeading != "" || p.JSLead != "" {
			p.JSHeading, p.JSLead = p.Heading, p.Lead
		}
		p.Kind = "login-link"
		p.Links = nil
	}
	return p, nil
}
