package ui

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/tandemauth/tandem/kratosext"
)

// buildSettings words the settings page: every method side by side,
// passkeys first. A prompt's add page (the flow's return_to carries
// tandem_add) shows only the one passkey creation the prompt offered.
func (s *Server) buildSettings(in flowInput) (flowPage, error) {
	mode := addMode(in.f)
	if mode != "" {
		return s.buildSettingsAdd(in, mode)
	}
	l := in.l
	var list *passkeysSection
	if in.f.Identity != nil {
		var confirm *flowPage
		var err error
		if list, confirm, err = s.passkeysOf(&in); err != nil || confirm != nil {
			return deref(confirm), err
		}
	}
	// The list above replaces Kratos' own remove buttons.
	in.f.UI.Nodes = slices.DeleteFunc(in.f.UI.Nodes, func(n kratosext.Node) bool {
		return n.Attributes.Name == "passkey_remove" || n.Attributes.Name == "webauthn_remove"
	})
	variant := "desktop"
	if in.dev.Class.Mobile() {
		variant = "mobile"
	}
	p, err := s.assemble(in, arrangement{titles: true, secondary: true, variant: variant})
	if err != nil {
		return p, err
	}
	if cer := in.ceremonies[kratosext.PasskeySettings]; p.Primary != nil && cer != nil && cer.Choices[choiceThisComputer] != nil {
		// Revealed only where this computer can hold a passkey.
		p.Primary.ThisComputer = l.T("settings.add_this_computer")
		p.Primary.ThisComputerCeremony = string(kratosext.PasskeySettings)
	}
	p.Heading, p.Lead = l.T("settings.heading"), l.T("settings.lead")
	if list != nil && p.Primary != nil {
		// Below "Your passkeys", the section is what it does.
		p.Primary.Title = l.T("passkeys.add_title")
	}
	p.Passkeys = list
	p.Links = []link{{l.T("sessions.heading"), s.path("/settings/sessions")}, {l.T("common.back_to_account"), s.path("/welcome")}}
	return p, nil
}

// passkeysOf builds "Your passkeys" for the flow's identity, and sets the
// page's Signal API data. With remove=<hex> it returns the question
// before that removal instead, the whole page.
func (s *Server) passkeysOf(in *flowInput) (*passkeysSection, *flowPage, error) {
	ctx, l := in.c.Request.Context(), in.l
	acct := s.loadAccount(ctx, in.f.Identity.ID, in.c.GetHeader("Cookie"), false)
	if err := cmp.Or(acct.kratosOK, acct.sessErr); err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("list passkeys: %w", ctx.Err()) // the browser left
		}
		return nil, nil, unavailable(err)
	}
	if acct.storeErr != nil {
		s.logger.WarnContext(ctx, "settings: the store cannot describe the passkeys", "identity_id", in.f.Identity.ID,
			"err", errors.Join(errStoreDown, acct.storeErr))
		acct.stored, acct.events, acct.devices = nil, nil, nil
	}
	rows := s.passkeyRows(l, acct, in.dev.ID, s.now())
	for i := range rows {
		rows[i].RemoveHref = s.path("/settings") + "?" + url.Values{"flow": {in.f.ID}, "remove": {rows[i].Hex}}.Encode()
	}
	if hexID := in.c.Query("remove"); hexID != "" {
		conf, err := s.confirmRemoval(l, in.f, rows, hexID, otherWaysToSignIn(in.f, hexID))
		if err != nil {
			return nil, nil, err
		}
		return nil, &flowPage{Kind: "settings-remove", Heading: conf.Heading, Confirm: conf}, nil
	}
	in.signal = signals(acct, rpIDOf(in.ceremonies), s.now())
	list := &passkeysSection{Rows: rows, FlowID: in.f.ID}
	if acct.storeErr != nil {
		list.Notice = l.T("passkeys.store_down")
	}
	s.renameError(*in, list)
	return list, nil, nil
}

func deref(p *flowPage) flowPage {
	if p == nil {
		return flowPage{}
	}
	return *p
}

// rpIDOf is the relying party the settings flow registers passkeys for.
func rpIDOf(ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony) string {
	if cer := ceremonies[kratosext.PasskeySettings]; cer != nil && cer.Create != nil {
		return cer.Create.RelyingParty.ID
	}
	return ""
}

// renameError shows a refused rename's field error on its row (the rename
// handler redirects back with rename=<hex>&error=<reason>).
func (s *Server) renameError(in flowInput, sec *passkeysSection) {
	hexID, reason := in.c.Query("rename"), in.c.Query("error")
	if hexID == "" || !slices.Contains(renameReasons, reason) {
		return
	}
	for i := range sec.Rows {
		if sec.Rows[i].Hex == hexID {
			sec.Rows[i].RenameError = in.l.T("passkeys.error." + reason)
		}
	}
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
