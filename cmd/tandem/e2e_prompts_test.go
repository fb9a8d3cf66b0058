package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
)

// The post-CDA and upgrade prompts in a real browser against a real
// Kratos: which authenticator created or used each passkey is read from
// the virtual authenticators, what Tandem remembered from its admin API.
// The cadence over days (snooze, maximum) is tested with an injected clock
// in ui/prompts_test.go; here, a snooze or a "never" holds for the next
// sign-in.

// promptStartSignUp fills the registration's two steps and presses the
// passkey button (choice "" is the main one: on a desktop, the phone), and
// leaves the browser wherever Kratos sends it.
func promptStartSignUp(b *chrome, email, choice string) {
	b.t.Helper()
	b.open("/registration")
	b.waitPath("/registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_registration]`)))
	sel := `button[data-ceremony=passkey_registration]:not([data-choice])`
	if choice != "" {
		sel = `button[data-ceremony=passkey_registration][data-choice=` + choice + `]`
	}
	b.click(sel)
}

// promptSignInWithPasskey presses the login page's primary passkey action
// after giving the e-mail (identifier-first pages need it; the others
// ignore it). The browser must be one from newPromptBrowser, so that
// autofill cannot sign in before the press.
func promptSignInWithPasskey(b *chrome, email string) {
	b.t.Helper()
	b.open("/login")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`section.primary button[data-ceremony=passkey_login]:not([data-choice])`)
}

// newPromptBrowser is a browser whose pages report no conditional UI, for
// good: with a passkey on either authenticator, autofill would sign in on
// page load, before any button. It stays: removed right after a click,
// while the navigation that click starts is under way, Chromium sometimes
// answered "Script not found".
func newPromptBrowser(t *testing.T, s *stack, o browserOptions) *chrome {
	t.Helper()
	b := newBrowser(t, s, o)
	b.onNewDocument(noConditionalUI)
	return b
}

// waitPrompt waits for /continue to show the prompt of kind.
func (b *chrome) waitPrompt(kind devices.PromptKind) {
	b.t.Helper()
	b.waitPath("/continue")
	b.do(chromedp.WaitVisible(chromedp.CSS(`form[data-prompt=` + string(kind) + `] button[value=add]`)))
}

// answerPrompt presses one of the prompt's buttons: add, later or never.
func (b *chrome) answerPrompt(action string) {
	b.t.Helper()
	b.click(`form[action="/prompt"] button[name=action][value=` + action + `]`)
}

// screenshotSizes saves the page at the browser's size and at a phone's
// width, when -screenshots is set.
func (b *chrome) screenshotSizes(name string) {
	b.t.Helper()
	if *screenshots == "" {
		return
	}
	b.screenshot(name)
	if b.width > 600 {
		b.atPhoneWidth(func() { b.screenshot(name) })
	}
}

// atPhoneWidth runs fn with the page laid out 390 px wide, as a phone's.
func (b *chrome) atPhoneWidth(fn func()) {
	b.t.Helper()
	width := b.width
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.width = 390
	fn()
	b.width = width
	if _, err := chromedp.Call(b.ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
		b.t.Fatalf("restore the viewport: %v", err)
	}
}

// noSideways fails when the page scrolls sideways.
func (b *chrome) noSideways(page string) {
	b.t.Helper()
	overflow, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		b.t.Fatal(err)
	}
	if overflow {
		b.fail("%s scrolls sideways", page)
	}
}

// signCount is the sign count of an authenticator's only credential; it
// moves when that authenticator performs a ceremony.
func (b *chrome) signCount(id webauthn.AuthenticatorID, who string) float64 {
	b.t.Helper()
	creds := b.credentials(id)
	if len(creds) != 1 {
		b.t.Fatalf("%s holds %d passkeys, want 1", who, len(creds))
	}
	return creds[0].SignCount
}

// promptEvents are an identity's prompt events, oldest first, as
// "kind prompt".
func promptEvents(info identityInfo) []string {
	var out []string
	for i := len(info.Events) - 1; i >= 0; i-- {
		e := info.Events[i]
		if e.Prompt != "" {
			out = append(out, string(e.Kind)+" "+string(e.Prompt))
		}
	}
	return out
}

func wantPromptEvents(t *testing.T, s *stack, identityID string, want ...string) identityInfo {
	t.Helper()
	return waitRecorded(t, s, identityID, "the prompt events "+strings.Join(want, ", "), func(i identityInfo) bool {
		return slices.Equal(promptEvents(i), want)
	})
}

