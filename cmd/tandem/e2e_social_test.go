package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
)

// waitProvider waits for the outside provider's login page. If Tandem's
// CSP blocked Kratos' redirect there, the browser stays on Tandem's page
// and Chromium logs the violation: the test fails with it.
func waitProvider(b *chrome, s *oauth2Stack, logs *logWatch) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if loc, err := b.location(); err == nil && strings.HasPrefix(loc, s.opURL+"/login") {
			b.do(chromedp.WaitVisible(chromedp.CSS(`#op-sign-in`)))
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.fail("never reached the provider's login page; CSP violations: %q", logs.cspViolations())
}

// socialButton presses the provider's button on a Tandem page and signs
// in at the provider as email.
func socialSignIn(b *chrome, s *oauth2Stack, logs *logWatch, email string) {
	b.t.Helper()
	b.click(`button[data-provider=` + socialProviderID + `]`)
	waitProvider(b, s, logs)
	b.fill(`input[name=email]`, email)
	b.click(`#op-sign-in`)
}

// kratosCredentials lists the credential types of an identity, with
// their identifiers, from Kratos' admin API.
func kratosCredentials(t *testing.T, s *oauth2Stack, identityID string) map[string][]string {
	t.Helper()
	resp, err := http.Get(s.kratos.AdminURL + "/admin/identities/" + identityID + "?include_credential=oidc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ident struct {
		Credentials map[string]struct {
			Identifiers []string `json:"identifiers"`
		} `json:"credentials"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ident); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for k, v := range ident.Credentials {
		out[k] = v.Identifiers
	}
	return out
}

// TestE2ESocialSignUpAndSignIn: sign up with an outside OpenID provider
// from Tandem's page under its CSP, the identity takes the provider's
// e-mail, the upgrade prompt offers a passkey on the phone, and the next
// social sign-in finds the same identity.
func TestE2ESocialSignUpAndSignIn(t *testing.T) {
	s := requireOAuth2Stack(t)
	start := time.Now()
	b := newPromptBrowser(t, s.stack, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	logs := b.watchLog()
	email := uniqueEmail(t)

	b.open("/registration")
	b.waitPath("/registration")
	if got := b.text(`button[data-provider=` + socialProviderID + `]`); got != "Continue with "+socialProviderName {
		t.Errorf("provider button reads %q", got)
	}
	if loaded, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector("button[data-provider] img"); return !!i && i.complete && i.naturalWidth > 0; })()`)); !loaded {
		t.Error("the provider's icon did not load")
	}
	b.screenshot("registration-social")
	a := newAudit(t, b, "social, en")
	a.check("sign-up with a social provider")
	a.log()
	socialSignIn(b, s, logs, email)

	// Back from the provider: a new identity with its e-mail, signed in,
	// and the upgrade prompt.
	b.waitPrompt(devices.PromptUpgrade)
	b.screenshot("upgrade-after-social")
	sess := b.requireSession(email, "oidc")
	id := sess.Identity.ID
	if creds := kratosCredentials(t, s, id); len(creds["oidc"]) != 1 || !strings.HasPrefix(creds["oidc"][0], socialProviderID+":") {
		t.Fatalf("the new identity's credentials: %v", creds)
	}
	b.answerPrompt("add")
	b.waitPath("/settings")
	b.click(`button[data-ceremony=passkey_settings]`)
	// The passkey went to the phone; the post-CDA prompt offers this
	// computer next.
	b.waitPrompt(devices.PromptPostCDA)
	b.signCount(phone, "the phone")
	if n := len(b.credentials(computer)); n != 0 {
		t.Fatalf("this computer holds %d passkeys; the upgrade creates the first on the phone", n)
	}
	info := waitRecorded(t, s.stack, id, "the phone passkey", func(i identityInfo) bool { return len(i.Credentials) == 1 })
	if !info.Credentials[0].PhoneHeld {
		t.Fatalf("the upgrade's passkey: %+v", info.Credentials[0])
	}
	b.answerPrompt("later")
	b.waitPath("/welcome")
	b.signOut()

	// Sign in again with the provider: the same identity.
	b.open("/login")
	b.waitPath("/login")
	b.click(`details[data-another] > summary`)
	socialSignIn(b, s, logs, email)
	b.waitSignedIn()
	if again := b.requireSession(email, "oidc"); again.Identity.ID != id {
		t.Fatalf("social sign-in found identity %s, want %s", again.Identity.ID, id)
	}
	if v := logs.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
	t.Logf("social sign-up, upgrade, social sign-in: %v", time.Since(start).Round(time.Millisecond))
}

// TestE2ESocialAccountLinking: a passkey user signs in with the provider
// using the same e-mail; Kratos' linking screen asks for the passkey
// (through the phone, phone-first as any sign-in), and the provider is
// linked to the account.
func TestE2ESocialAccountLinking(t *testing.T) {
	s := requireOAuth2Stack(t)
	start := time.Now()
	b := newPromptBrowser(t, s.stack, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	logs := b.watchLog()
	email, id := phoneAccount(t, b)
	phoneCount := b.signCount(phone, "the phone")

	b.open("/login")
	b.waitPath("/login")
	b.click(`details[data-another] > summary`)
	socialSignIn(b, s, logs, email)

	// Kratos' account-linking screen, in Tandem's words.
	b.waitPath("/login")
	b.do(chromedp.WaitVisible(chromedp.CSS(`form[data-flow=login-link]`)))
	if got := b.text(`h1`); got != "Link your "+socialProviderName+" account" {
		t.Errorf("linking heading %q", got)
	}
	b.screenshot("account-linking")
	if b.session() != nil {
		t.Fatal("signed in before confirming with the passkey")
	}
	b.click(`section.primary button[data-ceremony=passkey_login]:not([data-choice])`)
	b.waitSignedIn()
	if b.signCount(phone, "the phone") <= phoneCount {
		t.Fatal("the phone's passkey did not confirm the link")
	}
	// Kratos records the passkey, then the linked provider, on the session.
	sess := b.session()
	if sess == nil || sess.Identity.ID != id || sess.Identity.Email() != email {
		t.Fatalf("after linking: session %+v, want identity %s", sess, id)
	}
	var methods []string
	for _, m := range sess.AuthenticationMethods {
		methods = append(methods, m.Method)
	}
	if !slices.Equal(methods, []string{"passkey", "oidc"}) {
		t.Errorf("session methods %v, want the passkey, then the linked provider", methods)
	}
	if creds := kratosCredentials(t, s, id); len(creds["oidc"]) != 1 || len(creds["passkey"]) == 0 {
		t.Fatalf("after linking the identity has %v, want a passkey and the provider", creds)
	}
	b.signOut()

	// The provider alone now signs in to the same account.
	b.open("/login")
	b.waitPath("/login")
	b.click(`details[data-another] > summary`)
	socialSignIn(b, s, logs, email)
	b.waitSignedIn()
	if sess := b.requireSession(email, "oidc"); sess.Identity.ID != id {
		t.Fatalf("social sign-in after linking found %s, want %s", sess.Identity.ID, id)
	}
	t.Logf("link and sign in with the provider: %v", time.Since(start).Round(time.Millisecond))
}
