package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// oauthSignIn runs an authorization request in the browser and signs in
// on Tandem's login page through the phone (identifier first, the cable
// authenticator answers), leaving the browser wherever Hydra sends it.
func oauthSignIn(b *chrome, c *oauthClient, email string, extra ...oauth2.AuthCodeOption) {
	b.t.Helper()
	b.openURL(c.authURL(extra...))
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`section.primary button[data-ceremony=passkey_login]:not([data-choice])`)
}

// consentShown waits for the consent page and checks what it says.
func consentShown(b *chrome, app string, scopes ...string) {
	b.t.Helper()
	b.waitPath("/consent")
	b.do(chromedp.WaitVisible(chromedp.CSS(`form[data-consent] button[value=allow]`)))
	if h := b.text(`[data-testid=consent-heading]`); !strings.Contains(h, app) {
		b.t.Errorf("consent heading %q does not name %q", h, app)
	}
	list := b.text(`[data-testid=consent-scopes]`)
	for _, s := range scopes {
		if !strings.Contains(list, s) {
			b.t.Errorf("consent page lists %q, want %q among them", list, s)
		}
	}
}

// TestE2EOAuth2PasskeyConsent: an app signs a person in through Hydra and
// Tandem with the passkey on the phone; the ID token verifies and says
// who; "remember" skips the consent screen next time; Deny gives the app
// access_denied; a trusted app never shows the screen.
func TestE2EOAuth2PasskeyConsent(t *testing.T) {
	s := requireOAuth2Stack(t)
	start := time.Now()
	b := newPromptBrowser(t, s.stack, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email, identityID := phoneAccount(t, b)
	phoneCount := b.signCount(phone, "the phone")
	notes := newOAuthClient(t, s, "Notes", "openid", "email", "offline_access")

	// Sign in through the phone, then the consent screen.
	oauthSignIn(b, notes, email)
	consentShown(b, "Notes", "your e-mail address", "stay signed in")
	b.screenshot("consent")
	if loaded, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector("img.client-logo"); return !!i && i.complete && i.naturalWidth > 0; })()`)); !loaded {
		t.Error("the client's logo did not load under the consent page's CSP")
	}
	if b.signCount(phone, "the phone") <= phoneCount {
		t.Fatal("the phone's passkey did not sign in")
	}
	b.requireSession(email, "passkey")
	// The consent page and the answered-challenge page are in the axe
	// audit too (its main journey has no Hydra).
	a := newAudit(t, b, "oauth2, en")
	a.check("consent")
	b.click(`form[data-consent] button[value=allow]`)
	q := notes.callback(b)
	if q.Get("code") == "" {
		t.Fatalf("callback without a code: %v", q)
	}
	idt, claims := notes.idToken(q.Get("code"))
	if idt.Subject != identityID {
		t.Fatalf("ID token sub %q, want the Kratos identity %s", idt.Subject, identityID)
	}
	if claims["email"] != email {
		t.Fatalf("ID token email %v, want %s", claims["email"], email)
	}
	if _, ok := claims["name"]; ok {
		t.Errorf("ID token has a name without the profile scope: %v", claims)
	}
	if amr, _ := claims["amr"].([]any); !slices.Contains(amr, any("passkey")) {
		t.Errorf("ID token amr %v, want passkey", claims["amr"])
	}
	t.Logf("first sign-in with consent: ID token sub=%s email=%v amr=%v", idt.Subject, claims["email"], claims["amr"])

	// The same challenge again (the back button): a clear page, no 5xx.
	// Hydra would refuse the replay too, at its own end.

	// Again: Hydra remembers the sign-in, so no passkey; consent was not
	// remembered, so the screen again, this time with "remember".
	b.openURL(notes.authURL())
	consentShown(b, "Notes")
	consentURL, _ := b.location()
	b.click(`form[data-consent] input[name=remember]`)
	b.click(`form[data-consent] button[value=allow]`)
	if q := notes.callback(b); q.Get("code") == "" {
		t.Fatalf("second callback: %v", q)
	}
	b.openURL(consentURL)
	if got := b.text(`h1`); got != "This request was already answered" {
		t.Errorf("a replayed consent challenge shows %q", got)
	}
	a.check("consent: already answered")
	a.log()

	// Remembered: straight to the app, no consent screen.
	b.openURL(notes.authURL())
	q = notes.callback(b)
	if q.Get("code") == "" {
		t.Fatalf("remembered consent: %v", q)
	}
	if _, claims := notes.idToken(q.Get("code")); claims["email"] != email {
		t.Fatalf("remembered consent: email %v", claims["email"])
	}

	// Deny: another app; the app hears access_denied.
	photos := newOAuthClient(t, s, "Photos", "openid", "email", "profile")
	b.openURL(photos.authURL())
	consentShown(b, "Photos", "your e-mail address", "your name")
	b.click(`form[data-consent] button[value=deny]`)
	if q := photos.callback(b); q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Fatalf("after Deny the app got %v, want error=access_denied", q)
	}

	// A trusted app: no consent screen, a verified token.
	trusted := existingClient(t, s, trustedClientID, "openid", "email")
	b.openURL(trusted.authURL())
	q = trusted.callback(b)
	if q.Get("code") == "" {
		t.Fatalf("trusted app: %v", q)
	}
	if idt, claims := trusted.idToken(q.Get("code")); idt.Subject != identityID || claims["email"] != email {
		t.Fatalf("trusted app's token: sub %s, claims %v", idt.Subject, claims)
	}
	t.Logf("consent, remember, deny, trusted: %v", time.Since(start).Round(time.Millisecond))
}

// TestE2EOAuth2TrustedClientFromSignIn: with no session at all, a trusted
// app's sign-in goes from the login page's form post through Kratos,
// Hydra and Tandem's /consent to the app in one chain of redirects, which
// Chromium checks against the login page's form-action at every hop.
func TestE2EOAuth2TrustedClientFromSignIn(t *testing.T) {
	s := requireOAuth2Stack(t)
	start := time.Now()
	b := newPromptBrowser(t, s.stack, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email, identityID := phoneAccount(t, b)
	trusted := existingClient(t, s, trustedClientID, "openid", "email")
	logs := b.watchLog()
	trusted.logs = logs
	oauthSignIn(b, trusted, email)
	q := trusted.callback(b)
	if v := logs.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
	if q.Get("code") == "" {
		t.Fatalf("callback: %v", q)
	}
	if idt, _ := trusted.idToken(q.Get("code")); idt.Subject != identityID {
		t.Fatalf("sub %s, want %s", idt.Subject, identityID)
	}
	t.Logf("trusted app from the login form: %v", time.Since(start).Round(time.Millisecond))
}

// waitAt waits until the browser's URL starts with prefix.
func waitAt(b *chrome, prefix string) *url.URL {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if loc, err := b.location(); err == nil && strings.HasPrefix(loc, prefix) {
			u, _ := url.Parse(loc)
			return u
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.fail("never reached %s", prefix)
	return nil
}

// consentAndToken allows the consent screen (remembering it when asked)
// and returns the verified ID token's claims.
func consentAndToken(b *chrome, c *oauthClient, remember bool) map[string]any {
	b.t.Helper()
	b.waitPath("/consent")
	if remember {
		b.click(`form[data-consent] input[name=remember]`)
	}
	b.click(`form[data-consent] button[value=allow]`)
	q := c.callback(b)
	if q.Get("code") == "" {
		b.t.Fatalf("callback: %v", q)
	}
	_, claims := c.idToken(q.Get("code"))
	return claims
}

// TestE2EOAuth2Logout: RP-initiated logout with the app's ID token ends
// the Kratos session and Hydra's, and lands on the app's post-logout URL;
// a logout no app asked for asks first.
func TestE2EOAuth2Logout(t *testing.T) {
	s := requireOAuth2Stack(t)
	start := time.Now()
	b := newPromptBrowser(t, s.stack, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email, _ := phoneAccount(t, b)
	app := newOAuthClient(t, s, "Mail", "openid", "email")
	oauthSignIn(b, app, email)
	claims := consentAndToken(b, app, false)
	b.requireSession(email, "passkey")

	b.openURL(s.hydra.PublicURL + "/oauth2/sessions/logout?" + url.Values{
		"id_token_hint": {claims["_raw"].(string)}, "post_logout_redirect_uri": {s.rp.url + "/signed-out"}, "state": {"bye-123"},
	}.Encode())
	if u := waitAt(b, s.rp.url+"/signed-out"); u.Query().Get("state") != "bye-123" {
		t.Fatalf("post-logout: %s", u)
	}
	if sess := b.session(); sess != nil {
		t.Fatalf("the Kratos session of %s survived the logout", sess.Identity.Email())
	}
	// Hydra's session too: prompt=none cannot sign in silently.
	b.openURL(app.authURL(oauth2.SetAuthURLParam("prompt", "none")))
	if q := app.callback(b); q.Get("error") != "login_required" {
		t.Fatalf("after logout, prompt=none gave %v, want error=login_required", q)
	}

	// A logout that no app asked for (no ID token): Tandem asks first.
	oauthSignIn(b, app, email)
	consentAndToken(b, app, false)
	b.openURL(s.hydra.PublicURL + "/oauth2/sessions/logout")
	b.waitPath("/logout")
	b.do(chromedp.WaitVisible(chromedp.CSS(`form[data-logout] button[value=sign_out]`)))
	b.screenshot("logout-question")
	a := newAudit(t, b, "oauth2, en")
	a.check("logout question")
	a.log()
	if b.session() == nil {
		t.Fatal("signed out before answering")
	}
	b.click(`form[data-logout] button[value=stay]`)
	b.waitPath("/welcome")
	b.requireSession(email, "passkey")
	b.openURL(s.hydra.PublicURL + "/oauth2/sessions/logout")
	b.waitPath("/logout")
	b.click(`form[data-logout] button[value=sign_out]`)
	b.waitPath("/login")
	if b.session() != nil {
		t.Fatal("still signed in after Sign out")
	}
	t.Logf("RP-initiated logout and the question: %v", time.Since(start).Round(time.Millisecond))
}

// TestE2EOAuth2PromptLogin: an app asking prompt=login (and max_age)
// gets a fresh passkey ceremony through Kratos' refresh, phone first: the
// request names the phone's passkey with the hybrid transport.
func TestE2EOAuth2PromptLogin(t *testing.T) {
	s := requireOAuth2Stack(t)
	start := time.Now()
	b := newPromptBrowser(t, s.stack, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email, identityID := phoneAccount(t, b)
	app := newOAuthClient(t, s, "Bank", "openid", "email")
	oauthSignIn(b, app, email)
	first := consentAndToken(b, app, true)
	b.onNewDocument(recordCalls)

	for _, param := range []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("prompt", "login"),
		oauth2.SetAuthURLParam("max_age", "1"),
	} {
		// auth_time has a resolution of a second.
		time.Sleep(1100 * time.Millisecond)
		count := b.signCount(phone, "the phone")
		b.openURL(app.authURL(param))
		b.waitPath("/login")
		if got := b.text(`h1`); got != "Confirm it's you" {
			t.Errorf("step-up page heading %q", got)
		}
		b.screenshot("step-up")
		b.click(`section.primary button[data-ceremony=passkey_login]:not([data-choice])`)
		q := app.callback(b)
		if q.Get("code") == "" {
			t.Fatalf("callback: %v", q)
		}
		if b.signCount(phone, "the phone") <= count {
			t.Fatal("no fresh ceremony on the phone")
		}
		// The page kept its calls in Tandem's origin's sessionStorage.
		b.open("/welcome")
		call := lastModal(t, b.calls())
		if len(call.Allow) != 1 || call.Allow[0].ID != browserID(b.credentials(phone)[0]) || !slices.Equal(call.Allow[0].Transports, []string{"hybrid", "internal"}) {
			t.Fatalf("step-up asked for %+v, want the phone's passkey with transports hybrid, internal", call.Allow)
		}
		idt, claims := app.idToken(q.Get("code"))
		if idt.Subject != identityID {
			t.Fatalf("sub %s, want %s", idt.Subject, identityID)
		}
		if a, b := claims["auth_time"].(float64), first["auth_time"].(float64); a <= b {
			t.Fatalf("auth_time %v is not after the first sign-in's %v", a, b)
		}
		first = claims
	}
	t.Logf("prompt=login and max_age step-ups: %v", time.Since(start).Round(time.Millisecond))
}
