package main

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
)

// waitRecorded polls the admin API until cond holds: the hook runs inside
// Kratos' flow, but the test reads through another connection.
func waitRecorded(t *testing.T, s *stack, identityID string, what string, cond func(identityInfo) bool) identityInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := s.recorded(t, identityID)
		if cond(info) {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("Tandem never recorded %s; it has %+v", what, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func onlyCredential(t *testing.T, info identityInfo) devices.Credential {
	t.Helper()
	if len(info.Credentials) != 1 {
		t.Fatalf("want 1 credential, got %+v", info.Credentials)
	}
	return info.Credentials[0]
}

// TestE2EHooksPhonePasskey: a desktop signs up through the phone (a cable
// authenticator), then signs in through it. Tandem must know the passkey is
// on the phone and that the sign-in crossed devices.
func TestE2EHooksPhonePasskey(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email := uniqueEmail(t)

	signUpWithPasskey(b, email, "")
	if n := len(b.credentials(phone)); n != 1 {
		t.Fatalf("the phone holds %d passkeys, want 1", n)
	}
	id := b.session().Identity.ID
	info := waitRecorded(t, s, id, "the registration", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	c := onlyCredential(t, info)
	if !c.PhoneHeld || c.Attachment != devices.AttachmentCrossPlatform || !slices.Contains(c.Transports, "hybrid") || c.Type != devices.TypePasskey {
		t.Fatalf("phone passkey recorded as %+v", c)
	}
	if c.ProviderName == "" || c.AAGUID == "" {
		t.Errorf("AAGUID/provider from Kratos missing: %+v", c)
	}
	if len(info.Devices) != 1 || info.Devices[0].Device.Class != devices.ClassDesktop || info.Devices[0].Link.LocalPasskey {
		t.Errorf("desktop device recorded as %+v", info.Devices)
	}
	b.signOut()

	// Not passkey-ready (no internal authenticator): the page asks for the
	// e-mail, then for the passkeys on that account's phone.
	b.signInWithPasskey(email, "")
	b.waitSignedIn()
	b.requireSession(email, "passkey")
	info = waitRecorded(t, s, id, "the login", func(i identityInfo) bool { return onlyCredential(t, i).UseCount == 1 })
	if c := onlyCredential(t, info); c.LastUsedVia != devices.ViaHybrid || c.LastUsedAt.IsZero() {
		t.Fatalf("phone login recorded as via %q at %v", c.LastUsedVia, c.LastUsedAt)
	}
}

// TestE2EHooksLocalPasskey: "Use this computer instead" keeps the passkey
// on this computer, and a sign-in with it is local.
func TestE2EHooksLocalPasskey(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)

	signUpWithPasskey(b, email, "this_computer")
	if n := len(b.credentials(computer)); n != 1 {
		t.Fatalf("this computer holds %d passkeys, want 1", n)
	}
	id := b.session().Identity.ID
	info := waitRecorded(t, s, id, "the registration", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	if c := onlyCredential(t, info); c.PhoneHeld || c.Attachment != devices.AttachmentPlatform || !slices.Contains(c.Transports, "internal") {
		t.Fatalf("local passkey recorded as %+v", c)
	}
	if len(info.Devices) != 1 || !info.Devices[0].Link.LocalPasskey {
		t.Fatalf("this computer should hold a local passkey: %+v", info.Devices)
	}
	b.signOut()

	restore := b.onNewDocument(noConditionalUI)
	defer restore()
	b.signInWithPasskey(email, "this_computer")
	b.waitSignedIn()
	info = waitRecorded(t, s, id, "the login", func(i identityInfo) bool { return onlyCredential(t, i).UseCount == 1 })
	if c := onlyCredential(t, info); c.LastUsedVia != devices.ViaLocal {
		t.Fatalf("local login recorded as via %q", c.LastUsedVia)
	}
}

// TestE2EHooksSettingsAddAndRemove: a passkey added in settings is
// recorded; removed in settings, it is marked removed.
func TestE2EHooksSettingsAddAndRemove(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)

	passwordSignUp(b, email, "settings-hooks-passphrase-3")
	id := b.session().Identity.ID

	b.open("/settings")
	b.waitPath("/settings")
	b.click(`button[data-ceremony=passkey_settings][data-choice=this_computer]`)
	b.waitPath("/settings")
	b.text(`[data-passkey] [data-testid=remove]`)
	info := waitRecorded(t, s, id, "the added passkey", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	if c := onlyCredential(t, info); c.Removed() || c.Attachment != devices.AttachmentPlatform {
		t.Fatalf("added passkey recorded as %+v", c)
	}

	b.click(`[data-passkey] [data-testid=remove]`)
	b.click(`[data-testid=confirm-remove]`)
	b.waitPath("/settings")
	b.do(chromedp.WaitNotPresent(chromedp.CSS(`[data-passkey]`)))
	info = waitRecorded(t, s, id, "the removal", func(i identityInfo) bool { return onlyCredential(t, i).Removed() })
	if !slices.ContainsFunc(info.Events, func(e devices.Event) bool { return e.Kind == devices.EventCredentialRemoved }) {
		t.Errorf("no credential_removed event: %+v", info.Events)
	}
}

// TestE2EHooksTransientPayload pins a fact Tandem relies on: Kratos v1.3.1
// hands transient_payload to the passkey registration and passkey login
// hooks (the latter only incidentally, KRATOS-NOTES §8). With the page's
// /api/observe blocked, the only way Tandem can learn the attachment and
// transports is through transient_payload: a Kratos that stops forwarding
// it fails this test.
func TestE2EHooksTransientPayload(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email := uniqueEmail(t)
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: s.uiURL + "/api/observe", Block: true}}}); err != nil {
		t.Fatal(err)
	}

	signUpWithPasskey(b, email, "")
	id := b.session().Identity.ID
	info := waitRecorded(t, s, id, "the registration", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	if c := onlyCredential(t, info); c.Attachment != devices.AttachmentCrossPlatform || !c.PhoneHeld {
		t.Fatalf("registration without /api/observe recorded as %+v: transient_payload did not reach the hook", c)
	}
	b.signOut()

	b.signInWithPasskey(email, "")
	b.waitSignedIn()
	info = waitRecorded(t, s, id, "the login", func(i identityInfo) bool { return onlyCredential(t, i).UseCount == 1 })
	if c := onlyCredential(t, info); c.LastUsedVia != devices.ViaHybrid {
		t.Fatalf("passkey login without /api/observe recorded via %q: Kratos no longer forwards transient_payload to the passkey login hook", c.LastUsedVia)
	}
}
