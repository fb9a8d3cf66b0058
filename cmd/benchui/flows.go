package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/tandemauth/tandem/hydraext/hydratest"
)

// pair is a Tandem page and the Ory endpoint it is built from.
type pair struct {
	tandem, reference *target
}

// pairs prepares what a browser would hold for each page (a flow, its
// CSRF cookie, Tandem's device cookie, a session for settings) and checks
// that every target answers 200 before anything is measured.
func (s *stack) pairs(ctx context.Context, workers int) ([]pair, error) {
	login, err := s.loginFlow(ctx)
	if err != nil {
		return nil, fmt.Errorf("login flow: %w", err)
	}
	kratosLogin := &target{name: "kratos GET /self-service/login/flows", url: s.kratos.PublicURL + "/self-service/login/flows?id=" + login.flow, cookie: login.cookie}
	out := []pair{
		{&target{name: "tandem GET /login?flow=", url: s.uiURL + "/login?flow=" + login.flow, cookie: login.cookie}, kratosLogin},
		{&target{name: "tandem GET /login?flow= (de)", url: s.uiURL + "/login?flow=" + login.flow, cookie: login.cookie, lang: "de"}, kratosLogin},
	}
	if s.settings {
		settings, err := s.settingsFlow(ctx)
		if err != nil {
			return nil, fmt.Errorf("settings flow: %w", err)
		}
		out = append(out, pair{
			&target{name: "tandem GET /settings?flow=", url: s.uiURL + "/settings?flow=" + settings.flow, cookie: settings.cookie},
			&target{name: "kratos GET /self-service/settings/flows", url: s.kratos.PublicURL + "/self-service/settings/flows?id=" + settings.flow, cookie: settings.cookie},
		})
	}
	if s.hydra != nil {
		challenge, err := s.consentChallenge(ctx)
		if err != nil {
			return nil, fmt.Errorf("consent challenge: %w", err)
		}
		out = append(out, pair{
			&target{name: "tandem GET /consent?consent_challenge=", url: s.uiURL + "/consent?consent_challenge=" + challenge},
			&target{name: "hydra GET /admin/…/consent", url: s.hydra.AdminURL + "/admin/oauth2/auth/requests/consent?consent_challenge=" + challenge},
		})
	}
	for _, t := range targetsOf(out) {
		if err := check(ctx, s.client, t); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	return out, nil
}

// browserFlow is a flow id and the Cookie header a browser sends with it.
type browserFlow struct {
	flow, cookie string
}

// loginFlow starts a browser login flow as a browser would, then opens
// Tandem's page once to get the device cookie it sets: without it every
// request would be a new device.
func (s *stack) loginFlow(ctx context.Context) (browserFlow, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: s.client.CheckRedirect}
	loc, err := redirect(ctx, c, s.kratos.PublicURL+"/self-service/login/browser")
	if err != nil {
		return browserFlow{}, err
	}
	flow := loc.Query().Get("flow")
	if _, err := redirect(ctx, c, s.uiURL+"/login?flow="+flow); err != nil {
		return browserFlow{}, err
	}
	return browserFlow{flow: flow, cookie: cookieHeader(jar, s.uiURL)}, nil
}

// settingsFlow creates an identity with a password through Kratos' admin
// API, signs it in through the browser login flow (as JSON, the way an SPA
// would), and starts a browser settings flow for that session.
func (s *stack) settingsFlow(ctx context.Context) (browserFlow, error) {
	const email, password = "bench-settings@example.com", "a-long-bench-passphrase-42"
	ident := `{"schema_id":"default","traits":{"email":"` + email + `"},"credentials":{"password":{"config":{"password":"` + password + `"}}}}`
	if err := postJSON(ctx, http.DefaultClient, s.kratos.AdminURL+"/admin/identities", nil, ident, nil); err != nil {
		return browserFlow{}, fmt.Errorf("create identity: %w", err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: s.client.CheckRedirect}
	var flow struct {
		ID string `json:"id"`
		UI struct {
			Nodes []struct {
				Attributes struct {
					Name  string `json:"name"`
					Value any    `json:"value"`
				} `json:"attributes"`
			} `json:"nodes"`
		} `json:"ui"`
	}
	if err := getJSON(ctx, c, s.kratos.PublicURL+"/self-service/login/browser", &flow); err != nil {
		return browserFlow{}, err
	}
	var csrf string
	for _, n := range flow.UI.Nodes {
		if n.Attributes.Name == "csrf_token" {
			csrf, _ = n.Attributes.Value.(string)
		}
	}
	body, _ := json.Marshal(map[string]string{"method": "password", "identifier": email, "password": password, "csrf_token": csrf})
	if err := postJSON(ctx, c, s.kratos.PublicURL+"/self-service/login?flow="+flow.ID, nil, string(body), nil); err != nil {
		return browserFlow{}, fmt.Errorf("sign in: %w", err)
	}
	loc, err := redirect(ctx, c, s.kratos.PublicURL+"/self-service/settings/browser")
	if err != nil {
		return browserFlow{}, err
	}
	settings := loc.Query().Get("flow")
	if _, err := redirect(ctx, c, s.uiURL+"/settings?flow="+settings); err != nil {
		return browserFlow{}, err
	}
	return browserFlow{flow: settings, cookie: cookieHeader(jar, s.uiURL)}, nil
}

// consentChallenge creates an identity in Kratos and an OAuth2 client in
// Hydra, and returns the consent challenge of an authorization request of
// that client whose login Hydra accepted for the identity: what the
// consent page gets when a person has just signed in for an app.
func (s *stack) consentChallenge(ctx context.Context) (string, error) {
	var ident struct {
		ID string `json:"id"`
	}
	if err := postJSON(ctx, http.DefaultClient, s.kratos.AdminURL+"/admin/identities", nil,
		`{"schema_id":"default","traits":{"email":"bench-consent@example.com"}}`, &ident); err != nil {
		return "", fmt.Errorf("create identity: %w", err)
	}
	client, err := s.hydra.CreateClient(ctx, hydratest.Client{Name: "Bench", LogoURI: "https://bench.example/logo.png",
		RedirectURIs: []string{"http://127.0.0.1:9/callback"}, Scope: "openid email offline_access", TokenEndpointAuthMethod: "none"})
	if err != nil {
		return "", err
	}
	return s.hydra.NewAgent().ConsentChallenge(client, ident.ID, "openid email offline_access")
}

// redirect GETs u and returns where it redirects to (u itself for a 200).
func redirect(ctx context.Context, c *http.Client, u string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch {
	case resp.StatusCode == http.StatusOK:
		return req.URL, nil
	case resp.StatusCode/100 == 3:
		return req.URL.Parse(resp.Header.Get("Location"))
	}
	return nil, fmt.Errorf("GET %s: %d", u, resp.StatusCode)
}

func getJSON(ctx context.Context, c *http.Client, u string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 600))
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(dst)
}

func postJSON(ctx context.Context, c *http.Client, u string, hdr http.Header, body string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 600))
		return fmt.Errorf("POST %s: %d %s", u, resp.StatusCode, b)
	}
	if dst == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(dst)
}

// cookieHeader is the Cookie header the jar sends to u: Kratos' cookies
// (set for localhost, whatever the port) and Tandem's.
func cookieHeader(jar http.CookieJar, u string) string {
	parsed, _ := url.Parse(u)
	var parts []string
	for _, c := range jar.Cookies(parsed) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}
