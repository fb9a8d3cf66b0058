package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/hydraext/hydratest"
)

// TestDemoSignsInThroughHydra runs the demo app against a real Hydra: the
// start page sends the browser to Hydra with PKCE, and after Hydra's
// login and consent (answered here through the admin API, as Tandem and
// Kratos would) the callback shows the verified ID token's claims.
func TestDemoSignsInThroughHydra(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Hydra")
	}
	h := hydratest.Require(t, hydratest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://" + ln.Addr().String()
	h.MustCreateClient(t, hydratest.Client{ID: "demo", RedirectURIs: []string{public + "/callback"},
		PostLogoutRedirectURIs: []string{public + "/signed-out"}, Scope: "openid email profile offline_access", TokenEndpointAuthMethod: "none"})
	a, err := newApp(context.Background(), appOptions{Issuer: h.Issuer(), ClientID: "demo", PublicURL: public,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	agent := h.NewAgent()
	resp, err := agent.Get(public + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	auth := resp.Header.Get("Location")
	if !strings.HasPrefix(auth, h.PublicURL+"/oauth2/auth?") || !strings.Contains(auth, "code_challenge_method=S256") {
		t.Fatalf("start page sends the browser to %q", auth)
	}
	login, err := agent.Follow(auth)
	if err != nil {
		t.Fatal(err)
	}
	next, err := h.AcceptLogin(login.Query().Get("login_challenge"), "identity-1")
	if err != nil {
		t.Fatal(err)
	}
	consent, err := agent.Follow(next)
	if err != nil {
		t.Fatal(err)
	}
	next, err = h.AcceptConsent(consent.Query().Get("consent_challenge"), []string{"openid", "email"}, map[string]any{"email": "demo@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	callback, err := agent.Follow(next)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = agent.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "demo@example.com") || !strings.Contains(string(body), "identity-1") {
		t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
	}
	// The same callback again: the state was used.
	resp, err = agent.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a replayed callback: %d, want 400", resp.StatusCode)
	}
}
