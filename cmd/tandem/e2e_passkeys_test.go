package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
)

// These tests walk the settings page's passkeys and sessions lists: what
// a person sees after a CDA sign-up, renaming, removing (through Kratos'
// own settings flow), the WebAuthn Signal API calls, the add buttons and
// signing out other sessions.

// recordSignals stands in for the WebAuthn Signal API before any page
// script runs (whatever this Chromium ships), and keeps each call in
// sessionStorage, which survives the navigations in this tab.
const recordSignals = `(() => {
  const keep = (call) => { const a = JSON.parse(sessionStorage.getItem("tandemSignals") || "[]"); a.push(call); sessionStorage.setItem("tandemSignals", JSON.stringify(a)); };
  Object.defineProperty(PublicKeyCredential, "signalUnknownCredential", { configurable: true,
    value: (o) => { keep({ op: "unknown", rpId: o.rpId, ids: [o.credentialId] }); return Promise.resolve(); } });
  Object.defineProperty(PublicKeyCredential, "signalAllAcceptedCredentials", { configurable: true,
    value: (o) => { keep({ op: "accepted", rpId: o.rpId, userId: o.userId, ids: o.allAcceptedCredentialIds }); return Promise.resolve(); } });
})();`

type signalCall struct {
	Op     string   `json:"op"`
	RPID   string   `json:"rpId"`
	UserID string   `json:"userId"`
	IDs    []string `json:"ids"`
}

// signals returns and clears what recordSignals kept.
func (b *chrome) signals() []signalCall {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const v = sessionStorage.getItem("tandemSignals") || "[]"; sessionStorage.removeItem("tandemSignals"); return v; })()`))
	if err != nil {
		b.t.Fatal(err)
	}
	var out []signalCall
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// passkeyListRow is one row of the list as a person reads it.
type passkeyListRow struct {
	Hex     string `json:"hex"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Where   string `json:"where"`
	Sync    string `json:"sync"`
	Created string `json:"created"`
	Used    string `json:"used"`
}

// passkeyList reads the list on the settings page.
func (b *chrome) passkeyList() []passkeyListRow {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll("[data-passkey]")].map((r) => ({
	  hex: r.dataset.passkey, kind: r.dataset.kind,
	  name: r.querySelector("[data-testid=passkey-name]").textContent.trim(),
	  where: r.querySelector("[data-testid=passkey-where] [data-where]").textContent.trim(),
	  sync: r.querySelector("[data-testid=passkey-sync]").textContent.trim(),
	  created: r.querySelector("[data-testid=passkey-created]").textContent.trim(),
	  used: r.querySelector("[data-testid=passkey-used]").textContent.trim() })))`))
	if err != nil {
		b.t.Fatal(err)
	}
	var rows []passkeyListRow
	if err := json.Unmarshal([]byte(raw), &rows); err != nil {
		b.t.Fatal(err)
	}
	return rows
}

// openSettings opens /settings (Kratos creates the flow) and waits for
// the list.
func (b *chrome) openSettings() {
	b.t.Helper()
	b.open("/settings")
	b.waitPath("/settings")
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=passkeys]`)))
}

// rename submits the rename form of the row with hex id.
func (b *chrome) rename(hex, name string) {
	b.t.Helper()
	// Open it as a click on "Rename" does; it stays open after an error.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#passkey-` + hex + ` details.rename").open = true`))
	// As typed, control characters included.
	b.do(chromedp.SetJavascriptAttribute(chromedp.CSS(`#nick-`+hex), "value", name))
	b.leaving(func() { b.click(`#passkey-` + hex + ` details.rename button[type=submit]`) })
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=passkeys]`)))
}

// leaving runs act, which navigates, and waits until the next page has
// loaded: the path alone may stay the same.
func (b *chrome) leaving(act func()) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`window.tandemOldPage = true`))
	act()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		state, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.tandemOldPage ? "old" : document.readyState`))
		if err == nil && state == "complete" {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.fail("the page never changed")
}

