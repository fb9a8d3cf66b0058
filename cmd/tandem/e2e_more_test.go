package main

import (
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestE2EPhoneLayout walks the pages at a phone's width: each must fit
// without sideways scrolling, and passkey sign-up must work there too.
func TestE2EPhoneLayout(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{width: 390, height: 844, phone: true})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)

	fits := func(page string) {
		t.Helper()
		overflow, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			b.fail("%s scrolls sideways at 390 px", page)
		}
	}
	signUpWithPasskey(b, email, "")
	fits("welcome")
	if len(b.credentials(phone)) != 1 {
		t.Fatal("the phone's authenticator holds no passkey")
	}
	for _, p := range []string{"/settings", "/verification"} {
		b.open(p)
		b.waitPath(p)
		fits(p)
		b.screenshot(p[1:])
	}
	b.signOut()
	b.screenshot("login")
	fits("/login")
	b.open("/registration")
	b.waitPath("/registration")
	fits("/registration")
}

// TestE2ESecurityKey adds a security key (Kratos' webauthn method) in
// settings and signs in with it: identifier first, then tandem.js runs the
// ceremony Kratos' second step asks for.
func TestE2ESecurityKey(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	key := b.addAuthenticator(webauthn.AuthenticatorTransportUsb)
	email := uniqueEmail(t)
	const password = "security-key-passphrase-7"

	passwordSignUp(b, email, password)

	b.open("/settings")
	b.waitPath("/settings")
	b.fill(`input[name=webauthn_register_displayname]`, "My key")
	b.click(`button[data-ceremony=webauthn_registration]`)
	b.waitPath("/settings")
	b.text(`[data-passkey][data-kind=key] [data-testid=passkey-name]`)
	if n := len(b.credentials(key)); n != 1 {
		t.Fatalf("the key holds %d credentials, want 1", n)
	}
	signCount := b.credentials(key)[0].SignCount
	b.signOut()

	restore := b.onNewDocument(noConditionalUI)
	defer restore()
	b.open("/login")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`details[data-another] > summary`)
	b.click(`button[name=method][value=webauthn]`)
	// Kratos answers with the key's challenge; tandem.js starts it.
	b.waitSignedIn()
	b.requireSession(email, "webauthn")
	if b.credentials(key)[0].SignCount <= signCount {
		t.Fatal("the security key did not sign the login")
	}
}
