package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/kratosext"
)

// Regression tests for what a probe of the running product found
// (issue 12): each once answered wrongly.

// TestAddPageNeverLinksOffSite: Kratos keeps a settings flow's return_to as
// the browser sent it (it resolves ///host against its own base to check
// it, but stores the raw string). The prompt's add page once rendered it
// as its "Not now" link, and Chromium followed ///evil.example off-site.
func TestAddPageNeverLinksOffSite(t *testing.T) {
	fk, byName := fixtures(t)
	var f map[string]any
	if err := json.Unmarshal(fk.flows[byName["settings"]], &f); err != nil {
		t.Fatal(err)
	}
	for i, rt := range []string{
		"///evil.example/?tandem_add=phone",
		"https://evil.example/?tandem_add=this_computer",
		"/\t/evil.example/?tandem_add=phone",
		"http://localhost:4455/continue?tandem_add=phone&tandem_prompt=upgrade&return_to=https%3A%2F%2Fevil.example%2F",
	} {
		id := "aaaaaaaa-0000-4000-8000-00000000000" + string(rune('0'+i))
		f["id"], f["return_to"] = id, rt
		b, _ := json.Marshal(f)
		fk.flows[id], fk.kinds[id] = b, "settings"
		s, _ := newTestServer(t, fk)
		rec := get(t, s.Handler(), "/settings?flow="+id)
		if rec.Code != http.StatusOK {
			t.Fatalf("%q: status %d", rt, rec.Code)
		}
		doc := parse(t, rec.Body.String())
		for _, n := range queryAll(doc, "a[href], form[action], input[name=return_to]") {
			for _, a := range []string{"href", "action", "value"} {
				if v := attr(n, a); strings.Contains(v, "evil.example") {
					t.Errorf("%q: the page sends people to %q", rt, v)
				}
			}
		}
	}
}

func TestStaticHasNoListingAndSafeHeaders(t *testing.T) {
	fk, _ := fixtures(t)
	s, _ := newTestServer(t, fk)
	for _, path := range []string{"/static/", "/static", "/static/brand/", "/static/../templates/pages/flow.html", "/static/%2e%2e/embed.go"} {
		rec := get(t, s.Handler(), path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "<pre>") || strings.Contains(rec.Body.String(), "tandem.js") {
			t.Errorf("%s lists files: %s", path, rec.Body)
		}
	}
	for _, path := range []string{"/static/tandem.js", "/static/tandem.css", "/static/favicon.svg", "/static/brand/palette.css"} {
		rec := get(t, s.Handler(), path)
		if rec.Code != 200 || rec.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: %d, headers %v", path, rec.Code, rec.Header())
		}
	}
	// Redirects depend on the session: never cached.
	rec := get(t, s.Handler(), "/login")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("/login redirect: %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
}

// TestKratosDownShowsTandemsPage: without a flow, /login once sent the
// browser to a dead Kratos, and the person saw the browser's own error.
func TestKratosDownShowsTandemsPage(t *testing.T) {
	fk, _ := fixtures(t)
	s, _ := newTestServer(t, fk)
	fk.down = true
	rec := get(t, s.Handler(), "/login")
	if rec.Code != http.StatusBadGateway || rec.Header().Get("Location") != "" {
		t.Fatalf("/login with Kratos down: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	if !strings.Contains(rec.Body.String(), "reach the sign-in service") {
		t.Errorf("the page does not say why:\n%s", rec.Body)
	}
}

// TestKratosFrozenIs504: a Kratos that accepts connections but never
// answers (SIGSTOP) once gave the 502 page after the whole client
// timeout; the timeout is its own error and page.
func TestKratosFrozenIs504(t *testing.T) {
	fk, byName := fixtures(t)
	release := make(chan struct{})
	frozen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health/ready" {
			fk.ServeHTTP(w, r)
			return
		}
		<-release
	}))
	t.Cleanup(func() { close(release); frozen.Close() })
	s, _ := newTestServerWith(t, fk, func(o *Options) {
		c, err := kratosext.NewClient(kratosext.Options{PublicURL: "http://localhost:4433", InternalURL: frozen.URL,
			AdminURL: frozen.URL, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		o.Kratos = c
	})
	rec := get(t, s.Handler(), "/login?flow="+byName["login"])
	if rec.Code != http.StatusGatewayTimeout || !strings.Contains(rec.Body.String(), "did not answer in time") {
		t.Errorf("frozen Kratos: %d\n%.400s", rec.Code, rec.Body)
	}
}
