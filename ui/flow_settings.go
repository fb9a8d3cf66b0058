package ui

// buildSettings words the settings page: every method side by side,
// passkeys first. A prompt's add page (the flow's return_to carries
// tandem_add) shows only the one passkey creation the prompt offered.
func (s *Server) buildSettings(in flowInput) (flowPage, error) {
	mode := addMode(in.f)
	if mode != "" {
		return s.buildSettingsAdd(in, mode)
	}
	p, err := s.assemble(in, arrangement{titles: true, secondary: true})
	if err != nil {
		return p, err
	}
	l := in.l
	p.Heading, p.Lead = l.T("settings.heading"), l.T("settings.lead")
	p.Links = []link{{l.T("common.back_to_account"), s.path("/welcome")}}
	return p, nil
}

// buildSettingsAdd is a prompt's add page: one button, the passkey where
// the prompt said (this device's own authenticator, or the phone), and
// "Not now", which answers the prompt.
func (s *Server) buildSettingsAdd(in flowInput, mode string) (flowPage, error) {
	variant := mode
	if in.dev.Class.Mobile() && mode == addThisComputer {
		variant = "this_phone"
	}
	p, err := s.assemble(in, arrangement{variant: variant, only: true})
	if err != nil {
		return p, err
	}
	p.Kind = "settings-add"
	l := in.l
	switch {
	case mode == addThisComputer && in.dev.Class.Mobile():
		p.Heading, p.Lead = l.T("add.this_phone.heading"), l.T("add.this_phone.lead")
	case mode == addThisComputer:
		p.Heading, p.Lead = l.T("add.this_computer.heading"), l.T("add.this_computer.lead")
	default:
		p.Heading, p.Lead = l.T("add.phone.heading"), l.T("add.phone.lead")
	}
	if p.Primary != nil {
		p.Primary.NeedsJS = true
	}
	if kind, next, ok := addPrompt(in.f); ok {
		// "Not now" is an answer to the prompt: remember it.
		if safe, err := s.safeReturn(next); err == nil {
			p.NotNow = &notNowForm{Prompt: kind, ReturnTo: safe}
		}
	} else if safe, err := s.safeReturn(in.f.ReturnTo); err == nil {
		p.Links = []link{{l.T("common.not_now"), safe}}
	}
	return p, nil
}
