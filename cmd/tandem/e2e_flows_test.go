package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// signUpWithPasskey registers email through the two-step registration with
// the passkey button (choice "" for the main one, or e.g. "this_computer"),
// and checks the session Kratos issued.
func signUpWithPasskey(b *chrome, email, choice string) {
	b.t.Helper()
	b.open("/registration")
	b.waitPath("/registration")
	b.screenshot("registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	// The second step has the same path: wait for its passkey button.
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_registration]`)))
	b.screenshot("registration-passkey")
	if choice == "" {
		b.click(`button[data-ceremony=passkey_registration]:not([data-choice])`)
	} else {
		b.click(`button[data-ceremony=passkey_registration][data-choice=` + choice + `]`)
	}
	b.waitSignedIn()
	b.screenshot("welcome")
	b.requireSession(email, "passkey")
	if got := b.text(`[data-testid=email]`); got != email {
		b.t.Fatalf("welcome page names %q, want %q", got, email)
	}
}

func TestE2EPasskeySignUpButtonAndAutofill(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)

	start := time.Now()
	// A desktop creates the passkey on the phone by default; this one
	// chooses "Use this computer instead".
	signUpWithPasskey(b, email, "this_computer")
	t.Logf("passkey sign-up: %v", time.Since(start).Round(time.Millisecond))
	creds := b.credentials(computer)
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the internal authenticator holds %d credentials, want 1 discoverable", len(creds))
	}
	signCount := creds[0].SignCount
	b.signOut()

	// The passkey button, with autofill switched off so that it cannot
	// sign in first. Without autofill the page asks for the e-mail first;
	// this account's only passkey is on this computer, which the user then
	// picks.
	restore := b.onNewDocument(noConditionalUI)
	start = time.Now()
	b.signInWithPasskey(email, "this_computer")
	b.screenshot("login-this-computer")
	b.waitSignedIn()
	t.Logf("passkey sign-in (button): %v", time.Since(start).Round(time.Millisecond))
	b.requireSession(email, "passkey")
	creds = b.credentials(computer)
	if len(creds) != 1 || creds[0].SignCount <= signCount {
		t.Fatalf("the internal authenticator did not sign the login (sign count %v → %v)", signCount, creds[0].SignCount)
	}
	signCount = creds[0].SignCount
	b.signOut()
	restore()

	// Autofill: the page arms conditional mediation; the virtual
	// authenticator answers it at once, as a user picking the suggestion.
	b.open("/login")
	b.waitPath("/welcome")
	b.requireSession(email, "passkey")
	if creds = b.credentials(computer); creds[0].SignCount <= signCount {
		t.Fatalf("autofill did not use the internal authenticator")
	}
}

func TestE2EPasswordSignUpAndSignInAnotherWay(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	email := uniqueEmail(t)
	const password = "a-long-unique-passphrase-42"

	b.open("/registration")
	b.waitPath("/registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.waitPath("/registration")
	b.click(`details[data-another] > summary`)
	b.screenshot("registration-another-way")
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.waitSignedIn()
	b.requireSession(email, "password")
	b.signOut()

	b.open("/login")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`details[data-another] > summary`)
	b.screenshot("login-another-way")
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.waitSignedIn()
	b.requireSession(email, "password")

	// A wrong password is explained on the page, with the method unfolded.
	b.signOut()
	b.open("/login")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`details[data-another] > summary`)
	b.fill(`input[name=password]`, "wrong-password-123")
	b.click(`button[name=method][value=password]`)
	b.waitPath("/login")
	b.screenshot("login-wrong-password")
	// Kratos' message 4000006 (invalid credentials), in Tandem's words.
	if got := b.text(`.msg-error[data-message-id="4000006"]`); !strings.Contains(got, "password is not right") {
		t.Fatalf("wrong password explained as %q", got)
	}
	if b.session() != nil {
		t.Fatal("signed in with a wrong password")
	}
}

func TestE2ERecoveryByCode(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	email := uniqueEmail(t)
	const password = "recover-me-passphrase-17"

	// An account that exists, signed up with a password.
	passwordSignUp(b, email, password)
	b.signOut()

	b.open("/login")
	b.waitPath("/login")
	b.click(`a[href="/recovery"]`)
	b.waitPath("/recovery")
	b.screenshot("recovery")
	b.fill(`input[name=email]`, email)
	b.click(`button[name=method][value=code]`)
	b.waitPath("/recovery")
	// The code comes over real SMTP, from Mailpit's API.
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	code, mail, err := s.mail.Code(ctx, email, "Recover access to your account")
	if err != nil {
		t.Fatal(err)
	}
	if len(mail.To) != 1 || mail.To[0] != email {
		t.Fatalf("the recovery e-mail went to %v, want %s", mail.To, email)
	}
	b.screenshot("recovery-code")
	b.fill(`input[name=code]`, code)
	b.click(`button[name=method][value=code]`)
	b.waitPath("/settings")
	b.screenshot("settings-after-recovery")
	b.requireSession(email, "code_recovery")
}

func TestE2EAddPasskeyInSettings(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	const password = "settings-passphrase-99"

	passwordSignUp(b, email, password)
	if n := len(b.credentials(computer)); n != 0 {
		t.Fatalf("authenticator holds %d credentials before settings", n)
	}

	b.open("/settings")
	b.waitPath("/settings")
	b.screenshot("settings")
	// On a desktop the main button adds a passkey on the phone; this
	// computer's own is the second choice.
	b.click(`button[data-ceremony=passkey_settings][data-choice=this_computer]`)
	b.waitPath("/settings")
	// Kratos re-renders settings with a success message and the new
	// passkey on the list.
	deadline := time.Now().Add(10 * time.Second)
	for len(b.credentials(computer)) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(b.credentials(computer)); n != 1 {
		t.Fatalf("authenticator holds %d credentials after adding a passkey, want 1", n)
	}
	b.text(`[data-passkey][data-kind=computer] [data-testid=passkey-name]`)
	b.screenshot("settings-passkey-added")
	b.signOut()

	restore := b.onNewDocument(noConditionalUI)
	defer restore()
	b.signInWithPasskey(email, "this_computer")
	b.waitSignedIn()
	b.requireSession(email, "passkey")
}

// TestE2EVerificationByCode: a password sign-up sends a verification
// e-mail over SMTP; the code from Mailpit, typed into /verification,
// verifies the address.
func TestE2EVerificationByCode(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	email := uniqueEmail(t)
	passwordSignUp(b, email, "verify-me-passphrase-23")
	if sess := b.session(); len(sess.Identity.VerifiableAddresses) != 1 || sess.Identity.VerifiableAddresses[0].Verified {
		t.Fatalf("before verification: %+v", sess.Identity.VerifiableAddresses)
	}

	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	// The sign-up sent one (its code belongs to the sign-up's own
	// verification flow).
	_, first, err := s.mail.Code(ctx, email, "verify your email")
	if err != nil {
		t.Fatal(err)
	}
	if len(first.To) != 1 || first.To[0] != email {
		t.Fatalf("the verification e-mail went to %v, want %s", first.To, email)
	}
	// The person asks on /verification: a new e-mail, whose code is this
	// flow's.
	b.open("/verification")
	b.waitPath("/verification")
	b.fill(`input[name=email]`, email)
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	code, _, err := s.mail.Code(ctx, email, "verify your email", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.fill(`input[name=code]`, code)
	b.screenshot("verification-code")
	b.click(`button[name=method][value=code]`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if sess := b.session(); sess != nil && len(sess.Identity.VerifiableAddresses) == 1 && sess.Identity.VerifiableAddresses[0].Verified {
			break
		}
		if time.Now().After(deadline) {
			b.fail("the address was never verified")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.screenshot("verified")
}
