package hydraext_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/hydraext/hydratest"
)

// consentChallenge runs an authorization request up to Hydra's consent
// page and returns the agent (its cookies) and the challenge.
func consentChallenge(t *testing.T, h *hydratest.Hydra, client hydratest.Client, subject string) (*hydratest.Agent, string) {
	t.Helper()
	a := h.NewAgent()
	cc, err := a.ConsentChallenge(client, subject, "openid email offline_access")
	if err != nil {
		t.Fatal(err)
	}
	return a, cc
}

// follow is Agent.Follow that ends the test on failure.
func follow(t *testing.T, a *hydratest.Agent, u string) *url.URL {
	t.Helper()
	got, err := a.Follow(u)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestConsentAndLogoutAgainstHydra(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Hydra")
	}
	h := hydratest.Require(t, hydratest.Options{})
	c, err := hydraext.NewClient(hydraext.Options{AdminURL: h.AdminURL, PublicURL: h.PublicURL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	client := h.MustCreateClient(t, hydratest.Client{
		Name: "Notes", LogoURI: "https://notes.example/logo.png", PolicyURI: "https://notes.example/privacy",
		RedirectURIs: []string{"http://127.0.0.1:9/callback"}, Scope: "openid email offline_access",
		TokenEndpointAuthMethod: "none",
	})

	t.Run("unknown challenges are ErrChallengeGone", func(t *testing.T) {
		for name, call := range map[string]func() error{
			"consent": func() error { _, err := c.ConsentRequest(ctx, "not-a-challenge"); return err },
			"logout":  func() error { _, err := c.LogoutRequest(ctx, "not-a-challenge"); return err },
			"accept":  func() error { _, err := c.AcceptConsent(ctx, "not-a-challenge", hydraext.Grant{}); return err },
		} {
			if err := call(); !errors.Is(err, hydraext.ErrChallengeGone) {
				t.Errorf("%s: err = %v, want ErrChallengeGone", name, err)
			}
		}
	})

	t.Run("consent request, grant, replay", func(t *testing.T) {
		f, cc := consentChallenge(t, h, client, "identity-1")
		req, err := c.ConsentRequest(ctx, cc)
		if err != nil {
			t.Fatal(err)
		}
		if req.Subject != "identity-1" || req.Client.ID != client.ID || req.Client.Name != "Notes" ||
			req.Client.LogoURI != "https://notes.example/logo.png" || req.Skip ||
			!slices.Equal(req.Scopes, []string{"openid", "email", "offline_access"}) ||
			!slices.Equal(req.Client.RedirectURIs, client.RedirectURIs) {
			t.Fatalf("consent request = %+v", req)
		}
		next, err := c.AcceptConsent(ctx, cc, hydraext.Grant{Scopes: req.Scopes, Remember: true,
			IDToken: map[string]any{"email": "a@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := follow(t, f, next); got.Query().Get("code") == "" || got.Query().Get("state") != "hydratest-state" {
			t.Fatalf("after consent: %s", got)
		}
		// The back button and Allow again: Hydra v2's challenges carry
		// their own state, so it answers the request again; the replay is
		// refused when the browser brings the second verifier back: no
		// code, access_denied to the client. (Tandem's pages remember what
		// they answered to explain it before that.)
		again, err := c.ConsentRequest(ctx, cc)
		if err != nil {
			t.Fatalf("replayed challenge: %v", err)
		}
		next, err = c.AcceptConsent(ctx, cc, hydraext.Grant{Scopes: again.Scopes})
		if err != nil {
			t.Fatalf("replayed accept: %v", err)
		}
		if got := follow(t, f, next); got.Query().Get("error") != "access_denied" || got.Query().Get("code") != "" {
			t.Fatalf("a replayed consent reached %s", got)
		} else {
			t.Logf("replayed consent: Hydra sent the browser to %s", got)
		}
	})

	t.Run("deny", func(t *testing.T) {
		f, cc := consentChallenge(t, h, client, "identity-2")
		next, err := c.RejectConsent(ctx, cc, "access_denied", "The person denied the request.")
		if err != nil {
			t.Fatal(err)
		}
		if got := follow(t, f, next); got.Query().Get("error") != "access_denied" {
			t.Fatalf("after deny: %s", got)
		}
	})

	t.Run("logout request", func(t *testing.T) {
		// A signed-in browser, then a logout without id_token_hint: Hydra
		// knows no client.
		f, cc := consentChallenge(t, h, client, "identity-4")
		next, err := c.AcceptConsent(ctx, cc, hydraext.Grant{Scopes: []string{"openid"}})
		if err != nil {
			t.Fatal(err)
		}
		follow(t, f, next)
		got := follow(t, f, h.PublicURL+"/oauth2/sessions/logout")
		lc := got.Query().Get("logout_challenge")
		if lc == "" {
			t.Fatalf("Hydra sent the browser to %s, not the logout page", got)
		}
		req, err := c.LogoutRequest(ctx, lc)
		if err != nil {
			t.Fatal(err)
		}
		if req.Client != nil {
			t.Fatalf("logout request names client %+v without an id_token_hint", req.Client)
		}
		t.Logf("logout request: rp_initiated=%v", req.RPInitiated)
		next, err = c.AcceptLogout(ctx, lc)
		if err != nil {
			t.Fatal(err)
		}
		if dest := follow(t, f, next); dest.Path != "/login" {
			t.Fatalf("after logout: %s, want Hydra's post_logout_redirect (Tandem's /login)", dest)
		}
	})

	t.Run("Hydra down is ErrUnavailable", func(t *testing.T) {
		down, err := hydraext.NewClient(hydraext.Options{AdminURL: "http://127.0.0.1:9", PublicURL: h.PublicURL})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := down.ConsentRequest(ctx, "x"); !errors.Is(err, hydraext.ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if err := down.Ready(ctx); !errors.Is(err, hydraext.ErrUnavailable) {
			t.Fatalf("ready: err = %v, want ErrUnavailable", err)
		}
	})
}

func TestExpiredConsentChallenge(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Hydra")
	}
	h := hydratest.Require(t, hydratest.Options{Replace: map[string]string{"login_consent_request: 30m": "login_consent_request: 1s"}})
	c, err := hydraext.NewClient(hydraext.Options{AdminURL: h.AdminURL, PublicURL: h.PublicURL})
	if err != nil {
		t.Fatal(err)
	}
	client := h.MustCreateClient(t, hydratest.Client{RedirectURIs: []string{"http://127.0.0.1:9/callback"},
		Scope: "openid email offline_access", TokenEndpointAuthMethod: "none"})
	_, cc := consentChallenge(t, h, client, "identity-3")
	time.Sleep(1500 * time.Millisecond)
	_, err = c.ConsentRequest(context.Background(), cc)
	if !errors.Is(err, hydraext.ErrChallengeGone) {
		t.Fatalf("expired challenge: err = %v, want ErrChallengeGone", err)
	}
	t.Logf("expired consent challenge: %v", err)
}
