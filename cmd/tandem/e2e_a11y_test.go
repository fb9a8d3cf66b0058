package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// The accessibility audit: axe-core (Deque's rules engine, installed from
// the npm registry by scripts/install-axe.sh, never committed) runs in
// every page state a person meets, at a phone's and a desktop's width, in
// light and dark, on the shared stack in English and on a branded stack in
// Arabic (right to left). The WCAG 2.0/2.1 A and AA rules must find
// nothing.

// axeTags are the rule sets the audit runs: WCAG 2.0 and 2.1, A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// axeSource returns axe.min.js, installing it first when it is missing
// (make test installs it; a lone `go test` should work too).
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		root, err := kratostest.RepoRoot()
		if err != nil {
			axeErr = err
			return
		}
		file := filepath.Join(root, ".bin", "axe", "axe.min.js")
		if _, err := os.Stat(file); err != nil {
			cmd := exec.Command(filepath.Join(root, "scripts", "install-axe.sh"))
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				axeErr = fmt.Errorf("scripts/install-axe.sh: %w", err)
				return
			}
		}
		buf, err := os.ReadFile(file)
		axeJS, axeErr = string(buf), err
	})
	if axeErr != nil {
		t.Fatal("axe-core: ", axeErr)
	}
	return axeJS
}

// axeViolation is one rule axe found broken, with the elements at fault.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// auditRow is one line of the audit's table.
type auditRow struct {
	stack, state, size, scheme string
	violations                 []axeViolation
}

// audit runs axe in a browser's page states and keeps the table.
type audit struct {
	t     *testing.T
	b     *chrome
	label string // the stack and language, for the table
	rows  *[]auditRow
	spent *time.Duration
}

// newAudit starts an audit of b's page states for a test of its own, such
// as the OAuth2 and social sign-in tests, whose pages need a Hydra.
func newAudit(t *testing.T, b *chrome, label string) *audit {
	axeSource(t)
	return &audit{t: t, b: b, label: label, rows: new([]auditRow), spent: new(time.Duration)}
}

// log writes the audit's table to the test log.
func (a *audit) log() {
	a.t.Logf("axe-core audit, rules %s: %d runs in %v\n%s", strings.Join(axeTags, ", "), len(*a.rows), a.spent.Round(time.Millisecond), auditTable(*a.rows))
}

// auditSizes are the widths the audit lays each page out at.
var auditSizes = []struct {
	name          string
	width, height int64
	mobile        bool
}{{"390", 390, 844, true}, {"1280", 1280, 900, false}}

// check audits the page as it is now at each size and colour scheme. The
// page is not reloaded: the emulation changes and axe runs again. Folded
// parts ("Sign in another way") are unfolded first, so that what they
// hold is audited too.
func (a *audit) check(state string) {
	a.t.Helper()
	start := time.Now()
	b := a.b
	src := axeSource(a.t)
	loaded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined"`))
	if err != nil {
		b.fail("audit %s: %v", state, err)
	}
	if !loaded {
		// Runtime.evaluate is the debugger's: the page's CSP does not apply.
		b.do(chromedp.Evaluate[chromedp.Void](src))
	}
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach((d) => { d.open = true; })`))
	tags, _ := json.Marshal(axeTags)
	run := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]}).then((r) =>
  JSON.stringify(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))}))))`
	b.screenshot(strings.NewReplacer(" ", "-", ":", "", "(", "", ")", "").Replace(state))
	for _, size := range auditSizes {
		opts := []chromedp.EmulateViewportOption{}
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		b.do(chromedp.EmulateViewport(size.width, size.height, opts...))
		for _, scheme := range []string{"light", "dark"} {
			if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			}); err != nil {
				a.t.Fatalf("emulate %s: %v", scheme, err)
			}
			ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
			out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
			cancel()
			if err != nil {
				b.fail("axe on %s at %s px, %s: %v", state, size.name, scheme, err)
			}
			var vs []axeViolation
			if err := json.Unmarshal([]byte(out), &vs); err != nil {
				a.t.Fatal(err)
			}
			*a.rows = append(*a.rows, auditRow{stack: a.label, state: state, size: size.name, scheme: scheme, violations: vs})
			for _, v := range vs {
				for _, n := range v.Nodes {
					a.t.Errorf("%s · %s · %s px · %s: %s (%s): %s\n    %s", a.label, state, size.name, scheme, v.ID, v.Impact, v.Help, n.Target)
					a.t.Logf("      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
				}
			}
		}
	}
	// Back to the browser's own desktop window, in light, for the next
	// steps.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{}}); err != nil {
		a.t.Fatal(err)
	}
	b.do(chromedp.EmulateViewport(1280, 900))
	*a.spent += time.Since(start)
}

