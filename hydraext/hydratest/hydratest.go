// Package hydratest runs a real Ory Hydra process for tests: the binary
// scripts/install-hydra.sh builds, the repository's hydra.yml with its
// addresses moved to free ports, a fresh SQLite database, and a readiness
// wait. Nothing is mocked. It also registers OAuth2 clients through Hydra's
// admin API, as an operator would.
package hydratest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/internal/servertest"
)

// Options say how to run Hydra.
type Options struct {
	// Host is the host name browsers use for Hydra's public API: localhost
	// by default. A second Hydra in the same test (an outside OpenID
	// provider) uses 127.0.0.1, so that the two keep their cookies apart:
	// cookies are per host, not per port.
	Host string
	// UIURL is the origin of the login, consent and logout pages. It
	// replaces http://localhost:4455 throughout hydra.yml.
	UIURL string
	// PublicURL, when set, is where browsers reach the public API instead
	// of Host and Hydra's own port: a proxy in front of Hydra that also
	// serves the provider's login pages, so that the whole provider is one
	// origin. The issuer follows it.
	PublicURL string
	// Replace holds further literal replacements applied to hydra.yml.
	Replace map[string]string
}

// Hydra is a running Hydra process.
type Hydra struct {
	// PublicURL is the public API as browsers see it, without a trailing
	// slash. The issuer is PublicURL + "/".
	PublicURL string
	// AdminURL is the admin API (127.0.0.1).
	AdminURL string
	// ListenURL is where Hydra's public API listens (127.0.0.1), which
	// differs from PublicURL behind a proxy.
	ListenURL string
	// ConfigFile is the rewritten hydra.yml it runs with.
	ConfigFile string

	// Process is the running server: Close, PID, Alive, Log, LogTail.
	*servertest.Process
}

// ErrNoBinary means the Hydra binary is not installed.
var ErrNoBinary = errors.New("hydra binary not found: run scripts/install-hydra.sh (make test does)")

// Binary returns the path of the Hydra binary: $HYDRA_BIN, or the
// repository's .bin/hydra.
func Binary() (string, error) { return servertest.Binary("hydra", "HYDRA_BIN", ErrNoBinary) }