func rowWhere(t *testing.T, rows []passkeyListRow, where string) passkeyListRow {
	t.Helper()
	for _, r := range rows {
		if strings.HasPrefix(r.Where, where) {
			return r
		}
	}
	t.Fatalf("no row %q in %+v", where, rows)
	return passkeyListRow{}
}

// TestE2EPasskeysList: a desktop CDA sign-up (phone over hybrid), the
// post-CDA prompt accepted (this computer), a sign-in through the phone;
// then the list, rename, bad input, removal with the Signal API, the last
// passkey's warnings and Kratos' refusal.
func TestE2EPasskeysList(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email, identityID := phoneAndLocalAccount(t, s, b)
	autofillOff := b.onNewDocument(noConditionalUI)
	b.signInWithPasskey(email, "")
	b.waitSignedIn()
	b.requireSession(email, "passkey")
	waitRecorded(t, s, identityID, "the sign-in through the phone", func(i identityInfo) bool {
		return slices.ContainsFunc(i.Credentials, func(c devices.Credential) bool { return c.PhoneHeld && c.LastUsedVia == devices.ViaHybrid })
	})
	b.onNewDocument(recordSignals)

	b.openSettings()
	rows := b.passkeyList()
	b.screenshot("passkeys-list")
	b.narrow(func() { b.screenshot("passkeys-list") })
	if len(rows) != 2 {
		t.Fatalf("list = %+v, want two rows", rows)
	}
	ph, pc := rowWhere(t, rows, "On your phone"), rowWhere(t, rows, "On this computer")
	if rows[0] != ph || ph.Kind != "phone" || pc.Kind != "computer" {
		t.Errorf("rows = %+v, want the phone first (icon phone), then this computer (icon computer)", rows)
	}
	for _, r := range rows {
		if r.Name != "Virtual authenticator" || !strings.HasPrefix(r.Created, "Added ") || !strings.Contains(r.Created, " from Chrome on Linux") {
			t.Errorf("row %+v: want the AAGUID's provider name and the creation date and device", r)
		}
	}
	if !strings.HasPrefix(ph.Used, "Last used just now, through your phone from Chrome on Linux") || !strings.HasSuffix(ph.Used, "· 1 sign-in") {
		t.Errorf("phone row last used = %q", ph.Used)
	}
	if !strings.HasPrefix(pc.Used, "Not used to sign in yet") {
		t.Errorf("computer row last used = %q", pc.Used)
	}
	phoneID, computerID := browserID(b.credentials(phone)[0]), browserID(b.credentials(computer)[0])
	sig := b.signals()
	if len(sig) != 1 || sig[0].Op != "accepted" || sig[0].RPID != "localhost" || sig[0].UserID == "" ||
		!sameSet(sig[0].IDs, []string{phoneID, computerID}) {
		t.Errorf("signals on a visit = %+v, want signalAllAcceptedCredentials with both ids", sig)
	}

	// Rename: the list, the admin API and tandem devices show it.
	b.rename(pc.Hex, "Work laptop")
	if got := rowWhere(t, b.passkeyList(), "On this computer"); got.Name != "Work laptop" {
		t.Errorf("renamed row = %+v", got)
	}
	computerCred := devices.CredentialID(computerID)
	if c := recordedCredential(t, s, identityID, computerCred); c.Nickname != "Work laptop" {
		t.Errorf("admin API nickname = %q", c.Nickname)
	}
	out, err := runDevices(t, filepath.Join(s.dir, "tandem.db"), "--identity", identityID)
	if err != nil || !strings.Contains(out, `"Work laptop"`) {
		t.Errorf("tandem devices: %v\n%s", err, out)
	}

	// Bad names: the field's error, nothing stored.
	for _, bad := range []struct{ name, want string }{
		{"   ", "Enter a name."},
		{strings.Repeat("x", 41), "Use 40 characters or fewer."},
		{"tab\there", "Use letters, numbers, spaces and punctuation only."},
		{"<b>bold</b>", "Leave out the characters < and >."},
	} {
		b.rename(pc.Hex, bad.name)
		if got := b.text(`#passkey-` + pc.Hex + ` [data-testid=rename-error]`); got != bad.want {
			t.Errorf("rename to %q: error %q, want %q", bad.name, got, bad.want)
		}
	}
	if c := recordedCredential(t, s, identityID, computerCred); c.Nickname != "Work laptop" {
		t.Errorf("bad input changed the nickname to %q", c.Nickname)
	}
	b.signals()

	// Remove this computer's passkey: the confirmation names it, Kratos
	// removes it, the store marks it removed, the provider is told.
	b.leaving(func() { b.click(`#passkey-` + pc.Hex + ` [data-testid=remove]`) })
	if h := b.text("h1"); h != "Remove “Work laptop”?" {
		t.Errorf("confirmation heading = %q", h)
	}
	b.screenshot("passkeys-remove-confirm")
	b.narrow(func() { b.screenshot("passkeys-remove-confirm") })
	if n := b.count(`[data-testid=remove-warning]`); n != 0 {
		t.Errorf("%d warnings for a computer passkey beside a phone one", n)
	}
	b.leaving(func() { b.click(`[data-testid=confirm-remove]`) })
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=passkeys]`)))
	if rows := b.passkeyList(); len(rows) != 1 || rows[0].Hex != ph.Hex {
		t.Fatalf("after removal the list = %+v, want only the phone", rows)
	}
	creds, err := s.tandem.IdentityCredentials(context.Background(), identityID)
	if err != nil || len(creds) != 1 {
		t.Fatalf("Kratos has %d credentials (%v), want 1", len(creds), err)
	}
	waitRecorded(t, s, identityID, "the removal", func(i identityInfo) bool {
		return slices.ContainsFunc(i.Credentials, func(c devices.Credential) bool { return c.ID == computerCred && c.Removed() })
	})
	sig = b.signals()
	if !slices.ContainsFunc(sig, func(c signalCall) bool { return c.Op == "unknown" && slices.Equal(c.IDs, []string{computerID}) }) ||
		!slices.ContainsFunc(sig, func(c signalCall) bool { return c.Op == "accepted" && slices.Equal(c.IDs, []string{phoneID}) }) {
		t.Errorf("signals after removal = %+v, want unknown [computer] and accepted [phone]", sig)
	}
	t.Logf("signals after removal: %+v", sig)

	// The last passkey on the phone: the warning says what is lost. Kratos
	// lets it go here (the e-mail code is still a way in), so its
	// refusal is seen by posting the same removal again.
	b.leaving(func() { b.click(`#passkey-` + ph.Hex + ` [data-testid=remove]`) })
	warnings, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("[data-testid=remove-warning]")].map((m) => m.textContent).join(" | ")`))
	if !strings.Contains(warnings, "This is the only passkey on your phone.") {
		t.Errorf("warnings before removing the last phone passkey = %q", warnings)
	}
	b.screenshot("passkeys-remove-last")
	audit := newAudit(t, b, "passkeys, en")
	audit.check("removal question, last phone passkey")
	audit.log()
	replay, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const f = document.querySelector("form[data-remove-form]"), btn = f.querySelector("button[name]");
	  return JSON.stringify({action: f.action, csrf: f.querySelector("[name=csrf_token]").value, name: btn.name, value: btn.value}); })()`))
	b.leaving(func() { b.click(`[data-testid=confirm-remove]`) })
	if rows := b.passkeyList(); len(rows) != 0 {
		t.Errorf("after removing the last passkey the list = %+v", rows)
	}
	b.leaving(func() {
		b.do(chromedp.Evaluate[chromedp.Void](`(() => { const r = ` + replay + `; const f = document.createElement("form");
		  f.method = "post"; f.action = r.action;
		  for (const [k, v] of [["csrf_token", r.csrf], [r.name, r.value]]) { const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); }
		  document.body.appendChild(f); f.submit(); })()`))
	})
	b.waitPath("/settings")
	msgs, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".msg-error")].map((m) => m.textContent).join(" | ")`))
	if h := b.text("h1"); msgs == "" || h != "Account settings" {
		b.fail("Kratos' refusal: heading %q, messages %q; want the settings page with Kratos' message", h, msgs)
	}
	t.Logf("Kratos' refusal as shown: %s", msgs)

	// This computer's authenticator still holds the removed passkey: a
	// sign-in with it is refused.
	b.signOut()
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: phone}); err != nil {
		t.Fatal(err)
	}
	before := b.signCount(computer, "this computer")
	autofillOff()
	b.open("/login") // autofill: the computer answers with its removed passkey
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && b.signCount(computer, "this computer") == before {
		time.Sleep(50 * time.Millisecond)
	}
	if b.signCount(computer, "this computer") == before {
		t.Fatal("the computer's authenticator was never asked")
	}
	time.Sleep(time.Second)
	if sess := b.session(); sess != nil {
		t.Fatalf("signed in as %s with a removed passkey", sess.Identity.Email())
	}
}

// recordedCredential is one credential from Tandem's admin API.
func recordedCredential(t *testing.T, s *stack, identityID string, id devices.CredentialID) devices.Credential {
	t.Helper()
	for _, c := range s.recorded(t, identityID).Credentials {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("admin API has no credential %s", id)
	return devices.Credential{}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// count is how many elements match a selector.
func (b *chrome) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// TestE2EPasskeysForgedAndCrossSite: rename or remove a credential that
// is not the identity's → 404, nothing changed; a cross-site post is
// refused.
func TestE2EPasskeysForgedAndCrossSite(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	other := newBrowser(t, s, browserOptions{})
	other.addAuthenticator(webauthn.AuthenticatorTransportCable)
	otherEmail := uniqueEmail(t)
	signUpWithPasskey(other, otherEmail, "")
	otherID := other.session().Identity.ID
	otherCreds, err := s.tandem.IdentityCredentials(context.Background(), otherID)
	if err != nil || len(otherCreds) != 1 {
		t.Fatal(err)
	}
	otherCred, _ := devices.CredentialIDFromAdmin(otherCreds[0].ID)

	signUpWithPasskey(b, uniqueEmail(t), "")
	b.openSettings()
	flow, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`new URL(location.href).searchParams.get("flow")`))
	post := func(path string, form url.Values) int {
		status, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`fetch(`+jsString(path)+`, {method: "POST", credentials: "same-origin",
		  headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: `+jsString(form.Encode())+`, redirect: "manual"}).then((r) => r.status)`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	for _, hex := range []string{otherCred.RemoveValue(), "00ff00ff", "not-hex"} {
		if got := post("/settings/passkeys/rename", url.Values{"flow": {flow}, "credential": {hex}, "nickname": {"mine"}}); got != http.StatusNotFound {
			t.Errorf("rename %s: %d, want 404", hex, got)
		}
		b.open("/settings?flow=" + flow + "&remove=" + url.QueryEscape(hex))
		if h := b.text("h1"); h != "Page not found" {
			t.Errorf("remove %s: page %q, want not found", hex, h)
		}
	}
	if c := recordedCredential(t, s, otherID, otherCred); c.Nickname != "" {
		t.Errorf("another identity's passkey got the nickname %q", c.Nickname)
	}
	if creds, _ := s.tandem.IdentityCredentials(context.Background(), otherID); len(creds) != 1 {
		t.Error("another identity's passkey was removed")
	}

	// A post from another site, with the victim's cookies: refused.
	mine := b.passkeyListOrOpen()
	cookie := b.cookieHeader()
	for _, path := range []string{"/settings/passkeys/rename", "/settings/sessions/revoke-others"} {
		req, _ := http.NewRequest(http.MethodPost, s.uiURL+path, strings.NewReader(url.Values{"flow": {flow}, "credential": {mine[0].Hex}, "nickname": {"pwned"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d, want 403", path, resp.StatusCode)
		}
	}
	if rows := b.passkeyListOrOpen(); rows[0].Name == "pwned" {
		t.Error("a cross-site post renamed a passkey")
	}
}

// openSessions opens "Where you're signed in" from the settings page.
func (b *chrome) openSessions() {
	b.t.Helper()
	b.openSettings()
	b.leaving(func() { b.click(`a[href$="/settings/sessions"]`) })
	b.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=sessions]`)))
}