// phoneAndLocal checks Tandem holds exactly one passkey on the phone and
// one on this computer.
func phoneAndLocal(t *testing.T, info identityInfo) {
	t.Helper()
	var phone, local int
	for _, c := range info.Credentials {
		switch {
		case c.Removed():
		case c.PhoneHeld && c.Attachment == devices.AttachmentCrossPlatform:
			phone++
		case !c.PhoneHeld && c.Attachment == devices.AttachmentPlatform:
			local++
		}
	}
	if phone != 1 || local != 1 || len(info.Credentials) != 2 {
		t.Fatalf("want one phone-held and one local passkey, Tandem has %+v", info.Credentials)
	}
	if len(info.Devices) != 1 || !info.Devices[0].Link.LocalPasskey {
		t.Fatalf("this computer should be known to hold a passkey: %+v", info.Devices)
	}
}

// TestE2EPostCDAPromptAdd: a passkey-ready desktop signs up through the
// phone, is offered a passkey of its own, adds it, and the next sign-in
// still leads with the phone.
func TestE2EPostCDAPromptAdd(t *testing.T) {
	s := requireStack(t)
	b := newPromptBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	start := time.Now()

	promptStartSignUp(b, email, "")
	b.waitPrompt(devices.PromptPostCDA)
	b.screenshotSizes("prompt-post-cda")
	b.noSideways("the post-CDA prompt")
	b.atPhoneWidth(func() { b.noSideways("the post-CDA prompt at 390 px") })
	b.click(`details.another > summary`)
	b.screenshot("prompt-post-cda-what-happens")
	if got := b.text(`h1`); got != "Sign in faster on this computer" {
		t.Errorf("prompt heading %q", got)
	}
	if got := b.text(`[data-testid=prompt-account]`); got != email {
		t.Errorf("prompt names the account %q, want %q", got, email)
	}
	b.signCount(phone, "the phone")
	if n := len(b.credentials(computer)); n != 0 {
		t.Fatalf("this computer holds %d passkeys after a sign-up through the phone", n)
	}
	id := b.requireSession(email, "passkey").Identity.ID
	wantPromptEvents(t, s, id, "prompt_shown post_cda")

	b.answerPrompt("add")
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_settings]`)))
	b.screenshotSizes("add-this-computer")
	b.click(`button[data-ceremony=passkey_settings]`)
	// Kratos returns to /continue, which has nothing more to offer.
	b.waitPath("/welcome")
	b.signCount(computer, "this computer")
	b.signCount(phone, "the phone")
	info := wantPromptEvents(t, s, id, "prompt_shown post_cda", "prompt_accepted post_cda")
	info = waitRecorded(t, s, id, "the local passkey", func(i identityInfo) bool { return len(i.Credentials) == 2 })
	phoneAndLocal(t, info)
	b.signOut()

	// The next sign-in on this computer: the passkey is the primary
	// action, and with both holding a passkey, the phone answers it.
	phoneCount, computerCount := b.signCount(phone, "the phone"), b.signCount(computer, "this computer")
	b.open("/login")
	b.waitPath("/login")
	b.screenshot("login-after-add")
	primary, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("button.btn-primary")].map(b => b.dataset.ceremony + "/" + (b.dataset.choice || "")).join(" ")`))
	if err != nil || primary != "passkey_login/" {
		t.Errorf("the login page's primary actions are %q, want only the passkey (passkey_login/)", primary)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('button[data-ceremony=passkey_login][data-choice=this_computer]').length`)); err != nil || n != 1 {
		t.Errorf("the login page has %d \"this computer\" choices, want 1", n)
	}
	promptSignInWithPasskey(b, email)
	b.waitPath("/welcome")
	b.requireSession(email, "passkey")
	if b.signCount(phone, "the phone") <= phoneCount {
		t.Error("the phone did not answer the sign-in")
	}
	if b.signCount(computer, "this computer") != computerCount {
		t.Error("this computer answered the sign-in before the phone")
	}
	// No more prompt: this computer holds a passkey.
	wantPromptEvents(t, s, id, "prompt_shown post_cda", "prompt_accepted post_cda")
	t.Logf("sign-up, prompt, add, sign-in: %v", time.Since(start).Round(time.Millisecond))
}

// TestE2EPostCDAPromptNotNowAndNever: either answer holds for the next
// sign-in through the phone, which then goes straight on.
func TestE2EPostCDAPromptNotNowAndNever(t *testing.T) {
	s := requireStack(t)
	for _, tc := range []struct {
		action string
		event  string
		check  func(devices.PromptState) bool
	}{
		{"later", "prompt_snoozed post_cda", func(p devices.PromptState) bool {
			// kratos.yml leaves Tandem's default: 14 days.
			d := time.Until(p.SnoozedUntil)
			return d > 13*24*time.Hour && d <= 14*24*time.Hour && !p.Never
		}},
		{"never", "prompt_refused post_cda", func(p devices.PromptState) bool { return p.Never }},
	} {
		t.Run(tc.action, func(t *testing.T) {
			b := newPromptBrowser(t, s, browserOptions{})
			phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
			computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
			email := uniqueEmail(t)

			promptStartSignUp(b, email, "")
			b.waitPrompt(devices.PromptPostCDA)
			id := b.requireSession(email, "passkey").Identity.ID
			b.answerPrompt(tc.action)
			b.waitPath("/welcome")
			info := wantPromptEvents(t, s, id, "prompt_shown post_cda", tc.event)
			if len(info.Devices) != 1 || !tc.check(info.Devices[0].Link.PostCDA) {
				t.Fatalf("after %q the prompt state is %+v", tc.action, info.Devices)
			}
			if n := len(b.credentials(computer)); n != 0 {
				t.Fatalf("this computer holds %d passkeys", n)
			}
			b.signOut()

			count := b.signCount(phone, "the phone")
			promptSignInWithPasskey(b, email)
			// Straight on: a prompt would stop at /continue.
			b.waitPath("/welcome")
			if b.signCount(phone, "the phone") <= count {
				t.Fatal("the phone did not answer the sign-in")
			}
			info = waitRecorded(t, s, id, "the sign-in through the phone", func(i identityInfo) bool {
				return slices.ContainsFunc(i.Events, func(e devices.Event) bool { return e.Kind == devices.EventLogin && e.Via == devices.ViaHybrid })
			})
			if got := promptEvents(info); !slices.Equal(got, []string{"prompt_shown post_cda", tc.event}) {
				t.Fatalf("prompt events after the sign-in: %v", got)
			}
		})
	}
}

// TestE2ENoPostCDAPrompt: a phone holds its own passkey, and a desktop
// that is not passkey-ready cannot hold one: neither is asked.
func TestE2ENoPostCDAPrompt(t *testing.T) {
	s := requireStack(t)
	t.Run("phone", func(t *testing.T) {
		b := newPromptBrowser(t, s, browserOptions{width: 390, height: 844, phone: true})
		own := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
		email := uniqueEmail(t)
		signUpWithPasskey(b, email, "") // waits for /welcome: no prompt
		b.signCount(own, "the phone's own authenticator")
		id := b.session().Identity.ID
		info := waitRecorded(t, s, id, "the sign-up", func(i identityInfo) bool { return len(i.Credentials) == 1 })
		if c := info.Credentials[0]; !c.PhoneHeld || c.Attachment != devices.AttachmentPlatform {
			t.Fatalf("phone passkey recorded as %+v", c)
		}
		if got := promptEvents(info); len(got) != 0 {
			t.Fatalf("prompt events on a phone: %v", got)
		}
	})
	t.Run("desktop not passkey-ready", func(t *testing.T) {
		b := newPromptBrowser(t, s, browserOptions{})
		phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
		email := uniqueEmail(t)
		signUpWithPasskey(b, email, "")
		b.signCount(phone, "the phone")
		id := b.session().Identity.ID
		info := waitRecorded(t, s, id, "the sign-up", func(i identityInfo) bool { return len(i.Credentials) == 1 })
		if !info.Credentials[0].PhoneHeld {
			t.Fatalf("passkey recorded as %+v", info.Credentials[0])
		}
		if len(info.Devices) != 1 || info.Devices[0].Device.Capabilities.PlatformAuthenticator != devices.Unsupported {
			t.Fatalf("this desktop should be known as not passkey-ready: %+v", info.Devices)
		}
		if got := promptEvents(info); len(got) != 0 {
			t.Fatalf("prompt events on a desktop that is not passkey-ready: %v", got)
		}
	})
}

// TestE2EUpgradeThenPostCDA: a password user is offered a passkey on the
// phone first; once the phone holds it, this passkey-ready computer is
// offered one of its own.
func TestE2EUpgradeThenPostCDA(t *testing.T) {
	s := requireStack(t)
	b := newPromptBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	const password = "upgrade-me-passphrase-23"
	start := time.Now()

	passwordSignUp(b, email, password)
	id := b.session().Identity.ID
	b.signOut()

	passwordSignIn(b, email, password)
	b.waitPrompt(devices.PromptUpgrade)
	b.screenshotSizes("prompt-upgrade")
	b.noSideways("the upgrade prompt")
	b.atPhoneWidth(func() { b.noSideways("the upgrade prompt at 390 px") })
	if got := b.text(`h1`); got != "Sign in with your phone next time" {
		t.Errorf("prompt heading %q", got)
	}
	b.requireSession(email, "password")

	b.answerPrompt("add")
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_settings]`)))
	b.screenshotSizes("add-phone")
	b.click(`button[data-ceremony=passkey_settings]`)
	// Back at /continue with the passkey on the phone: now this computer.
	b.waitPrompt(devices.PromptPostCDA)
	b.screenshot("prompt-post-cda-after-upgrade")
	b.signCount(phone, "the phone")
	if n := len(b.credentials(computer)); n != 0 {
		t.Fatalf("this computer holds %d passkeys; the upgrade must create the first on the phone", n)
	}
	info := waitRecorded(t, s, id, "the phone passkey", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	if c := info.Credentials[0]; !c.PhoneHeld {
		t.Fatalf("the upgrade's passkey recorded as %+v", c)
	}

	b.answerPrompt("add")
	b.waitPath("/settings")
	b.click(`button[data-ceremony=passkey_settings]`)
	b.waitPath("/welcome")
	b.signCount(computer, "this computer")
	b.signCount(phone, "the phone")
	info = waitRecorded(t, s, id, "the local passkey", func(i identityInfo) bool { return len(i.Credentials) == 2 })
	phoneAndLocal(t, info)
	wantPromptEvents(t, s, id, "prompt_shown upgrade", "prompt_accepted upgrade", "prompt_shown post_cda", "prompt_accepted post_cda")
	t.Logf("password sign-in, upgrade, post-CDA: %v", time.Since(start).Round(time.Millisecond))
}

