package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tandemauth/tandem/hydraext/hydratest"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// The OAuth2 stack: Tandem and Kratos as in the shared stack, plus
//   - Hydra, whose login, consent and logout pages are Tandem's, and which
//     Kratos' oauth2_provider points at;
//   - an outside OpenID provider for social sign-in: a second Hydra behind
//     a small front server on 127.0.0.1 that serves the provider's own
//     login page and proxies the rest to Hydra, so that the whole provider
//     is one origin, as a real one is;
//   - an OAuth2 client (relying party): a callback server on 127.0.0.1.
// Kratos needs a configuration of its own (oauth2_provider, the oidc
// method), so this stack is separate from the shared one, and shared by
// the OAuth2 and social tests.

const (
	socialProviderID   = "example"
	socialProviderName = "Example ID"
	socialClientSecret = "e2e-social-client-secret-0123456789"
	trustedClientID    = "e2e-trusted-app"
)

type oauth2Stack struct {
	*stack
	hydra *hydratest.Hydra
	op    *hydratest.Hydra
	// opURL is the outside provider as browsers see it.
	opURL string
	rp    *relyingParty
	stops []func()
}

var (
	oauth2Once sync.Once
	theOAuth2  *oauth2Stack
	oauth2Err  error
)

// requireOAuth2Stack returns the running OAuth2 stack, or skips locally
// when a dependency is missing; with CI=true a missing one fails.
func requireOAuth2Stack(t *testing.T) *oauth2Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	oauth2Once.Do(func() { theOAuth2, oauth2Err = startOAuth2Stack() })
	if oauth2Err != nil {
		if os.Getenv("CI") != "true" && (errors.Is(oauth2Err, kratostest.ErrNoBinary) || errors.Is(oauth2Err, hydratest.ErrNoBinary) ||
			strings.Contains(oauth2Err.Error(), "chromium not found")) {
			t.Skip("e2e: ", oauth2Err)
		}
		t.Fatal("e2e: ", oauth2Err)
	}
	return theOAuth2
}

