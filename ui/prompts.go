package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// This file is the post-CDA and the upgrade prompt (ARCHITECTURE.md,
// "Prompts"). /continue asks maybePrompt whether the sign-in that just
// happened calls for one; the prompt's form posts the answer to /prompt.
// devices.DecidePostCDAPrompt and devices.DecideUpgradePrompt decide; this
// file finds their inputs in the store, records what the person saw and
// answered, and sends the browser on.

// The answers a prompt accepts, as its buttons post them.
const (
	answerAdd   = "add"
	answerLater = "later"
	answerNever = "never"
)

// signInFreshness bounds how much older than the session the sign-in a
// prompt answers may be. The web hook records a sign-up just before Kratos
// issues the session, and Kratos and Tandem may run on hosts whose clocks
// differ a little; an older event belongs to an earlier sign-in (say, one
// whose hook had no device cookie to record it), and a prompt about that
// one would be about something the person did not just do.
const signInFreshness = 5 * time.Minute

// maxPromptForm bounds the answer's body: three short fields.
const maxPromptForm = 4 << 10

// signIn is the sign-in a prompt answers: the latest login, sign-up or
// passkey added in settings of the identity on this device.
type signIn struct {
	event devices.Event
	// via is how the sign-in reached a passkey: a login's own, or hybrid
	// for a passkey that was just created on a phone from this device (a
	// desktop sign-up through the phone, or the upgrade prompt's phone
	// passkey), which is a sign-in through the phone as much as a login
	// over hybrid is.
	via devices.Via
	// method is the Kratos method of a login; empty for a sign-up, which
	// gets no upgrade prompt: the person chose a password or a code over a
	// passkey on the page a moment ago, and the next password sign-in asks.
	method      string
	credentials []devices.Credential
}

// promptDue is a prompt the policy wants shown for a sign-in.
type promptDue struct {
	kind     devices.PromptKind
	decision devices.PromptDecision
	signIn   signIn
	// reshow: this sign-in's prompt was shown already (a reload); showing
	// it again does not count again.
	reshow bool
}

// latestSignIn finds the identity's latest sign-in on the device. It
// returns nil when there is none, or none at least as recent as the
// session.
func (s *Server) latestSignIn(ctx context.Context, sess *kratosext.Session, deviceID string) (*signIn, error) {
	evs, err := s.store.ListEvents(ctx, devices.EventFilter{
		IdentityID: sess.Identity.ID,
		DeviceID:   deviceID,
		Kinds:      []devices.EventKind{devices.EventLogin, devices.EventRegistration, devices.EventSettings},
		Limit:      1,
	})
	if err != nil {
		return nil, fmt.Errorf("list sign-ins: %w", err)
	}
	if len(evs) == 0 || evs[0].Key.FlowID == "" {
		return nil, nil
	}
	ev := evs[0]
	if !sess.AuthenticatedAt.IsZero() && ev.At.Before(sess.AuthenticatedAt.Add(-signInFreshness)) {
		return nil, nil
	}
	creds, err := s.store.ListCredentials(ctx, sess.Identity.ID, devices.CredentialFilter{})
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	in := &signIn{event: ev, credentials: creds}
	switch ev.Kind {
	case devices.EventLogin:
		in.via = ev.Via
		// A password or code sign-up is recorded as a login under the
		// after-registration key (Kratos signs the new identity in). A
		// social sign-up counts as a sign-in: the person chose the
		// provider, not a password over a passkey, and has no passkey yet.
		if ev.Key.Point == string(kratosext.AfterLogin) || ev.Method == "oidc" {
			in.method = ev.Method
		}
	case devices.EventRegistration, devices.EventSettings:
		for _, c := range creds {
			if c.ID == ev.CredentialID && c.PhoneHeld && c.CreatedDeviceID == deviceID {
				in.via = devices.ViaHybrid
			}
		}
	}
	return in, nil
}

