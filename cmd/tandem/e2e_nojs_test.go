package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Without JavaScript every path but the passkey's works: the pages are
// plain forms posting to Kratos. These tests switch script execution off
// in the browser and walk each path to a session Kratos confirms.

// newNoJSBrowser is a browser that runs no page script.
func newNoJSBrowser(t *testing.T, s *stack) *chrome {
	t.Helper()
	b := newBrowser(t, s, browserOptions{})
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable scripts: %v", err)
	}
	return b
}

// noScriptRan checks the page is as the server sent it: the passkey
// buttons (which need tandem.js) still hidden, "another way" open.
func (b *chrome) noScriptRan(page string) {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("[data-ceremony]")].every((e) => e.hidden) &&
  [...document.querySelectorAll("details[data-another]")].every((d) => d.open)`))
	if err != nil {
		b.fail("%s: %v", page, err)
	}
	if !ok {
		b.fail("%s: a passkey button is shown or \"another way\" is folded, as only tandem.js would do", page)
	}
}

// mailCode waits for the newest message to email whose subject contains
// subject and that is not among seen, and adds it there.
func mailCode(t *testing.T, s *stack, email, subject string, seen *[]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	code, mail, err := s.mail.Code(ctx, email, subject, *seen...)
	if err != nil {
		all, _ := s.mail.Mails(context.Background(), email)
		var subjects []string
		for _, m := range all {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("%v (messages to %s: %q)", err, email, subjects)
	}
	*seen = append(*seen, mail.ID)
	return code
}

// quiet waits until the browser has stopped navigating: the same
// address, loaded, for a few polls in a row.
func (b *chrome) quiet() {
	b.t.Helper()
	last, same := "", 0
	deadline := time.Now().Add(10 * time.Second)
	for same < 4 && time.Now().Before(deadline) {
		loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.href : ""`))
		if err == nil && loc != "" && loc == last {
			same++
		} else {
			same = 0
		}
		last = loc
		time.Sleep(50 * time.Millisecond)
	}
}

// noJSSignOut follows the welcome page's sign-out link, a plain link.
func (b *chrome) noJSSignOut() {
	b.t.Helper()
	b.open("/welcome")
	b.waitPath("/welcome")
	b.click(`[data-testid=logout]`)
	b.waitPath("/login")
	if b.session() != nil {
		b.t.Fatal("still signed in after signing out")
	}
}

// declinePrompt answers "Not now" if /continue shows a prompt, and waits
// for the welcome page.
func (b *chrome) declinePrompt() {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		switch b.path() {
		case "/welcome":
			b.waitPath("/welcome")
			return
		case "/continue":
			b.click(`form[data-prompt] button[name=action][value=later]`)
			b.waitPath("/welcome")
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.fail("never reached the welcome page")
}

// TestE2ENoJSPassword: sign-up, verification, sign-in, changing the
// password in settings, and signing in with the new one, all without
// JavaScript.
func TestE2ENoJSPassword(t *testing.T) {
	s := requireStack(t)
	b := newNoJSBrowser(t, s)
	email := uniqueEmail(t)
	const password, newPassword = "no-script-passphrase-4", "no-script-changed-phrase-5"
	start := time.Now()

	b.open("/registration")
	b.waitPath("/registration")
	b.noScriptRan("registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.waitPath("/registration")
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
	b.noScriptRan("registration, second step")
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.declinePrompt()
	b.requireSession(email, "password")
	var seen []string
	// Verification: the sign-up sent one (its code belongs to the
	// sign-up's own flow); asked on /verification, a new one for this
	// flow.
	mailCode(t, s, email, "verify your email", &seen)
	b.open("/verification")
	b.waitPath("/verification")
	b.noScriptRan("verification")
	b.fill(`input[name=email]`, email)
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	b.fill(`input[name=code]`, mailCode(t, s, email, "verify your email", &seen))
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
	// Kratos verified the address before the browser finished the
	// redirects of the code's form post: let them end.
	b.quiet()
	b.noJSSignOut()

	b.noScriptRan("login")
	b.fill(`input[name=identifier]`, email)
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.declinePrompt()
	b.requireSession(email, "password")

	b.open("/settings")
	b.waitPath("/settings")
	b.noScriptRan("settings")
	b.fill(`input[name=password]`, newPassword)
	b.click(`button[name=method][value=password]`)
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`.msg-success`)))
	b.noJSSignOut()

	b.fill(`input[name=identifier]`, email)
	b.fill(`input[name=password]`, newPassword)
	b.click(`button[name=method][value=password]`)
	b.declinePrompt()
	b.requireSession(email, "password")
	t.Logf("without JavaScript: password sign-up, verification, sign-in, change and sign-in again: %v", time.Since(start).Round(time.Millisecond))
}

// TestE2ENoJSCode: sign-up and sign-in with an e-mailed code, then
// recovery, without JavaScript.
func TestE2ENoJSCode(t *testing.T) {
	s := requireStack(t)
	b := newNoJSBrowser(t, s)
	email := uniqueEmail(t)
	var seen []string
	start := time.Now()

	// Sign-up by code: the e-mail, then "send me a code", then the code.
	b.open("/registration")
	b.waitPath("/registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.waitPath("/registration")
	b.noScriptRan("registration, second step")
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	b.fill(`input[name=code]`, mailCode(t, s, email, registrationCodeSubject, &seen))
	b.click(`button[name=method][value=code]`)
	b.declinePrompt()
	b.requireSession(email, "code")
	b.noJSSignOut()

	// Sign-in by code.
	b.noScriptRan("login")
	b.fill(`input[name=identifier]`, email)
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	b.fill(`input[name=code]`, mailCode(t, s, email, loginCodeSubject, &seen))
	b.click(`button[name=method][value=code]`)
	b.declinePrompt()
	b.requireSession(email, "code")

	b.noJSSignOut()

	// Recovery: the code signs in and lands in settings.
	b.open("/recovery")
	b.waitPath("/recovery")
	b.noScriptRan("recovery")
	b.fill(`input[name=email]`, email)
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	b.fill(`input[name=code]`, mailCode(t, s, email, "Recover access to your account", &seen))
	b.click(`button[name=method][value=code]`)
	b.waitPath("/settings")
	b.requireSession(email, "code_recovery")
	t.Logf("without JavaScript: code sign-up, code sign-in, recovery: %v", time.Since(start).Round(time.Millisecond))
}

// Kratos v1.3.1's default subjects for its code e-mails.
const (
	registrationCodeSubject = "Complete your account registration"
	loginCodeSubject        = "Login to your account"
)
