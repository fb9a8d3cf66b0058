package main

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
)

// These tests walk the desktop table of ARCHITECTURE.md ("The CDA
// policy"), one test per row, and check what the page asked the browser
// for (recordCalls), which virtual authenticator answered (sign counts),
// and whether the post-CDA prompt followed.
//
// Chromium ignores hints and never reports hybridTransport
// (KRATOS-NOTES §11): the options the page sends are checked instead.

// recordCalls wraps navigator.credentials before any page script runs and
// keeps each call's options in sessionStorage, which survives the sign-in's
// navigations in this tab.
const recordCalls = `(() => {
  const enc = (v) => { const b = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    let s = ""; for (const x of b) s += String.fromCharCode(x); return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); };
  const keep = (call) => { const a = JSON.parse(sessionStorage.getItem("tandemCalls") || "[]"); a.push(call); sessionStorage.setItem("tandemCalls", JSON.stringify(a)); };
  const get = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = (o) => {
    const pk = o.publicKey || {};
    keep({ op: "get", mediation: o.mediation || "", hints: pk.hints || [],
      allow: (pk.allowCredentials || []).map((c) => ({ id: enc(c.id), transports: c.transports || [] })) });
    return get(o);
  };
})();`

type credentialCall struct {
	Op        string   `json:"op"`
	Mediation string   `json:"mediation"`
	Hints     []string `json:"hints"`
	Allow     []struct {
		ID         string   `json:"id"`
		Transports []string `json:"transports"`
	} `json:"allow"`
}

