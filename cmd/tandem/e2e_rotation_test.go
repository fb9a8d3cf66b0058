package main

import (
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
)

// deviceCookie is the browser's tandem_device cookie value, or "".
func (b *chrome) deviceCookie() string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.s.uiURL + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == browser.CookieName {
			return c.Value
		}
	}
	return ""
}

// TestE2ECookieSecretRotation: a browser whose device cookie was signed
// with the old secret keeps its device after ui.cookie_secret is rotated
// to [new, old]: its local-passkey link (the login page still offers this
// computer's passkey, and it signs in with it) and its prompt answer, and
// its cookie is re-signed with the new secret.
func TestE2ECookieSecretRotation(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email, id := phoneAndLocalAccount(t, s, b) // sign-up through the phone, the post-CDA prompt accepted
	old, err := browser.NewCookieCodec(e2eCookieSecret)
	if err != nil {
		t.Fatal(err)
	}
	before := b.deviceCookie()
	device, err := old.Decode(before)
	if err != nil {
		t.Fatalf("the browser's device cookie %q does not verify with the stack's secret: %v", before, err)
	}
	info := s.recorded(t, id)
	if len(info.Devices) != 1 || info.Devices[0].Device.ID != device || !info.Devices[0].Link.LocalPasskey ||
		info.Devices[0].Link.PostCDA.AcceptedAt.IsZero() {
		t.Fatalf("before the rotation Tandem knows %+v; want device %s holding a local passkey, the prompt accepted", info.Devices, device)
	}

	const newSecret = "e2e-rotated-cookie-secret-9876543210fedcba"
	s.restartTandem(t, newSecret, e2eCookieSecret)
	current, err := browser.NewCookieCodec(newSecret)
	if err != nil {
		t.Fatal(err)
	}

	// The login page still knows this computer holds a passkey.
	b.onNewDocument(noConditionalUI)
	b.open("/login")
	b.waitPath("/login")
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('button[data-ceremony=passkey_login][data-choice=this_computer]').length`)); err != nil || n != 1 {
		t.Errorf("after the rotation the login page offers this computer's passkey %d times, want 1 (%v)", n, err)
	}
	after := b.deviceCookie()
	if got, err := current.Decode(after); err != nil || got != device {
		t.Fatalf("after the rotation the cookie %q is device %q (%v); want %s signed with the new secret", after, got, err, device)
	}

	// This computer's passkey signs in, on the same device, with no prompt.
	computerCount := b.signCount(computer, "this computer")
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: phone}); err != nil {
		t.Fatal(err)
	}
	b.signInWithPasskey(email, "this_computer")
	if declined := b.waitSignedIn(); len(declined) != 0 {
		t.Errorf("prompted %v after the rotation; the device's answers should hold", declined)
	}
	b.requireSession(email, "passkey")
	if b.signCount(computer, "this computer") <= computerCount {
		t.Error("this computer did not answer the sign-in")
	}
	info = waitRecorded(t, s, id, "the sign-in after the rotation", func(i identityInfo) bool {
		return len(i.Events) > 0 && i.Events[0].Kind == devices.EventLogin && i.Events[0].Via == devices.ViaLocal
	})
	if info.Events[0].DeviceID != device {
		t.Errorf("the sign-in was recorded on device %s, want %s", info.Events[0].DeviceID, device)
	}
	if len(info.Devices) != 1 || info.Devices[0].Device.ID != device || !info.Devices[0].Link.LocalPasskey ||
		info.Devices[0].Link.PostCDA.AcceptedAt.IsZero() {
		t.Errorf("after the rotation Tandem knows %+v; want the one device, still holding a local passkey, the prompt accepted", info.Devices)
	}
}
