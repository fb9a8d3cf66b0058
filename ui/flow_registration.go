package ui

import "github.com/tandemauth/tandem/kratosext"

// buildRegistration words the sign-up page. Its first step asks for the
// e-mail address; the second offers the passkey first (created on the
// phone from a desktop, on the phone itself on a phone) and the other
// methods behind "Sign up another way".
func (s *Server) buildRegistration(in flowInput) (flowPage, error) {
	phone := onPhone(in.ceremonies[kratosext.PasskeyRegistration])
	a := arrangement{collapse: true}
	if phone {
		a.variant = "phone"
	}
	p, err := s.assemble(in, a)
	if err != nil {
		return p, err
	}
	l := in.l
	p.Heading, p.Lead = l.T("registration.heading"), l.T("registration.lead")
	p.CollapseLabel = l.T("registration.another_way")
	if p.Primary != nil {
		p.Primary.NeedsJS = true
		// Without JavaScript the page offers the other methods.
		p.Heading, p.Lead = l.T("registration.choose.heading"), l.T("registration.choose.lead_no_js")
		p.JSHeading, p.JSLead = l.T("registration.passkey.heading"), l.T("registration.passkey.lead")
		if phone {
			p.JSHeading, p.JSLead = l.T("registration.phone.heading"), l.T("registration.phone.lead")
		}
		if cer := in.ceremonies[kratosext.PasskeyRegistration]; cer != nil && cer.Choices[choiceThisComputer] != nil {
			// Revealed once the page learns this computer can hold a
			// passkey (isUserVerifyingPlatformAuthenticatorAvailable).
			p.Primary.ThisComputer = l.T("registration.this_computer")
			p.Primary.ThisComputerCeremony = string(kratosext.PasskeyRegistration)
		}
	}
	p.Links = []link{{l.T("registration.sign_in"), s.flowLink("/login", in.f)}}
	return p, nil
}