// calls returns and clears what recordCalls kept.
func (b *chrome) calls() []credentialCall {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const v = sessionStorage.getItem("tandemCalls") || "[]"; sessionStorage.removeItem("tandemCalls"); return v; })()`))
	if err != nil {
		b.t.Fatal(err)
	}
	var out []credentialCall
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// lastModal is the last get() that was not autofill.
func lastModal(t *testing.T, calls []credentialCall) credentialCall {
	t.Helper()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Op == "get" && calls[i].Mediation != "conditional" {
			return calls[i]
		}
	}
	t.Fatalf("no modal get() among %+v", calls)
	return credentialCall{}
}

// browserID is a virtual authenticator credential's id as the browser
// shows it (base64url).
func browserID(c *webauthn.Credential) string {
	return base64.RawURLEncoding.EncodeToString(c.CredentialID)
}

// newDevice makes the browser a device Tandem has never seen: its cookies
// go (the device cookie with them), its authenticators stay. The phone
// (cable) still holds its passkeys; this computer is new to the account.
func (b *chrome) newDevice() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, struct{}{}); err != nil {
		b.t.Fatal(err)
	}
}

// phoneAccount signs a new account up on this desktop through the phone
// (the main sign-up button), declining any prompt, and signs it out.
func phoneAccount(t *testing.T, b *chrome) (email, identityID string) {
	t.Helper()
	email = uniqueEmail(t)
	signUpWithPasskey(b, email, "")
	identityID = b.session().Identity.ID
	b.signOut()
	return email, identityID
}

// phoneAndLocalAccount does the same, then accepts the post-CDA prompt, so
// that this computer holds a passkey of the account too.
func phoneAndLocalAccount(t *testing.T, s *stack, b *chrome) (email, identityID string) {
	t.Helper()
	email = uniqueEmail(t)
	promptStartSignUp(b, email, "")
	b.waitPrompt(devices.PromptPostCDA)
	b.answerPrompt("add")
	b.waitPath("/settings")
	b.click(`button[data-ceremony=passkey_settings]`)
	b.waitPath("/welcome")
	identityID = b.session().Identity.ID
	waitRecorded(t, s, identityID, "the local passkey", func(i identityInfo) bool { return len(i.Credentials) == 2 })
	b.signOut()
	return email, identityID
}

// Row 1: passkey-ready, a local passkey, conditional UI ready: autofill
// offers the account's passkeys at once, the passkey button asks with hint
// hybrid, and there is no post-CDA prompt.
func TestE2ECDARow1LocalPasskeyAutofill(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email, _ := phoneAndLocalAccount(t, s, b)
	phoneCount, computerCount := b.signCount(phone, "the phone"), b.signCount(computer, "this computer")
	b.onNewDocument(recordCalls)

	b.open("/login") // autofill answers at once, as a person picking the suggestion
	if declined := b.waitSignedIn(); len(declined) != 0 {
		t.Fatalf("prompted %v on a computer that holds a passkey", declined)
	}
	b.requireSession(email, "passkey")
	calls := b.calls()
	if len(calls) == 0 || calls[0].Mediation != "conditional" || !slices.Equal(calls[0].Hints, []string{"hybrid"}) {
		t.Fatalf("autofill request = %+v, want conditional mediation with hint hybrid", calls)
	}
	if b.signCount(phone, "the phone") == phoneCount && b.signCount(computer, "this computer") == computerCount {
		t.Fatal("neither authenticator signed the autofill sign-in")
	}
}

// Row 2: passkey-ready, a local passkey, no conditional UI: the e-mail
// first, then a request narrowed to the phone's passkeys with transports
// hybrid and internal (the QR code at once); "use this computer's passkey"
// is the second choice; no prompt.
func TestE2ECDARow2LocalPasskeyIdentifierFirst(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email, _ := phoneAndLocalAccount(t, s, b)
	phoneCount, computerCount := b.signCount(phone, "the phone"), b.signCount(computer, "this computer")
	b.onNewDocument(noConditionalUI)
	b.onNewDocument(recordCalls)

	b.signInWithPasskey(email, "")
	if declined := b.waitSignedIn(); len(declined) != 0 {
		t.Fatalf("prompted %v on a computer that holds a passkey", declined)
	}
	b.requireSession(email, "passkey")
	call := lastModal(t, b.calls())
	phoneID := browserID(b.credentials(phone)[0])
	if len(call.Allow) != 1 || call.Allow[0].ID != phoneID || !slices.Equal(call.Allow[0].Transports, []string{"hybrid", "internal"}) {
		t.Fatalf("request narrowed to %+v, want only the phone's passkey with transports hybrid, internal", call.Allow)
	}
	if b.signCount(phone, "the phone") <= phoneCount || b.signCount(computer, "this computer") != computerCount {
		t.Fatal("the phone did not answer, or this computer answered unasked")
	}

	// The second choice: this computer's passkey, on request only. The
	// phone is not at hand this time, so its request fails first.
	b.signOut()
	computerCount = b.signCount(computer, "this computer")
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: phone}); err != nil {
		t.Fatal(err)
	}
	b.signInWithPasskey(email, "this_computer")
	b.waitSignedIn()
	call = lastModal(t, b.calls())
	if len(call.Allow) != 1 || call.Allow[0].ID != browserID(b.credentials(computer)[0]) || !slices.Equal(call.Allow[0].Transports, []string{"internal"}) {
		t.Fatalf("this computer's request = %+v, want its own passkey with transport internal", call.Allow)
	}
	if b.signCount(computer, "this computer") <= computerCount {
		t.Fatal("this computer did not answer its own request")
	}
}

// Row 3: passkey-ready, no local passkey, conditional UI ready: autofill
// and the button with hint hybrid; after the phone answers, the post-CDA
// prompt.
func TestE2ECDARow3NoLocalPasskeyAutofill(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email, _ := phoneAccount(t, b)
	b.newDevice()
	phoneCount := b.signCount(phone, "the phone")
	b.onNewDocument(recordCalls)

	b.open("/login") // the phone's passkey answers autofill (as a person picking it)
	b.waitPrompt(devices.PromptPostCDA)
	b.requireSession(email, "passkey")
	if b.signCount(phone, "the phone") <= phoneCount {
		t.Fatal("the phone did not answer")
	}
	calls := b.calls()
	if len(calls) == 0 || calls[0].Mediation != "conditional" || !slices.Equal(calls[0].Hints, []string{"hybrid"}) {
		t.Fatalf("autofill request = %+v, want conditional mediation with hint hybrid", calls)
	}
}

// Row 4: passkey-ready, no local passkey, no conditional UI: the e-mail
// first, narrowed to the phone's passkeys; then the post-CDA prompt.
func TestE2ECDARow4NoLocalPasskeyIdentifierFirst(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email, _ := phoneAccount(t, b)
	b.newDevice()
	phoneCount := b.signCount(phone, "the phone")
	b.onNewDocument(noConditionalUI)
	b.onNewDocument(recordCalls)

	b.signInWithPasskey(email, "")
	b.waitPrompt(devices.PromptPostCDA)
	b.requireSession(email, "passkey")
	call := lastModal(t, b.calls())
	if len(call.Allow) != 1 || call.Allow[0].ID != browserID(b.credentials(phone)[0]) || !slices.Equal(call.Allow[0].Transports, []string{"hybrid", "internal"}) {
		t.Fatalf("request narrowed to %+v, want the phone's passkey with transports hybrid, internal", call.Allow)
	}
	if visible, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-choice="this_computer"]:not([hidden])')`)); visible {
		t.Error("offered this computer's passkey where it has none")
	}
	if b.signCount(phone, "the phone") <= phoneCount {
		t.Fatal("the phone did not answer")
	}
}