func startOAuth2Stack() (_ *oauth2Stack, err error) {
	if _, err := chromiumPath(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tandem-e2e-oauth2-")
	if err != nil {
		return nil, err
	}
	o := &oauth2Stack{}
	defer func() {
		if err != nil {
			o.close()
			os.RemoveAll(dir)
		}
	}()
	ports, err := newStackPorts()
	if err != nil {
		return nil, err
	}

	// The outside provider: its front server first (its address is the
	// issuer), then its Hydra.
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o.opURL = "http://" + opLn.Addr().String()
	opDir := filepath.Join(dir, "op")
	if err := os.MkdirAll(opDir, 0o700); err != nil {
		return nil, err
	}
	o.op, err = hydratest.Start(opDir, hydratest.Options{Host: "127.0.0.1", PublicURL: o.opURL, UIURL: o.opURL})
	if err != nil {
		return nil, fmt.Errorf("outside provider: %w", err)
	}
	o.stops = append(o.stops, func() { o.op.Close() })
	front := &http.Server{Handler: newProviderFront(o.op), ReadHeaderTimeout: 5 * time.Second}
	go front.Serve(opLn)
	o.stops = append(o.stops, func() { front.Close() })

	// The relying party's callback server.
	o.rp, err = newRelyingParty()
	if err != nil {
		return nil, err
	}
	o.stops = append(o.stops, o.rp.close)

	// Tandem's Hydra.
	hydraDir := filepath.Join(dir, "hydra")
	if err := os.MkdirAll(hydraDir, 0o700); err != nil {
		return nil, err
	}
	o.hydra, err = hydratest.Start(hydraDir, hydratest.Options{UIURL: ports.uiURL})
	if err != nil {
		return nil, err
	}
	o.stops = append(o.stops, func() { o.hydra.Close() })
	if _, err := o.hydra.CreateClient(context.Background(), hydratest.Client{
		ID: trustedClientID, Name: "First-party app", RedirectURIs: []string{o.rp.url + "/callback"},
		Scope: "openid email profile offline_access", TokenEndpointAuthMethod: "none",
	}); err != nil {
		return nil, err
	}

	icon := filepath.Join(dir, "example.svg")
	if err := os.WriteFile(icon, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 20"><circle cx="10" cy="10" r="9" fill="#3b82f6"/></svg>`), 0o600); err != nil {
		return nil, err
	}
	mapper := `local claims = std.extVar('claims');
{ identity: { traits: { email: claims.email } } }`
	ko := kratostest.Options{
		Replace: map[string]string{
			"http://127.0.0.1:4445": o.hydra.AdminURL,
			"http://localhost:4444": o.hydra.PublicURL,
		},
		Overlay: map[string]any{"selfservice": map[string]any{"methods": map[string]any{"oidc": map[string]any{
			"enabled": true,
			"config": map[string]any{"providers": []any{map[string]any{
				"id": socialProviderID, "provider": "generic", "label": socialProviderName,
				"client_id": "kratos", "client_secret": socialClientSecret,
				"issuer_url": o.op.Issuer(), "scope": []any{"openid", "email"},
				"mapper_url": "base64://" + base64.StdEncoding.EncodeToString([]byte(mapper)),
			}}},
		}}}},
	}
	extra := fmt.Sprintf(`hydra:
  admin_url: %s
  public_url: %s
  trusted_clients: [%s]
social:
  providers:
    - id: %s
      name: %s
      icon: %s
      authorization_url: %s/oauth2/auth
`, o.hydra.AdminURL, o.hydra.PublicURL, trustedClientID, socialProviderID, socialProviderName, icon, o.opURL)
	o.stack, err = startStackWith(dir, ports, ko, extra)
	if err != nil {
		return nil, err
	}
	// Kratos' client at the provider, now that Kratos' callback is known.
	if _, err := o.op.CreateClient(context.Background(), hydratest.Client{
		ID: "kratos", Secret: socialClientSecret, Scope: "openid email",
		RedirectURIs: []string{o.kratos.PublicURL + "/self-service/methods/oidc/callback/" + socialProviderID},
	}); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *oauth2Stack) close() {
	if o.stack != nil {
		o.stack.close()
	}
	for i := len(o.stops) - 1; i >= 0; i-- {
		o.stops[i]()
	}
}

// newProviderFront is the outside provider's one origin: its login and
// consent pages, and Hydra behind them. The login page asks for the
// e-mail address to sign in as (the provider's "account"); consent is
// given at once with the e-mail in the ID token.
func newProviderFront(h *hydratest.Hydra) http.Handler {
	target, _ := url.Parse(h.ListenURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	mux.Handle("/", proxy)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		ch := r.URL.Query().Get("login_challenge")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Example ID</title><h1>Sign in to Example ID</h1>
<form method="post" action="/login"><input type="hidden" name="login_challenge" value="%s">
<input name="email" type="email" autocomplete="off"><button type="submit" id="op-sign-in">Sign in</button></form>`, html.EscapeString(ch))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		email := r.PostFormValue("email")
		next, err := adminAnswer(h, "login", r.PostFormValue("login_challenge"), map[string]any{
			"subject": "example-user-" + email, "context": map[string]any{"email": email}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /consent", func(w http.ResponseWriter, r *http.Request) {
		ch := r.URL.Query().Get("consent_challenge")
		req, err := adminGet(h, "consent", ch)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var cr struct {
			RequestedScope []string `json:"requested_scope"`
			Context        struct {
				Email string `json:"email"`
			} `json:"context"`
		}
		if err := json.Unmarshal(req, &cr); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		next, err := adminAnswer(h, "consent", ch, map[string]any{
			"grant_scope": cr.RequestedScope,
			"session":     map[string]any{"id_token": map[string]any{"email": cr.Context.Email, "email_verified": true}},
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
	return mux
}

func adminGet(h *hydratest.Hydra, kind, challenge string) ([]byte, error) {
	resp, err := http.Get(h.AdminURL + "/admin/oauth2/auth/requests/" + kind + "?" + kind + "_challenge=" + url.QueryEscape(challenge))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s request: %d %v", kind, resp.StatusCode, err)
	}
	return b, nil
}

func adminAnswer(h *hydratest.Hydra, kind, challenge string, body any) (string, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, h.AdminURL+"/admin/oauth2/auth/requests/"+kind+"/accept?"+kind+"_challenge="+url.QueryEscape(challenge), strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("accept %s: %d %v", kind, resp.StatusCode, err)
	}
	return out.RedirectTo, nil
}

// relyingParty is the OAuth2 client's side: a callback server that shows
// what it received, and a logo for the consent page.
type relyingParty struct {
	url string
	srv *http.Server
}

func newRelyingParty() (*relyingParty, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rp := &relyingParty{url: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Callback</title><p id="rp-callback">%s</p>`, html.EscapeString(r.URL.RawQuery))
	})
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Signed out</title><p id="rp-signed-out">%s</p>`, html.EscapeString(r.URL.RawQuery))
	})
	mux.HandleFunc("GET /logo.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="#10b981"/></svg>`)
	})
	rp.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go rp.srv.Serve(ln)
	return rp, nil
}

func (rp *relyingParty) close() { rp.srv.Close() }

// oauthClient is one OAuth2 client registered at Tandem's Hydra, with the
// PKCE state of its current authorization request.
type oauthClient struct {
	t        *testing.T
	s        *oauth2Stack
	id       string
	config   oauth2.Config
	verifier string
	state    string
	nonce    string
	// logs, when set, are reported if the callback never comes.
	logs *logWatch
}