// duePrompt decides which prompt, if any, the latest sign-in on the device
// calls for. The post-CDA prompt comes first: it follows a sign-in through
// the phone, which an identity without a passkey (the upgrade prompt's
// case) cannot have made.
func (s *Server) duePrompt(ctx context.Context, sess *kratosext.Session, dev devices.Device) (*promptDue, error) {
	in, err := s.latestSignIn(ctx, sess, dev.ID)
	if err != nil || in == nil {
		return nil, err
	}
	link, err := s.store.GetLink(ctx, dev.ID, sess.Identity.ID)
	if err != nil && !errors.Is(err, devices.ErrNotFound) {
		return nil, fmt.Errorf("get link: %w", err)
	}
	// A missing link is a device and identity Tandem has no history for:
	// the zero link is exactly that (no local passkey, fresh prompt state).
	now := s.now()
	for _, kind := range []devices.PromptKind{devices.PromptPostCDA, devices.PromptUpgrade} {
		state := link.Prompt(kind)
		if !state.AcceptedAt.IsZero() && !state.AcceptedAt.Before(in.event.At) {
			// Accepted for this very sign-in, and back here without the
			// passkey it offered (the add page's "Not now", or the
			// browser's back button): do not loop.
			continue
		}
		// Only this sign-in's own showing can be newer than it: a reload
		// shows the prompt again without counting it twice, so the
		// maximum is measured without it.
		reshow := state.ShownCount > 0 && !state.LastShownAt.Before(in.event.At)
		if reshow {
			state.ShownCount--
		}
		var d devices.PromptDecision
		switch kind {
		case devices.PromptPostCDA:
			d = devices.DecidePostCDAPrompt(devices.PostCDAInput{Device: dev, Via: in.via, LocalPasskey: link.LocalPasskey,
				State: state, Now: now, Config: s.prompts})
		case devices.PromptUpgrade:
			d = devices.DecideUpgradePrompt(devices.UpgradeInput{Device: dev, Method: in.method, Credentials: in.credentials,
				State: state, Now: now, Config: s.prompts})
		}
		if d.Show {
			return &promptDue{kind: kind, decision: d, signIn: *in, reshow: reshow}, nil
		}
	}
	return nil, nil
}

// maybePrompt shows the post-CDA or the upgrade prompt when this sign-in
// calls for one, and reports whether it did. A prompt is optional: when
// the store cannot answer, the person goes on without one rather than see
// their sign-in fail.
func (s *Server) maybePrompt(c *gin.Context, sess *kratosext.Session, next string) (bool, error) {
	ctx := c.Request.Context()
	dev := s.device(c)
	if dev.ID == "" || sess.Identity.ID == "" {
		return false, nil
	}
	if _, err := s.safeReturn(next); err != nil {
		// The answer could not go there either.
		return false, nil
	}
	due, err := s.duePrompt(ctx, sess, dev)
	if err != nil {
		s.logger.WarnContext(ctx, "prompt: cannot decide; going on without one", "identity_id", sess.Identity.ID, "err", err)
		return false, nil
	}
	if due == nil {
		return false, nil
	}
	// Keyed by the sign-in, so a reload does not count as another showing.
	_, err = s.store.RecordPrompt(ctx, devices.PromptRecord{
		Key:      devices.EventKey{Point: "prompt-shown", FlowID: due.signIn.event.Key.FlowID, Nonce: string(due.kind)},
		DeviceID: dev.ID, IdentityID: sess.Identity.ID, Prompt: due.kind, Kind: devices.EventPromptShown,
	})
	if err != nil {
		// Unrecorded, a prompt would escape its maximum count.
		s.logger.WarnContext(ctx, "prompt: cannot record it shown; going on without it", "identity_id", sess.Identity.ID, "err", err)
		return false, nil
	}
	p := s.promptView(c, due, dev, sess, next)
	return true, s.render(c, http.StatusOK, "prompt", p.Heading, p)
}

// promptPage is the prompt: one question, one primary action.
type promptPage struct {
	Prompt  devices.PromptKind
	Heading string
	Lead    string
	Points  []string
	// Account names the account the passkey would be for.
	Account   string
	AddLabel  string
	NeverText string
	// HowTitle and How explain, folded, what selecting Add does.
	HowTitle string
	How      string
	ReturnTo string
	Action   string
}

// promptWording is where each prompt's words are in the catalog: which
// prompt, on which device, after what.
func promptWording(due *promptDue, dev devices.Device) string {
	switch {
	case due.kind == devices.PromptPostCDA && due.signIn.event.Kind != devices.EventLogin:
		// The phone was just set up (a sign-up, or the upgrade prompt's
		// passkey), not used to sign in.
		return "prompt.post_cda_setup"
	case due.kind == devices.PromptPostCDA:
		return "prompt.post_cda"
	case dev.Class.Mobile():
		return "prompt.upgrade_phone"
	}
	return "prompt.upgrade"
}

// promptView words the prompt for people who may never have heard the
// word passkey: what they get, what happens, and that nothing else
// changes.
func (s *Server) promptView(c *gin.Context, due *promptDue, dev devices.Device, sess *kratosext.Session, next string) promptPage {
	l := s.localeOf(c)
	w := promptWording(due, dev)
	p := promptPage{
		Prompt: due.kind, Account: sess.Identity.Email(), ReturnTo: next, Action: s.path("/prompt"),
		Heading:  l.T(w + ".heading"),
		Lead:     l.T(w + ".lead"),
		Points:   []string{l.T(w + ".point_1"), l.T(w + ".point_2"), l.T(w + ".point_3")},
		AddLabel: l.T(w + ".add"),
		HowTitle: l.T("prompt.how_title"),
		How:      l.T(w + ".how"),
	}
	p.NeverText = l.T("prompt.never_computer")
	if dev.Class.Mobile() {
		p.NeverText = l.T("prompt.never_phone")
	}
	return p
}