// passkeyListOrOpen opens the settings page and reads the list.
func (b *chrome) passkeyListOrOpen() []passkeyListRow {
	b.t.Helper()
	b.openSettings()
	return b.passkeyList()
}

// cookieHeader is the browser's cookies for the UI, as a Cookie header.
func (b *chrome) cookieHeader() string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.s.uiURL + "/"}})
	if err != nil {
		b.t.Fatalf("get cookies: %v", err)
	}
	var parts []string
	for _, c := range res.Cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// TestE2EPasskeysAddButtons: on a desktop, "Add a passkey on your phone"
// lands on the phone (cable), "Add a passkey to this computer" on this
// computer (internal); the page asked with the CDA options.
func TestE2EPasskeysAddButtons(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	email := uniqueEmail(t)
	signUpWithPasskey(b, email, "")
	identityID := b.session().Identity.ID
	computer := b.addAuthenticator(webauthn.AuthenticatorTransportInternal)

	b.openSettings()
	b.screenshot("passkeys-add")
	b.leaving(func() { b.click(`button[data-ceremony=passkey_settings]:not([data-choice])`) })
	if n := len(b.credentials(phone)); n != 2 {
		t.Errorf("the phone holds %d passkeys after adding one on it, want 2", n)
	}
	if n := len(b.credentials(computer)); n != 0 {
		t.Errorf("this computer holds %d passkeys after adding one on the phone", n)
	}
	b.openSettings()
	b.leaving(func() { b.click(`button[data-ceremony=passkey_settings][data-choice=this_computer]`) })
	if n := len(b.credentials(computer)); n != 1 {
		t.Errorf("this computer holds %d passkeys after adding one to it, want 1", n)
	}
	info := waitRecorded(t, s, identityID, "three passkeys", func(i identityInfo) bool { return len(i.Credentials) == 3 })
	phones := 0
	for _, c := range info.Credentials {
		if c.PhoneHeld {
			phones++
		}
	}
	if phones != 2 {
		t.Errorf("%d phone-held passkeys recorded, want 2: %+v", phones, info.Credentials)
	}
	b.openSettings()
	var kinds []string
	for _, r := range b.passkeyList() {
		kinds = append(kinds, r.Kind)
	}
	if !slices.Equal(kinds, []string{"phone", "phone", "computer"}) {
		t.Errorf("list kinds = %v, want phone, phone, computer", kinds)
	}
}