// canary proves the audit can fail: an image without a text alternative
// and grey-on-white text, added to the page, must be found (image-alt,
// color-contrast), then they go.
func (a *audit) canary() {
	a.t.Helper()
	b := a.b
	b.do(chromedp.Evaluate[chromedp.Void](axeSource(a.t)))
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const d = document.createElement("div"); d.id = "axe-canary";
  d.innerHTML = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="20" height="20"><p>faint</p>';
  const p = d.querySelector("p"); p.style.color = "#bbb"; p.style.background = "#fff"; // CSSOM: the CSP forbids style attributes
  document.querySelector("main").append(d); })()`))
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}, resultTypes: ["violations"]})
  .then((r) => r.violations.map((v) => v.id))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("axe canary: %v", err)
	}
	if !slices.Contains(out, "image-alt") || !slices.Contains(out, "color-contrast") {
		a.t.Fatalf("axe did not find the canary's faults: %v", out)
	}
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("axe-canary").remove()`))
}

// settle waits for tandem.js to have shaped the page: the passkey buttons
// it reveals, the plan it asks for.
func (b *chrome) settle() {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ready, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" &&
  (!document.querySelector("[data-ceremony]") || !!document.querySelector("[data-ceremony]:not([hidden])"))`))
		if err == nil && ready {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	// The capabilities report and the plan it brings back are one round
	// trip to Tandem on loopback.
	time.Sleep(150 * time.Millisecond)
}

// auditJourney walks every page state once, in one browser, auditing each:
// sign-in for each plan (autofill, identifier-first, password fallback,
// wrong password, phone only, on a phone), sign-up's two steps (and the
// second on a phone), the post-CDA and
// upgrade prompts with their add pages, welcome signed in and out,
// settings with a passkey listed, verification and recovery with their
// code steps, and Kratos' error page. lang "" is the browser's language.
func auditJourney(t *testing.T, s *stack, a *audit, lang string) {
	b := a.b
	b.addAuthenticator(webauthn.AuthenticatorTransportCable) // the phone
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	b.open("/welcome?lang=" + lang) // remembered in a cookie from here on
	b.waitPath("/welcome")
	if lang != "" {
		if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
			t.Fatalf("<html lang=%q>, want %q", got, lang)
		}
	}
	a.canary()
	a.check("welcome (signed out)")

	// Sign-in with autofill: this computer can hold a passkey and
	// conditional UI works. No passkey exists yet, so the request waits.
	b.onNewDocument(recordCalls)
	b.open("/login")
	b.waitPath("/login")
	b.settle()
	if !armedAutofill(b.calls()) {
		t.Fatal("the autofill plan's page did not arm conditional mediation")
	}
	a.check("sign-in: autofill")
	// From here on the pages report no conditional UI: with a passkey
	// on either authenticator, autofill would sign in on page load.
	b.onNewDocument(noConditionalUI)
	b.open("/login")
	b.waitPath("/login")
	b.settle()
	if armedAutofill(b.calls()) {
		t.Fatal("the identifier-first page armed autofill")
	}
	a.check("sign-in: identifier-first")

	email := uniqueEmail(t)
	b.open("/registration")
	b.waitPath("/registration")
	b.settle()
	a.check("sign-up: e-mail")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_registration]`)))
	b.settle()
	a.check("sign-up: passkey or password")
	b.click(`button[data-ceremony=passkey_registration]:not([data-choice])`)
	b.waitPrompt(devices.PromptPostCDA)
	a.check("prompt: post-CDA")
	b.answerPrompt("add")
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_settings]`)))
	a.check("add page: this computer")
	b.click(`form.not-now button[type=submit]`)
	b.waitPath("/welcome")
	a.check("welcome")
	b.open("/settings")
	b.waitPath("/settings")
	b.settle()
	a.check("settings (a passkey listed)")
	b.open("/verification")
	b.waitPath("/verification")
	a.check("verification: e-mail")
	b.fill(`input[name=email]`, email)
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	a.check("verification: code sent")
	// A real Kratos error: its stub error with a reason.
	b.open("/error?id=stub:500")
	b.waitPath("/error")
	a.check("error")
	b.signOut()

	// A password account: the passkey button falls back to the password,
	// a wrong one is explained at the field, and the upgrade prompt
	// follows a password sign-in.
	pwEmail := uniqueEmail(t)
	const password = "audit-passphrase-31"
	passwordSignUp(b, pwEmail, password)
	b.signOut()
	b.open("/login")
	b.waitPath("/login")
	b.settle()
	b.fill(`input[name=identifier]`, pwEmail)
	b.click(`section.primary button[data-ceremony=passkey_login]:not([data-choice])`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`details[data-another] .msg-info`)))
	a.check("sign-in: password fallback")
	b.fill(`input[name=password]`, "not-the-password-1")
	b.click(`button[name=method][value=password]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`.msg-error`)))
	b.settle()
	a.check("sign-in: wrong password")
	passwordSignIn(b, pwEmail, password)
	b.waitPrompt(devices.PromptUpgrade)
	a.check("prompt: upgrade")
	b.answerPrompt("add")
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_settings]`)))
	a.check("add page: phone")
	b.click(`form.not-now button[type=submit]`)
	b.waitPath("/welcome")
	b.signOut()

	b.open("/recovery")
	b.waitPath("/recovery")
	a.check("recovery: e-mail")
	b.fill(`input[name=email]`, pwEmail)
	b.click(`button[name=method][value=code]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`input[name=code]`)))
	a.check("recovery: code sent")

	// A computer that cannot hold a passkey, new to Tandem: the phone only.
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: computer}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, struct{}{}); err != nil {
		t.Fatal(err)
	}
	if lang != "" {
		b.open("/login?lang=" + lang)
	} else {
		b.open("/login")
	}
	b.waitPath("/login")
	b.settle()
	a.check("sign-in: phone only")

	// The same browser as a phone: its own words and a passkey on itself.
	b.becomePhone()
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	b.open("/login")
	b.waitPath("/login")
	b.settle()
	a.check("sign-in: on a phone")
	b.open("/registration")
	b.waitPath("/registration")
	b.fill(`input[name="traits.email"]`, uniqueEmail(t))
	b.click(`button[name=method][value=profile]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_registration]`)))
	b.settle()
	a.check("sign-up: passkey on a phone")
}

