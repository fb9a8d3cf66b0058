package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestE2EDashboard: after a sign-up through the phone and its prompt, the
// adoption dashboard on the internal listener shows them in Chromium at
// desktop size, drawn under its CSP (the nonce'd stylesheet colours the
// SVG), behind the admin key.
func TestE2EDashboard(t *testing.T) {
	s := requireStack(t)
	b := newPromptBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)
	promptStartSignUp(b, email, "")
	b.waitPrompt("post_cda")
	b.answerPrompt("later")
	b.waitPath("/welcome")
	b.signOut()
	promptSignInWithPasskey(b, email)
	b.waitPath("/welcome")

	// Without the key: 401, and the browser is asked for it.
	resp, err := http.Get(s.hooksURL + "/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("the dashboard without the key: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + adminKey}}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	from := time.Now().UTC().AddDate(0, 0, -13).Format(time.DateOnly)
	b.do(chromedp.Navigate(s.hooksURL + "/dashboard?from=" + from + "&to=" + today))
	b.do(chromedp.WaitVisible(chromedp.CSS(`section[data-testid=adoption] svg`)))
	b.screenshot("dashboard")
	if got := b.text(`h1`); got != "Passkey adoption" {
		t.Fatalf("heading %q", got)
	}
	// The stylesheet applied (it carries the CSP nonce): the phone class
	// is blue, and the page has no script at all.
	fill, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const r = document.querySelector('section[data-testid=adoption] rect.c-phone_only');
		return r ? getComputedStyle(r).fill : "no rect";
	})()`))
	if err != nil || fill != "rgb(37, 99, 235)" {
		t.Errorf("the adoption chart's phone column fill = %q (%v): the stylesheet did not apply", fill, err)
	}
	if n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.scripts.length`)); n != 0 {
		t.Errorf("the dashboard has %d scripts", n)
	}
	for sel, want := range map[string]string{
		`section[data-testid=funnel]`:  "with a passkey on a phone",
		`section[data-testid=prompts]`: "Sign in faster on this computer",
		`section[data-testid=rows]`:    "passkey-ready",
		`[data-testid=cda-share]`:      "went through a phone",
	} {
		if got := b.text(sel); !strings.Contains(got, want) {
			t.Errorf("%s says %q, want %q in it", sel, got, want)
		}
	}
	for _, sel := range []string{`section[data-testid=adoption] rect.c-phone_only`, `section[data-testid=signins] rect.w-phone`} {
		if n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('`+sel+`').length`)); n < 1 {
			t.Errorf("no %s drawn", sel)
		}
	}
	b.noSideways("the dashboard")

	// A reversed range: a clear 400 on the page, nothing read.
	b.do(chromedp.Navigate(s.hooksURL + "/dashboard?from=" + today + "&to=" + from))
	if got := b.text(`[data-testid=error]`); !strings.Contains(got, "after") {
		t.Errorf("a reversed range says %q", got)
	}
	b.screenshot("dashboard-reversed-range")
}
