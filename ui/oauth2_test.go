package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/hydraext/hydratest"
)

// These tests run Tandem's consent and logout handlers against a real
// Hydra (Kratos, which the bad-input paths never reach, is the fake
// below the browser tests). The full journeys, with Kratos and Chromium,
// are cmd/tandem's e2e_oauth2_test.go.

func withHydra(tb testing.TB, adminURL, publicURL string) func(*Options) {
	tb.Helper()
	c, err := hydraext.NewClient(hydraext.Options{AdminURL: adminURL, PublicURL: publicURL, Timeout: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return func(o *Options) {
		o.Hydra = c
		o.Social = []SocialProvider{{ID: "example", Name: "Example", AuthorizationURL: "https://id.example.com/oauth2/auth",
			Icon: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), IconType: "image/svg+xml"}}
	}
}

func post(tb testing.TB, h http.Handler, target string, form url.Values, origin, site string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// wantPage checks an error page: the status, an HTML page with one
// heading, the heading's text.
func wantPage(t *testing.T, rec *httptest.ResponseRecorder, status int, heading string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body:\n%.400s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("answered as %q, want an HTML page", ct)
	}
	h := queryAll(parse(t, rec.Body.String()), "h1")
	if len(h) != 1 || text(h[0]) != heading {
		t.Fatalf("heading %v, want %q", h, heading)
	}
}

func TestConsentAndLogoutBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Hydra")
	}
	h := hydratest.Require(t, hydratest.Options{Replace: map[string]string{"login_consent_request: 30m": "login_consent_request: 3s"}})
	fk, _ := fixtures(t)
	s, _ := newTestServerWith(t, fk, withHydra(t, h.AdminURL, h.PublicURL))
	client := h.MustCreateClient(t, hydratest.Client{RedirectURIs: []string{"http://127.0.0.1:9/callback"}, Scope: "openid email", TokenEndpointAuthMethod: "none"})
	expired, err := h.NewAgent().ConsentChallenge(client, "identity-expired", "openid email")
	if err != nil {
		t.Fatal(err)
	}
	expiresAt := time.Now().Add(3500 * time.Millisecond)
	answered, err := h.NewAgent().ConsentChallenge(client, "identity-answered", "openid email")
	if err != nil {
		t.Fatal(err)
	}
	const origin = "http://localhost:4455"

	// Deny one challenge through the form: a 303 to Hydra, then the same
	// challenge again is "already answered", by GET and by POST.
	rec := post(t, s.Handler(), "/consent", url.Values{"consent_challenge": {answered}, "action": {"deny"}}, origin, "same-origin")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), h.PublicURL+"/") {
		t.Fatalf("deny: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}

	// A signed-in agent's logout no app asked for: "Stay signed in"
	// answers it, and the same challenge again is "already answered".
	agent := h.NewAgent()
	cc, err := agent.ConsentChallenge(client, "identity-logout", "openid")
	if err != nil {
		t.Fatal(err)
	}
	next, err := h.AcceptConsent(cc, []string{"openid"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Follow(next); err != nil {
		t.Fatal(err)
	}
	logout, err := agent.Follow(h.PublicURL + "/oauth2/sessions/logout")
	if err != nil {
		t.Fatal(err)
	}
	lc := logout.Query().Get("logout_challenge")
	if lc == "" {
		t.Fatalf("Hydra sent the agent to %s, not the logout page", logout)
	}
	if rec := get(t, s.Handler(), "/logout?logout_challenge="+url.QueryEscape(lc)); rec.Code != http.StatusOK {
		t.Fatalf("logout question: %d", rec.Code)
	}
	rec = post(t, s.Handler(), "/logout", url.Values{"logout_challenge": {lc}, "action": {"stay"}}, origin, "same-origin")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/welcome" {
		t.Fatalf("stay signed in: %d Location %q", rec.Code, rec.Header().Get("Location"))
	}

	time.Sleep(time.Until(expiresAt))
	cases := []struct {
		name    string
		do      func() *httptest.ResponseRecorder
		status  int
		heading string
	}{
		{"consent without a challenge", func() *httptest.ResponseRecorder { return get(t, s.Handler(), "/consent") },
			400, "This sign-in link is incomplete"},
		{"unknown consent challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/consent?consent_challenge=not-a-challenge")
		}, 404, "This request has expired"},
		{"malformed consent challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/consent?consent_challenge=a%20b%0A")
		}, 404, "This request has expired"},
		{"oversized consent challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/consent?consent_challenge="+strings.Repeat("a", maxChallenge+1))
		}, 404, "This request has expired"},
		{"expired consent challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/consent?consent_challenge="+url.QueryEscape(expired))
		}, 404, "This request has expired"},
		{"replayed consent challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/consent?consent_challenge="+url.QueryEscape(answered))
		}, 410, "This request was already answered"},
		{"replayed consent answer", func() *httptest.ResponseRecorder {
			return post(t, s.Handler(), "/consent", url.Values{"consent_challenge": {answered}, "action": {"allow"}}, origin, "same-origin")
		}, 410, "This request was already answered"},
		{"consent answer from another site", func() *httptest.ResponseRecorder {
			return post(t, s.Handler(), "/consent", url.Values{"consent_challenge": {expired}, "action": {"allow"}}, "https://evil.example", "cross-site")
		}, 403, "This request was refused"},
		{"consent answer without an Origin", func() *httptest.ResponseRecorder {
			return post(t, s.Handler(), "/consent", url.Values{"consent_challenge": {expired}, "action": {"allow"}}, "", "")
		}, 403, "This request was refused"},
		{"consent answer with an unknown action", func() *httptest.ResponseRecorder {
			c, err := h.NewAgent().ConsentChallenge(client, "identity-x", "openid")
			if err != nil {
				t.Fatal(err)
			}
			return post(t, s.Handler(), "/consent", url.Values{"consent_challenge": {c}, "action": {"maybe"}}, origin, "same-origin")
		}, 400, "This link doesn't look right"},
		{"logout without a challenge", func() *httptest.ResponseRecorder { return get(t, s.Handler(), "/logout") },
			400, "This sign-in link is incomplete"},
		{"unknown logout challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/logout?logout_challenge=not-a-challenge")
		}, 404, "This request has expired"},
		{"replayed logout challenge", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/logout?logout_challenge="+url.QueryEscape(lc))
		}, 410, "This request was already answered"},
		{"replayed logout answer", func() *httptest.ResponseRecorder {
			return post(t, s.Handler(), "/logout", url.Values{"logout_challenge": {lc}, "action": {"sign_out"}}, origin, "same-origin")
		}, 410, "This request was already answered"},
		{"logout answer from another site", func() *httptest.ResponseRecorder {
			return post(t, s.Handler(), "/logout", url.Values{"logout_challenge": {"x"}, "action": {"sign_out"}}, "https://evil.example", "cross-site")
		}, 403, "This request was refused"},
		{"Hydra's error URL", func() *httptest.ResponseRecorder {
			return get(t, s.Handler(), "/error?error=invalid_client&error_description=%3Cscript%3E")
		}, 400, "The app's sign-in could not finish"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.do()
			wantPage(t, rec, tc.status, tc.heading)
			if strings.Contains(rec.Body.String(), "<script>") {
				t.Error("the page echoes markup from the request")
			}
		})
	}
}