// armedAutofill tells whether the page asked for a conditional (autofill)
// passkey request.
func armedAutofill(calls []credentialCall) bool {
	return slices.ContainsFunc(calls, func(c credentialCall) bool { return c.Op == "get" && c.Mediation == "conditional" })
}

// auditTable formats the rows as page state × size × scheme → violations.
func auditTable(rows []auditRow) string {
	var out strings.Builder
	fmt.Fprintf(&out, "| stack | page state | size | scheme | violations |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		ids := make([]string, 0, len(r.violations))
		for _, v := range r.violations {
			ids = append(ids, v.ID)
		}
		cell := fmt.Sprint(len(r.violations))
		if len(ids) > 0 {
			cell += " (" + strings.Join(ids, ", ") + ")"
		}
		fmt.Fprintf(&out, "| %s | %s | %s px | %s | %s |\n", r.stack, r.state, r.size, r.scheme, cell)
	}
	return out.String()
}

func TestE2EAccessibility(t *testing.T) {
	s := requireStack(t)
	axeSource(t)
	var rows []auditRow
	var spent time.Duration
	start := time.Now()

	t.Run("default", func(t *testing.T) {
		b := newBrowser(t, s, browserOptions{})
		auditJourney(t, s, &audit{t: t, b: b, label: "default, en", rows: &rows, spent: &spent}, "")
	})
	t.Run("branded-ar", func(t *testing.T) {
		bs := requireBrandStack(t)
		b := newBrowser(t, bs, browserOptions{})
		auditJourney(t, bs, &audit{t: t, b: b, label: "branded, ar", rows: &rows, spent: &spent}, "ar")
	})

	per := len(auditSizes) * 2
	t.Logf("axe-core audit, rules %s: %d runs (%d page states × %d sizes × 2 schemes), in the audit %v of %v\n%s",
		strings.Join(axeTags, ", "), len(rows), len(rows)/per, len(auditSizes), spent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), auditTable(rows))
	if out := os.Getenv("TANDEM_AXE_TABLE"); out != "" {
		if err := os.WriteFile(out, []byte(auditTable(rows)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
