// Command oauth2demo is the app at the other end of `make run-oauth2`: an
// OAuth2 client of Ory Hydra that signs a person in (authorization code
// with PKCE, golang.org/x/oauth2), verifies the ID token
// (github.com/coreos/go-oidc) and shows its claims, and signs out through
// Hydra's RP-initiated logout. It holds no secret: it is a public client.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oauth2demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("oauth2demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4470", "listen address")
	public := fs.String("public-url", "http://localhost:4470", "where browsers reach this app")
	issuer := fs.String("issuer", "http://localhost:4444/", "Hydra's issuer URL")
	clientID := fs.String("client-id", "tandem-demo", "the OAuth2 client id registered at Hydra")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := newApp(ctx, appOptions{Issuer: *issuer, ClientID: *clientID, PublicURL: *public,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(stdout, "oauth2demo: sign in at %s/\n", *public)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type appOptions struct {
	Issuer, ClientID, PublicURL string
	Logger                      *slog.Logger
	// HTTPClient reaches Hydra (discovery, token endpoint); default
	// http.DefaultClient.
	HTTPClient *http.Client
}

// app is the demo client. Pending authorization requests (PKCE verifier
// and nonce by state) live in memory: one process, a demo.
type app struct {
	o        appOptions
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
	endSess  string
	ctx      context.Context

	mu      sync.Mutex
	pending map[string]pending
}

type pending struct {
	verifier, nonce string
	expires         time.Time
}

func newApp(ctx context.Context, o appOptions) (*app, error) {
	if o.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, o.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", o.Issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, err
	}
	return &app{
		o:   o,
		ctx: ctx,
		config: oauth2.Config{
			ClientID:    o.ClientID,
			Endpoint:    provider.Endpoint(),
			RedirectURL: o.PublicURL + "/callback",
			Scopes:      []string{oidc.ScopeOpenID, "email", "profile", "offline_access"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: o.ClientID}),
		endSess:  meta.EndSession,
		pending:  map[string]pending{},
	}, nil
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	switch r.URL.Path {
	case "/":
		a.start(w, r)
	case "/callback":
		a.callback(w, r)
	case "/signed-out":
		a.page(w, http.StatusOK, page{Title: "Signed out", Text: "You have signed out of the demo app, Tandem and Hydra."})
	default:
		http.NotFound(w, r)
	}
}

// start begins an authorization request: code flow with PKCE (S256), a
// state and a nonce.
func (a *app) start(w http.ResponseWriter, r *http.Request) {
	state, verifier, nonce := random(), oauth2.GenerateVerifier(), random()
	a.mu.Lock()
	now := time.Now()
	for k, p := range a.pending {
		if now.After(p.expires) {
			delete(a.pending, k)
		}
	}
	a.pending[state] = pending{verifier: verifier, nonce: nonce, expires: now.Add(30 * time.Minute)}
	a.mu.Unlock()
	var opts []oauth2.AuthCodeOption
	if p := r.URL.Query().Get("prompt"); p == "login" || p == "consent" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	http.Redirect(w, r, a.config.AuthCodeURL(state, opts...), http.StatusSeeOther)
}

// callback exchanges the code and verifies the ID token.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	p, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		a.page(w, http.StatusBadRequest, page{Title: "Unknown sign-in", Text: "This callback does not belong to a sign-in this app started.", Again: true})
		return
	}
	if e := q.Get("error"); e != "" {
		a.page(w, http.StatusForbidden, page{Title: "Not signed in", Text: "Hydra answered " + e + ": " + q.Get("error_description"), Again: true})
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	tok, err := a.config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.o.Logger.Warn("exchange", "err", err)
		a.page(w, http.StatusBadGateway, page{Title: "Sign-in failed", Text: "The code could not be exchanged for tokens.", Again: true})
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != p.nonce {
		a.o.Logger.Warn("verify ID token", "err", err)
		a.page(w, http.StatusBadGateway, page{Title: "Sign-in failed", Text: "The ID token did not verify.", Again: true})
		return
	}
	var claims map[string]any
	_ = idt.Claims(&claims)
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows [][2]string
	for _, k := range keys {
		v := claims[k]
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			// Times and counts: JSON numbers decode as float64.
			v = int64(f)
		}
		rows = append(rows, [2]string{k, fmt.Sprint(v)})
	}
	logout := ""
	if a.endSess != "" {
		logout = a.endSess + "?" + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {a.o.PublicURL + "/signed-out"},
			"state": {random()}}.Encode()
	}
	a.page(w, http.StatusOK, page{Title: "Signed in", Text: "Hydra issued this ID token; its signature, issuer, audience, expiry and nonce verified.",
		Claims: rows, Logout: logout, Refresh: tok.RefreshToken != ""})
}

type page struct {
	Title, Text string
	Claims      [][2]string
	Logout      string
	Refresh     bool
	Again       bool
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · OAuth2 demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#111}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #ddd;padding:.3rem .5rem;vertical-align:top;word-break:break-all}
td:first-child{font-weight:600;white-space:nowrap}a{color:#1d4ed8}</style></head>
<body><h1 id="title">{{.Title}}</h1><p>{{.Text}}</p>
{{if .Claims}}<table id="claims">{{range .Claims}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>{{end}}</table>
{{if .Refresh}}<p>A refresh token came too (offline_access).</p>{{end}}{{end}}
<p>{{if .Logout}}<a href="{{.Logout}}" id="logout">Sign out</a> · {{end}}<a href="/">Sign in again</a> · <a href="/?prompt=login">Sign in again, asking for the passkey (prompt=login)</a></p>
</body></html>`))

func (a *app) page(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, p); err != nil {
		a.o.Logger.Warn("render", "err", err)
	}
}