func TestConsentPageAndCSP(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Hydra")
	}
	h := hydratest.Require(t, hydratest.Options{})
	fk, byName := fixtures(t)
	s, _ := newTestServerWith(t, fk, withHydra(t, h.AdminURL, h.PublicURL))
	client := h.MustCreateClient(t, hydratest.Client{Name: "Notes <b>", LogoURI: "https://cdn.notes.example/logo.png",
		PolicyURI: "javascript:alert(1)", TosURI: "https://notes.example/terms",
		RedirectURIs: []string{"https://app.notes.example/callback"}, Scope: "openid email offline_access custom.read"})
	cc, err := h.NewAgent().ConsentChallenge(client, "identity-1", "openid email offline_access custom.read")
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, s.Handler(), "/consent?consent_challenge="+url.QueryEscape(cc))
	if rec.Code != http.StatusOK {
		t.Fatalf("consent page: %d\n%s", rec.Code, rec.Body)
	}
	doc := parse(t, rec.Body.String())
	if got := text(queryAll(doc, "h1")[0]); got != "Allow Notes <b> to use your account?" {
		t.Errorf("heading %q", got)
	}
	var scopes []string
	for _, li := range queryAll(doc, "[data-testid=consent-scopes] li") {
		scopes = append(scopes, text(li))
	}
	want := []string{"to know it's you (your account id)", "your e-mail address", "stay signed in: access while you're away", "access named “custom.read”"}
	if strings.Join(scopes, "|") != strings.Join(want, "|") {
		t.Errorf("scopes %q, want %q", scopes, want)
	}
	if n := len(queryAll(doc, `a[href^="javascript:"]`)); n != 0 {
		t.Error("a javascript: policy link was rendered")
	}
	if n := len(queryAll(doc, `a[href="https://notes.example/terms"]`)); n != 1 {
		t.Error("the terms link is missing")
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{
		"form-action 'self' http://localhost:4433 " + h.PublicURL + " https://id.example.com https://app.notes.example;",
		"img-src 'self' data: https://cdn.notes.example;",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("consent page CSP %q lacks %q", csp, want)
		}
	}

	// Every other page: Kratos, Hydra and the provider, nothing else.
	rec = get(t, s.Handler(), "/login?flow="+byName["login"])
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://localhost:4433 "+h.PublicURL+" https://id.example.com;") {
		t.Errorf("login page CSP %q", csp)
	}
	// The provider's icon, with a policy of its own.
	rec = get(t, s.Handler(), "/static/social/example")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("icon: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Security-Policy"))
	}
	if rec := get(t, s.Handler(), "/static/social/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown icon: %d", rec.Code)
	}
	if rec := get(t, s.Handler(), "/health/ready"); rec.Code != http.StatusOK {
		t.Errorf("ready with Hydra up: %d %s", rec.Code, rec.Body)
	}
}

func TestHydraDown(t *testing.T) {
	fk, _ := fixtures(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // an address nothing listens on
	s, _ := newTestServerWith(t, fk, withHydra(t, down.URL, "http://localhost:4444"))
	wantPage(t, get(t, s.Handler(), "/consent?consent_challenge=abc"), http.StatusBadGateway, "Signing in to apps is unavailable right now")
	wantPage(t, get(t, s.Handler(), "/logout?logout_challenge=abc"), http.StatusBadGateway, "Signing in to apps is unavailable right now")
	rec := get(t, s.Handler(), "/health/ready")
	var body struct {
		Status, Failed string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable || body.Failed != "hydra" {
		t.Errorf("/health/ready with Hydra down: %d %s", rec.Code, rec.Body)
	}

	// Without Hydra configured: no consent or logout page, and readiness
	// does not ask for one.
	plain, _ := newTestServer(t, fk)
	if rec := get(t, plain.Handler(), "/consent?consent_challenge=abc"); rec.Code != http.StatusNotFound {
		t.Errorf("/consent without Hydra: %d", rec.Code)
	}
	if rec := get(t, plain.Handler(), "/health/ready"); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "hydra") {
		t.Errorf("/health/ready without Hydra: %d %s", rec.Code, rec.Body)
	}
}
