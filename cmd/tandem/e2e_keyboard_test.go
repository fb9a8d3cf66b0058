package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The keyboard-only test: a person who cannot use a mouse signs up and
// signs in with a password using Tab, Shift-Tab, Enter and Space (and
// typing), and sees where the focus is at every stop.

// focusStop is the focused element as the test sees it.
type focusStop struct {
	Tag     string `json:"tag"`
	Label   string `json:"label"`
	Ring    string `json:"ring"`
	Matches bool   `json:"matches"`
	Body    bool   `json:"body"`
}

// focused describes document.activeElement: whether it matches sel, and
// and the focus indicator it shows (an outline or a box shadow; "" for
// none).
func (b *chrome) focused(sel string) focusStop {
	b.t.Helper()
	selJSON, _ := json.Marshal(sel)
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return JSON.stringify({body: true});
  const s = getComputedStyle(e);
  const ring = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0 ? "outline " + s.outlineWidth + " " + s.outlineStyle + " " + s.outlineColor
    : s.boxShadow && s.boxShadow !== "none" ? "box-shadow " + s.boxShadow : "";
  const label = (e.getAttribute("name") || "") + " " + (e.value && e.type !== "password" ? e.value : "") + " " + (e.textContent || "").trim().slice(0, 40);
  return JSON.stringify({tag: e.tagName.toLowerCase(), label: label.trim(), ring: ring, matches: e.matches(`+string(selJSON)+`)});
})()`))
	if err != nil {
		b.fail("active element: %v", err)
	}
	var f focusStop
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		b.t.Fatal(err)
	}
	return f
}

// key presses one key: kb.Tab, kb.Enter or " ".
func (b *chrome) key(k string, shift bool) {
	b.t.Helper()
	var opts []chromedp.KeyOption
	if shift {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	b.do(chromedp.KeyEvent(k, opts...))
}

// tabTo presses Tab (Shift-Tab when back) until the focus is on sel,
// checking that every element it stops at shows where the focus is. It
// returns the stops.
func (b *chrome) tabTo(sel string, back bool) []string {
	b.t.Helper()
	var stops []string
	defer func() { b.t.Logf("Tab to %s: %s", sel, strings.Join(stops, " → ")) }()
	for range 40 {
		b.key(kb.Tab, back)
		f := b.focused(sel)
		if f.Body {
			continue // past the end: the next Tab starts over
		}
		stops = append(stops, f.Tag+" "+f.Label+" ["+f.Ring+"]")
		if f.Ring == "" {
			b.fail("no visible focus on <%s> %q", f.Tag, f.Label)
		}
		if f.Matches {
			return stops
		}
	}
	b.fail("Tab never reached %s; stops: %s", sel, strings.Join(stops, " | "))
	return nil
}

// typeText types into the focused field, key by key.
func (b *chrome) typeText(s string) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(s))
}

// waitForPath waits for the path, as waitPath, and lets the page's script
// run (it folds "another way" and reveals the passkey).
func (b *chrome) waitForPath(p string) {
	b.t.Helper()
	b.waitPath(p)
	b.settle()
}

func TestE2EKeyboardOnly(t *testing.T) {
	s := requireStack(t)
	b := newPromptBrowser(t, s, browserOptions{})
	// A headless page is never the focused window: emulate focus, so that
	// the focus and :focus-visible behave as on a screen.
	if _, err := chromedp.Call(b.ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	email := uniqueEmail(t)
	const password = "keyboard-only-passphrase-8"
	start := time.Now()
	var stops int

	// Sign up: the e-mail, then the password under "another way".
	b.open("/registration")
	b.waitForPath("/registration")
	stops += len(b.tabTo(`input[name="traits.email"]`, false))
	b.typeText(email)
	stops += len(b.tabTo(`button[name=method][value=profile]`, false))
	b.key(kb.Enter, false)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_registration]`)))
	b.settle()
	stops += len(b.tabTo(`details[data-another] > summary`, false))
	b.key(" ", false) // Space unfolds "another way"
	stops += len(b.tabTo(`input[name=password]`, false))
	b.typeText(password)
	// Back to the summary and forward again, with Shift-Tab.
	stops += len(b.tabTo(`details[data-another] > summary`, true))
	stops += len(b.tabTo(`input[name=password]`, false))
	stops += len(b.tabTo(`button[name=method][value=password]`, false))
	b.key(kb.Enter, false)
	b.waitSignedIn()
	b.requireSession(email, "password")

	// Sign out from the welcome page's link.
	stops += len(b.tabTo(`[data-testid=logout]`, false))
	b.key(kb.Enter, false)
	b.waitForPath("/login")
	if b.session() != nil {
		t.Fatal("still signed in after signing out by keyboard")
	}

	// Sign in: the e-mail, "another way", the password, Enter.
	stops += len(b.tabTo(`input[name=identifier]`, false))
	b.typeText(email)
	stops += len(b.tabTo(`details[data-another] > summary`, false))
	b.key(kb.Enter, false) // Enter unfolds it too
	stops += len(b.tabTo(`input[name=password]`, false))
	b.typeText(password)
	b.key(kb.Enter, false) // Enter in the password field submits the password
	// A password sign-in is offered a passkey on the phone: "Not now",
	// by keyboard.
	b.waitPath("/continue")
	stops += len(b.tabTo(`form[data-prompt] button[name=action][value=later]`, false))
	b.key(" ", false)
	b.waitPath("/welcome")
	b.requireSession(email, "password")
	t.Logf("signed up and in by keyboard alone: %d focus stops, each with a visible focus indicator, %v",
		stops, time.Since(start).Round(time.Millisecond))
}