// Row 5: not passkey-ready: the e-mail first, narrowed to the phone's
// passkeys; no post-CDA prompt (this computer cannot hold one).
func TestE2ECDARow5NotPasskeyReady(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email, _ := phoneAccount(t, b)
	b.newDevice()
	phoneCount := b.signCount(phone, "the phone")
	b.onNewDocument(recordCalls)

	b.signInWithPasskey(email, "")
	if declined := b.waitSignedIn(); len(declined) != 0 {
		t.Fatalf("prompted %v on a computer that cannot hold a passkey", declined)
	}
	call := lastModal(t, b.calls())
	if len(call.Allow) != 1 || !slices.Equal(call.Allow[0].Transports, []string{"hybrid", "internal"}) {
		t.Fatalf("request narrowed to %+v", call.Allow)
	}
	if b.signCount(phone, "the phone") <= phoneCount {
		t.Fatal("the phone did not answer")
	}
}

// Row 6: no WebAuthn: no passkey button; password or code, clearly
// labelled.
func TestE2ECDARow6NoWebAuthn(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.onNewDocument(`delete window.PublicKeyCredential;`)
	b.open("/login")
	b.waitPath("/login")
	b.do(chromedp.WaitVisible(chromedp.CSS(`details[data-another][open] input[name=password]`)))
	b.screenshot("login-no-webauthn")
	hidden, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector('section[data-group="passkey"]'); return !s || s.hidden; })()`))
	if err != nil || !hidden {
		t.Fatal("a passkey button shows in a browser without WebAuthn")
	}
	if got := b.text(`details[data-another][open] button[value=password]`); got == "" {
		t.Fatal("no labelled password sign-in")
	}
}

// A user with no passkey on a phone is never sent to a QR code: the page
// says so and offers the password.
func TestE2ECDANoPhonePasskeyNoQR(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	passwordSignUp(b, email, "no-phone-passphrase-5")
	b.waitSignedIn()
	b.signOut()
	b.onNewDocument(noConditionalUI)
	b.onNewDocument(recordCalls)

	b.signInWithPasskey(email, "")
	b.do(chromedp.WaitVisible(chromedp.CSS(`details[data-another][open] input[name=password]`)))
	b.screenshot("login-no-phone-passkey")
	if got := b.text(`details[data-another] .msg-info`); got == "" {
		t.Error("no explanation of why there is no passkey")
	}
	for _, c := range b.calls() {
		if c.Op == "get" && c.Mediation != "conditional" {
			t.Fatalf("asked the browser for a passkey (%+v): a QR code nobody can scan", c)
		}
	}
}

// A tampered return_to never leaves the site.
func TestE2ECDATamperedReturnTo(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	passwordSignUp(b, email, "tamper-passphrase-8")
	b.waitSignedIn()
	b.open("/continue?return_to=https%3A%2F%2Fevil.example%2Fsteal")
	b.waitPath("/continue")
	if got := b.text(`h1`); got == "" {
		t.Fatal("no explanation")
	}
	if p := b.path(); p != "/continue" {
		t.Fatalf("followed a tampered return_to to %s", p)
	}
	// The same through a whole sign-in: Kratos lets /continue through (it
	// is on the allowed list), and /continue refuses the inner address.
	b.signOut()
	b.open("/login?return_to=https%3A%2F%2Fevil.example%2F")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`details[data-another] > summary`)
	b.fill(`input[name=password]`, "tamper-passphrase-8")
	b.click(`button[name=method][value=password]`)
	b.waitPath("/continue")
	b.screenshot("tampered-return-to")
	if got := b.text(`p.lead`); !strings.Contains(got, "not one this site may send you to") {
		t.Fatalf("refusal reads %q", got)
	}
	b.requireSession(email, "password")
}