// TestE2EUpgradePromptOnPhone: on a phone the upgrade creates the passkey
// in the phone itself, and no post-CDA prompt follows.
func TestE2EUpgradePromptOnPhone(t *testing.T) {
	s := requireStack(t)
	b := newPromptBrowser(t, s, browserOptions{width: 390, height: 844, phone: true})
	own := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	const password = "upgrade-my-phone-passphrase-5"

	passwordSignUp(b, email, password)
	id := b.session().Identity.ID
	b.signOut()
	passwordSignIn(b, email, password)
	b.waitPrompt(devices.PromptUpgrade)
	b.screenshot("prompt-upgrade-phone")
	b.noSideways("the upgrade prompt")
	if got := b.text(`form[data-prompt=upgrade] button[value=add]`); got != "Set up this phone" {
		t.Errorf("add button %q on a phone", got)
	}

	b.answerPrompt("add")
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_settings]`)))
	b.screenshot("add-this-phone")
	if got := b.text(`h1`); strings.Contains(got, "computer") {
		t.Errorf("the add page on a phone reads %q", got)
	}
	if got := b.text(`button[data-ceremony=passkey_settings]`); got != "Create a passkey on this phone" {
		t.Errorf("the add button on a phone reads %q", got)
	}
	b.click(`button[data-ceremony=passkey_settings]`)
	b.waitPath("/welcome")
	b.signCount(own, "the phone's own authenticator")
	info := waitRecorded(t, s, id, "the passkey", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	if c := info.Credentials[0]; !c.PhoneHeld || c.Attachment != devices.AttachmentPlatform {
		t.Fatalf("the phone's passkey recorded as %+v", c)
	}
	wantPromptEvents(t, s, id, "prompt_shown upgrade", "prompt_accepted upgrade")
}

// TestE2EAddPageNotNow: backing out of the add page with "Not now" is an
// answer to the prompt, remembered like the prompt's own "Not now".
func TestE2EAddPageNotNow(t *testing.T) {
	s := requireStack(t)
	b := newPromptBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)

	promptStartSignUp(b, email, "")
	b.waitPrompt(devices.PromptPostCDA)
	id := b.requireSession(email, "passkey").Identity.ID
	b.answerPrompt("add")
	b.waitPath("/settings")
	b.screenshot("add-page-not-now")
	b.click(`form.not-now button[type=submit]`)
	b.waitPath("/welcome")
	if n := len(b.credentials(computer)); n != 0 {
		t.Fatalf("this computer holds %d passkeys after 'Not now'", n)
	}
	wantPromptEvents(t, s, id, "prompt_shown post_cda", "prompt_accepted post_cda", "prompt_snoozed post_cda")
	b.signOut()

	// The next sign-in through the phone goes straight on.
	count := b.signCount(phone, "the phone")
	promptSignInWithPasskey(b, email)
	b.waitPath("/welcome")
	if b.signCount(phone, "the phone") <= count {
		t.Fatal("the phone did not answer")
	}
}