// TestE2EPasskeysSessions: two browsers signed in as one identity; the
// list in one shows both, and signing out the other ends its session
// (whoami 401) without touching a passkey.
func TestE2EPasskeysSessions(t *testing.T) {
	s := requireStack(t)
	email, password := uniqueEmail(t), "correct horse battery staple 42"
	a := newBrowser(t, s, browserOptions{})
	passwordSignUp(a, email, password)
	other := newBrowser(t, s, browserOptions{width: 390, height: 844, phone: true})
	passwordSignIn(other, email, password)
	other.waitSignedIn()
	otherSess := other.session()

	a.openSessions()
	if n := a.count(`[data-session]`); n != 2 {
		a.fail("%d sessions listed, want this one and the phone's", n)
	}
	device := a.text(`[data-session="` + otherSess.ID + `"] strong`)
	if device != "Chrome on Android" {
		t.Errorf("the other session's device = %q, want Chrome on Android", device)
	}
	a.screenshot("sessions")
	audit := newAudit(t, a, "sessions, en")
	audit.check("where you're signed in")
	audit.log()
	other.openSessions()
	other.screenshot("sessions")
	a.leaving(func() { a.click(`[data-session="` + otherSess.ID + `"] [data-testid=revoke]`) })
	if other.session() != nil {
		t.Fatal("the revoked session still answers whoami")
	}
	if a.session() == nil {
		t.Fatal("revoking the other session ended this one")
	}
	if n := a.count(`[data-session]`); n != 1 {
		t.Errorf("%d sessions listed after revoking, want 1", n)
	}
	info := s.recorded(t, a.session().Identity.ID)
	if !slices.ContainsFunc(info.Events, func(e devices.Event) bool { return e.Kind == devices.EventSessionRevoked }) {
		t.Errorf("no session_revoked event among %+v", info.Events)
	}

	// Sign out everywhere else.
	passwordSignIn(other, email, password)
	other.waitSignedIn()
	a.openSessions()
	a.leaving(func() { a.click(`[data-testid=revoke-others]`) })
	if other.session() != nil || a.session() == nil {
		t.Fatal("sign out everywhere else: the other session lives on, or this one ended")
	}
	if a.count(`[data-testid=no-other-sessions]`) != 1 {
		t.Error("the page does not say there is no other session")
	}
}

