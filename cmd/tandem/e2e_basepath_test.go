package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Tandem served under a path: ui.public_url is http://localhost:PORT/account/
// and Kratos' UI URLs point under it. Every link, asset, form, API call,
// cookie and redirect must stay under the path.

var (
	basePathOnce  sync.Once
	basePathStack *stack
	basePathErr   error
)

func requireBasePathStack(t *testing.T) *stack {
	t.Helper()
	basePathOnce.Do(func() { basePathStack, basePathErr = startExtraStack("basepath", "/account", nil) })
	return requireExtra(t, basePathStack, basePathErr)
}

// underPath checks the page Tandem served: every same-origin link, asset,
// form action and image is under the base path, and nothing the page
// loaded or fetched (stylesheet, script, logo, tandem.js' API calls)
// failed.
func (b *chrome) underPath(page string) {
	b.t.Helper()
	b.settle()
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => {
  const base = location.origin + "/account/";
  const bad = [];
  for (const [sel, attr] of [["a[href]", "href"], ["link[href]", "href"], ["script[src]", "src"], ["img[src]", "src"], ["form[action]", "action"]]) {
    for (const e of document.querySelectorAll(sel)) {
      const u = new URL(e.getAttribute(attr), location.href);
      if (u.origin === location.origin && !u.href.startsWith(base)) bad.push(sel + " " + u.pathname);
    }
  }
  for (const r of performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"))) {
    if (r.responseStatus >= 400) bad.push(r.responseStatus + " " + r.name);
    const u = new URL(r.name);
    if (u.origin === location.origin && !u.href.startsWith(base)) bad.push("loaded outside the path: " + u.pathname);
  }
  return bad;
})()`))
	if err != nil {
		b.fail("%s: %v", page, err)
	}
	if len(out) > 0 {
		b.fail("%s leaves the base path or fails to load:\n  %s", page, strings.Join(out, "\n  "))
	}
}

func TestE2EBasePath(t *testing.T) {
	s := requireBasePathStack(t)
	b := newPromptBrowser(t, s, browserOptions{})
	email := uniqueEmail(t)
	const password = "under-a-path-passphrase-6"
	p := func(page string) string { return s.basePath + page }
	start := time.Now()

	// The root of the path sends the browser to the welcome page there.
	b.open("/")
	b.waitPath(p("/welcome"))
	b.underPath("welcome")
	// Outside the path there are no pages.
	resp, err := http.Get(strings.TrimSuffix(s.uiURL, s.basePath) + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /login outside the base path: %d, want 404", resp.StatusCode)
	}

	// Sign up with a password: Kratos' flows come back under the path.
	b.open("/registration")
	b.waitPath(p("/registration"))
	b.underPath("registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-ceremony=passkey_registration]`)))
	b.underPath("registration, second step")
	b.click(`details[data-another] > summary`)
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.waitPath(p("/welcome")) // through /account/continue
	b.requireSession(email, "password")
	b.underPath("welcome, signed in")
	b.open("/settings")
	b.waitPath(p("/settings"))
	b.underPath("settings")

	// The language cookie is the path's; the device cookie is the host's,
	// because the browser must send it to Kratos too (cookies ignore
	// ports), whose web hooks forward it.
	b.open("/welcome?lang=de")
	b.waitPath(p("/welcome"))
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.uiURL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{}
	for _, c := range cookies.Cookies {
		paths[c.Name] = c.Path
	}
	if paths["tandem_lang"] != "/account/" {
		t.Errorf("the language cookie's path is %q, want /account/ (cookies: %v)", paths["tandem_lang"], paths)
	}
	if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != "de" {
		t.Errorf("after ?lang=de the page is in %q", got)
	}

	// Sign out and back in: Kratos returns to /account/login, then to
	// /account/continue, whose prompt posts to /account/prompt.
	b.click(`[data-testid=logout]`)
	b.waitPath(p("/login"))
	if b.session() != nil {
		t.Fatal("still signed in after signing out")
	}
	b.underPath("login")
	if got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != "de" {
		t.Errorf("the language cookie did not hold at /account/login: %q", got)
	}
	b.fill(`input[name=identifier]`, email)
	b.click(`details[data-another] > summary`)
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.waitPath(p("/continue"))
	b.underPath("the upgrade prompt")
	b.click(`form[data-prompt] button[name=action][value=later]`)
	b.waitPath(p("/welcome"))
	b.requireSession(email, "password")
	t.Logf("under /account/: sign-up, sign-in, settings, language, sign-out: %v", time.Since(start).Round(time.Millisecond))
}