// newOAuthClient registers a public client (PKCE, no secret) named name.
func newOAuthClient(t *testing.T, s *oauth2Stack, name string, scopes ...string) *oauthClient {
	t.Helper()
	c := s.hydra.MustCreateClient(t, hydratest.Client{
		Name: name, LogoURI: s.rp.url + "/logo.svg", PolicyURI: s.rp.url + "/privacy", TosURI: s.rp.url + "/terms",
		RedirectURIs: []string{s.rp.url + "/callback"}, PostLogoutRedirectURIs: []string{s.rp.url + "/signed-out"},
		Scope: strings.Join(scopes, " "), TokenEndpointAuthMethod: "none",
	})
	return existingClient(t, s, c.ID, scopes...)
}

func existingClient(t *testing.T, s *oauth2Stack, id string, scopes ...string) *oauthClient {
	return &oauthClient{t: t, s: s, id: id, config: oauth2.Config{
		ClientID:    id,
		Endpoint:    oauth2.Endpoint{AuthURL: s.hydra.PublicURL + "/oauth2/auth", TokenURL: s.hydra.PublicURL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: s.rp.url + "/callback",
		Scopes:      scopes,
	}}
}

// authURL starts an authorization request (code + PKCE S256), with extra
// parameters such as prompt=login.
func (c *oauthClient) authURL(extra ...oauth2.AuthCodeOption) string {
	c.verifier = oauth2.GenerateVerifier()
	c.state = oauth2.GenerateVerifier()[:24]
	c.nonce = oauth2.GenerateVerifier()[:24]
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(c.verifier), oidc.Nonce(c.nonce)}, extra...)
	return c.config.AuthCodeURL(c.state, opts...)
}

// callback waits until the browser is at the relying party's callback and
// returns its query.
func (c *oauthClient) callback(b *chrome) url.Values {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		loc, err := b.location()
		if err == nil && strings.HasPrefix(loc, c.s.rp.url+"/callback") {
			u, _ := url.Parse(loc)
			q := u.Query()
			if q.Get("state") != c.state {
				c.t.Fatalf("callback state %q, want %q", q.Get("state"), c.state)
			}
			return q
		}
		time.Sleep(25 * time.Millisecond)
	}
	if c.logs != nil {
		c.t.Logf("CSP violations: %q", c.logs.cspViolations())
	}
	b.fail("the browser never reached the client's callback")
	return nil
}

// idToken exchanges the code (with the PKCE verifier) and verifies the ID
// token with go-oidc against Hydra's discovery and keys.
func (c *oauthClient) idToken(code string) (*oidc.IDToken, map[string]any) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tok, err := c.config.Exchange(ctx, code, oauth2.VerifierOption(c.verifier))
	if err != nil {
		c.t.Fatalf("exchange the code: %v", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		c.t.Fatal("no id_token in the token response")
	}
	provider, err := oidc.NewProvider(ctx, c.s.hydra.Issuer())
	if err != nil {
		c.t.Fatalf("discovery: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.id}).Verify(ctx, raw)
	if err != nil {
		c.t.Fatalf("verify the ID token: %v", err)
	}
	if idt.Nonce != c.nonce {
		c.t.Fatalf("ID token nonce %q, want %q", idt.Nonce, c.nonce)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		c.t.Fatal(err)
	}
	claims["_raw"] = raw
	return idt, claims
}

// location is the page's URL.
func (b *chrome) location() (string, error) {
	return chromedp.Run(b.ctx, chromedp.Location())
}

// openURL navigates to an absolute URL (Hydra's, the provider's).
func (b *chrome) openURL(u string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	// Navigate waits for the load event of the last document of a chain
	// of redirects; errors such as a CSP block surface as a page, not here.
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		b.fail("navigate to %s: %v", u, err)
	}
}

// logWatch keeps what the page logged: Chromium reports a navigation or
// a form post that the CSP blocked there (and shows an error page).
type logWatch struct {
	mu      sync.Mutex
	entries []string
}

// watchLog starts keeping the browser's log entries.
func (b *chrome) watchLog() *logWatch {
	b.t.Helper()
	w := &logWatch{}
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && e.Entry != nil {
			w.mu.Lock()
			w.entries = append(w.entries, string(e.Entry.Level)+": "+e.Entry.Text)
			w.mu.Unlock()
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		b.t.Fatalf("log.Enable: %v", err)
	}
	return w
}

// cspViolations are the entries that name the Content Security Policy.
func (w *logWatch) cspViolations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.entries {
		if strings.Contains(e, "Content Security Policy") {
			out = append(out, e)
		}
	}
	return out
}