// narrow runs act with the page at a phone's width (390 px), then
// restores the desktop window.
func (b *chrome) narrow(act func()) {
	b.t.Helper()
	width := b.width
	b.do(chromedp.EmulateViewport(390, 844))
	b.width = 390
	defer func() {
		b.width = width
		b.do(chromedp.EmulateReset())
	}()
	act()
}

// TestE2EPasskeysWithoutJavaScript: the list, rename and removal are
// plain forms: with scripts off (after a sign-up that needed them), they
// work.
func TestE2EPasskeysWithoutJavaScript(t *testing.T) {
	s := requireStack(t)
	b := newBrowser(t, s, browserOptions{})
	b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	signUpWithPasskey(b, uniqueEmail(t), "")
	identityID := b.session().Identity.ID
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b.openSettings()
	b.noScriptRan("settings")
	rows := b.passkeyList() // CDP's evaluation runs with page scripts off
	if len(rows) != 1 {
		t.Fatalf("list = %+v", rows)
	}
	b.leaving(func() {
		b.click(`#passkey-` + rows[0].Hex + ` details.rename > summary`)
		b.fill(`#nick-`+rows[0].Hex, "My phone")
		b.click(`#passkey-` + rows[0].Hex + ` details.rename button[type=submit]`)
	})
	if got := b.passkeyList(); got[0].Name != "My phone" {
		t.Errorf("renamed without scripts: %+v", got)
	}
	b.leaving(func() { b.click(`#passkey-` + rows[0].Hex + ` [data-testid=remove]`) })
	b.leaving(func() { b.click(`[data-testid=confirm-remove]`) })
	b.noScriptRan("settings after the removal")
	if got := b.passkeyList(); len(got) != 0 {
		t.Errorf("removed without scripts, the list still has %+v", got)
	}
	waitRecorded(t, s, identityID, "the removal", func(i identityInfo) bool { return len(i.Credentials) == 1 && i.Credentials[0].Removed() })
	b.leaving(func() { b.click(`a[href$="/settings/sessions"]`) })
	if b.count(`[data-testid=no-other-sessions]`) != 1 {
		t.Error("the sessions page without scripts does not list this session alone")
	}
}