// handlePromptAnswer records the answer to a prompt and sends the browser
// on: to return_to for "not now" and "never", to a Kratos settings flow
// that adds the offered passkey for "add". It accepts only a post from
// this UI's own pages.
func (s *Server) handlePromptAnswer(c *gin.Context) error {
	form, err := s.ownForm(c, "prompt answer", maxPromptForm)
	if err != nil {
		return err
	}
	kind := devices.PromptKind(form.Get("prompt"))
	answer := form.Get("action")
	if kind != devices.PromptPostCDA && kind != devices.PromptUpgrade {
		return badRequest("error.bad_link.form", fmt.Errorf("unknown prompt %q", clipForLog(string(kind))))
	}
	var record devices.EventKind
	switch answer {
	case answerAdd:
		record = devices.EventPromptAccepted
	case answerLater:
		record = devices.EventPromptSnoozed
	case answerNever:
		record = devices.EventPromptRefused
	default:
		return badRequest("error.bad_link.form", fmt.Errorf("unknown answer %q", clipForLog(answer)))
	}
	next, err := s.safeReturn(form.Get("return_to"))
	if err != nil {
		return badRequest("error.bad_link.return_to", err)
	}
	ctx := c.Request.Context()
	sess, err := s.kratos.Whoami(ctx, c.GetHeader("Cookie"))
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		s.redirect(c, s.path("/login"))
		return nil
	case err != nil:
		return err
	}
	dev := s.device(c)
	s.recordAnswer(ctx, sess, dev.ID, kind, record, answer)

	if answer != answerAdd {
		s.redirect(c, next)
		return nil
	}
	// The passkey goes where the prompt said: this device's own
	// authenticator for the post-CDA prompt and for the upgrade on a phone
	// (a phone is its own "phone"), the phone over hybrid for the upgrade
	// on a computer. Kratos returns to /continue afterwards, which offers
	// the post-CDA prompt once the phone holds the passkey. If the
	// privileged session has expired, Kratos sends the browser through
	// login?refresh=true and back to the settings flow on its own.
	mode := addThisComputer
	if kind == devices.PromptUpgrade && !dev.Class.Mobile() {
		mode = addPhone
	}
	// tandem_prompt lets the add page's "Not now" answer the prompt.
	back := s.abs("/continue") + "?" + url.Values{"return_to": {next}, "tandem_add": {mode}, "tandem_prompt": {string(kind)}}.Encode()
	s.redirect(c, s.kratos.BrowserFlowURL(kratosext.Settings, url.Values{"return_to": {back}}))
	return nil
}

// recordAnswer records the answer against the sign-in the prompt was
// shown for. It never stops the person: without a sign-in to key it on
// (no device cookie, a history Tandem lost), or when the store fails, the
// answer is not remembered and the prompt may come back.
func (s *Server) recordAnswer(ctx context.Context, sess *kratosext.Session, deviceID string, kind devices.PromptKind, record devices.EventKind, answer string) {
	in, err := s.latestSignIn(ctx, sess, deviceID)
	if err == nil && in == nil {
		s.logger.DebugContext(ctx, "prompt: no sign-in on this device to record the answer against", "identity_id", sess.Identity.ID)
		return
	}
	if err == nil {
		rec := devices.PromptRecord{
			// One answer of each kind per sign-in: a double submit records once.
			Key:      devices.EventKey{Point: "prompt-" + answer, FlowID: in.event.Key.FlowID, Nonce: string(kind)},
			DeviceID: deviceID, IdentityID: sess.Identity.ID, Prompt: kind, Kind: record,
		}
		if record == devices.EventPromptSnoozed {
			rec.SnoozedUntil = s.prompts.SnoozeUntil(s.now())
		}
		_, err = s.store.RecordPrompt(ctx, rec)
	}
	if err != nil {
		s.logger.WarnContext(ctx, "prompt: cannot record the answer", "identity_id", sess.Identity.ID, "answer", answer, "err", err)
	}
}

// ownForm reads a form posted from this UI's own pages, at most limit
// bytes of it: a post from anywhere else is refused (403) and a body that
// does not parse is a bad link (400). what names the form in errors.
func (s *Server) ownForm(c *gin.Context, what string, limit int64) (url.Values, error) {
	if !s.sameOriginForm(c) {
		return nil, &httpError{Status: http.StatusForbidden, Heading: "error.cross_site.title",
			Message: "error.cross_site.message", Err: fmt.Errorf("%s from another origin", what)}
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	if err := c.Request.ParseForm(); err != nil {
		return nil, badRequest("error.bad_link.form", fmt.Errorf("parse %s: %w", what, err))
	}
	return c.Request.PostForm, nil
}

// sameOriginForm accepts a form post only from this UI's own pages: the
// Origin must be the UI's (browsers send it with every POST), and a
// Sec-Fetch-Site, where the browser sends one, must say same-origin.
func (s *Server) sameOriginForm(c *gin.Context) bool {
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	return c.GetHeader("Origin") == s.origin
}

// clipForLog keeps what a browser sent short enough to log.
func clipForLog(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