// Start migrates a fresh SQLite database under dir and starts Hydra with
// the repository's hydra.yml, rewritten for free ports. Call Close.
func Start(dir string, o Options) (*Hydra, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	root, err := servertest.RepoRoot()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "hydra.yml"))
	if err != nil {
		return nil, err
	}
	pub, err := servertest.FreePort()
	if err != nil {
		return nil, err
	}
	adm, err := servertest.FreePort()
	if err != nil {
		return nil, err
	}
	host := o.Host
	if host == "" {
		host = "localhost"
	}
	h := &Hydra{
		PublicURL: "http://" + host + ":" + strconv.Itoa(pub),
		AdminURL:  "http://127.0.0.1:" + strconv.Itoa(adm),
		ListenURL: "http://127.0.0.1:" + strconv.Itoa(pub),
	}
	if o.PublicURL != "" {
		h.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	}
	repl := []string{
		"http://localhost:4444", h.PublicURL,
		"http://127.0.0.1:4445", h.AdminURL,
		"port: 4444", "port: " + strconv.Itoa(pub),
		"port: 4445", "port: " + strconv.Itoa(adm),
	}
	if o.UIURL != "" {
		repl = append(repl, "http://localhost:4455", strings.TrimSuffix(o.UIURL, "/"))
	}
	for from, to := range o.Replace {
		repl = append(repl, from, to)
	}
	cfg := strings.NewReplacer(repl...).Replace(string(raw))
	h.ConfigFile = filepath.Join(dir, "hydra.yml")
	if err := os.WriteFile(h.ConfigFile, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"DSN=sqlite://"+filepath.Join(dir, "hydra.sqlite")+"?_fk=true&_journal_mode=WAL",
		"LOG_LEVEL=warn",
	)
	logPath := filepath.Join(dir, "hydra.log")
	if err := servertest.Prepare(servertest.Command{Name: "hydra", Bin: bin,
		Args: []string{"migrate", "sql", "-e", "--yes"}, Env: env, LogPath: logPath}); err != nil {
		return nil, err
	}
	h.Process, err = servertest.Start(servertest.Command{Name: "hydra", Bin: bin,
		Args: []string{"serve", "all", "-c", h.ConfigFile, "--dev", "--sqa-opt-out"}, Env: env, LogPath: logPath},
		30*time.Second, h.AdminURL+"/health/ready", h.ListenURL+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Issuer is the issuer Hydra puts in its tokens.
func (h *Hydra) Issuer() string { return h.PublicURL + "/" }

// Client is an OAuth2 client to register. Empty fields keep Hydra's
// defaults.
type Client struct {
	ID                     string   `json:"client_id,omitempty"`
	Secret                 string   `json:"client_secret,omitempty"`
	Name                   string   `json:"client_name,omitempty"`
	LogoURI                string   `json:"logo_uri,omitempty"`
	PolicyURI              string   `json:"policy_uri,omitempty"`
	TosURI                 string   `json:"tos_uri,omitempty"`
	ClientURI              string   `json:"client_uri,omitempty"`
	RedirectURIs           []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`
	ResponseTypes          []string `json:"response_types,omitempty"`
	Scope                  string   `json:"scope,omitempty"`
	// TokenEndpointAuthMethod: "none" for a public client (PKCE only),
	// "client_secret_basic" or "client_secret_post" otherwise.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
}

// CreateClient registers c through Hydra's admin API and returns it as
// Hydra stored it (with a generated id and secret when c had none).
func (h *Hydra) CreateClient(ctx context.Context, c Client) (Client, error) {
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if len(c.ResponseTypes) == 0 {
		c.ResponseTypes = []string{"code"}
	}
	body, err := json.Marshal(c)
	if err != nil {
		return Client{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.AdminURL+"/admin/clients", bytes.NewReader(body))
	if err != nil {
		return Client{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Client{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return Client{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return Client{}, fmt.Errorf("create client: %d %s", resp.StatusCode, bytes.TrimSpace(out))
	}
	var got Client
	if err := json.Unmarshal(out, &got); err != nil {
		return Client{}, err
	}
	return got, nil
}

// MustCreateClient is CreateClient that ends the test on failure.
func (h *Hydra) MustCreateClient(tb testing.TB, c Client) Client {
	tb.Helper()
	got, err := h.CreateClient(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// Require returns a running Hydra for the test, or ends the test: it skips
// when the binary is missing locally, and fails when CI=true, where a
// missing dependency must never pass as a skip.
func Require(tb testing.TB, o Options) *Hydra {
	tb.Helper()
	h, err := Start(tb.TempDir(), o)
	if err != nil {
		if errors.Is(err, ErrNoBinary) && os.Getenv("CI") != "true" {
			tb.Skip(err.Error())
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("hydra log (tail):\n%s", h.LogTail(30))
		}
		if err := h.Close(); err != nil {
			tb.Log(err)
		}
	})
	return h
}

// Agent drives Hydra's public endpoints like a browser that renders no
// page: it keeps cookies and follows Hydra's redirects until one leaves
// Hydra. Tests use it to obtain real login, consent and logout challenges
// without a login UI.
type Agent struct {
	h    *Hydra
	http *http.Client
}

// NewAgent returns an agent with an empty cookie jar.
func (h *Hydra) NewAgent() *Agent {
	jar, _ := cookiejar.New(nil)
	return &Agent{h: h, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Follow requests u and follows redirects while they stay on Hydra's
// public URL; it returns the first URL elsewhere.
func (a *Agent) Follow(u string) (*url.URL, error) {
	pub, err := url.Parse(a.h.PublicURL)
	if err != nil {
		return nil, err
	}
	for range 10 {
		resp, err := a.http.Get(u)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("GET %s: %d without a Location", u, resp.StatusCode)
		}
		if loc.Host != pub.Host {
			return loc, nil
		}
		u = loc.String()
	}
	return nil, errors.New("too many redirects")
}

// ConsentChallenge starts an authorization request of client for scope,
// accepts its login for subject (remembered, as Kratos does) through the
// admin API, and returns the consent challenge Hydra then hands to the
// consent page.
func (a *Agent) ConsentChallenge(c Client, subject, scope string) (string, error) {
	auth := a.h.PublicURL + "/oauth2/auth?" + url.Values{
		"client_id": {c.ID}, "response_type": {"code"}, "scope": {scope},
		"redirect_uri": {c.RedirectURIs[0]}, "state": {"hydratest-state"},
	}.Encode()
	login, err := a.Follow(auth)
	if err != nil {
		return "", err
	}
	lc := login.Query().Get("login_challenge")
	if lc == "" {
		return "", fmt.Errorf("hydra sent the agent to %s, not the login page", login)
	}
	next, err := a.h.AcceptLogin(lc, subject)
	if err != nil {
		return "", err
	}
	consent, err := a.Follow(next)
	if err != nil {
		return "", err
	}
	cc := consent.Query().Get("consent_challenge")
	if cc == "" {
		return "", fmt.Errorf("hydra sent the agent to %s, not the consent page", consent)
	}
	return cc, nil
}

// AcceptLogin accepts a login request for subject, remembered, and
// returns where Hydra sends the browser next.
func (h *Hydra) AcceptLogin(challenge, subject string) (string, error) {
	body, _ := json.Marshal(map[string]any{"subject": subject, "remember": true})
	req, err := http.NewRequest(http.MethodPut, h.AdminURL+"/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(challenge), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
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
		return "", fmt.Errorf("accept login: %d %v", resp.StatusCode, err)
	}
	return out.RedirectTo, nil
}

// AcceptConsent grants a consent request with scopes and the ID-token
// claims given, and returns where Hydra sends the browser next.
func (h *Hydra) AcceptConsent(challenge string, scopes []string, idToken map[string]any) (string, error) {
	body, _ := json.Marshal(map[string]any{"grant_scope": scopes, "session": map[string]any{"id_token": idToken}})
	req, err := http.NewRequest(http.MethodPut, h.AdminURL+"/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(challenge), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
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
		return "", fmt.Errorf("accept consent: %d %v", resp.StatusCode, err)
	}
	return out.RedirectTo, nil
}

// Get requests u with the agent's cookies, without following redirects.
func (a *Agent) Get(u string) (*http.Response, error) { return a.http.Get(u) }
