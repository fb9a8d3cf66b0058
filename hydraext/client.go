// Package hydraext is Tandem's client for Ory Hydra's admin API: the login,
// consent and logout requests Hydra hands to Tandem's pages, and their
// answers. It wraps hydra-client-go and returns Tandem's own types, so that
// the SDK never reaches the ui package; errors are sentinels to check with
// errors.Is.
package hydraext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	hydra "github.com/ory/hydra-client-go/v2"
)

// Errors the client returns; check with errors.Is.
var (
	// ErrChallengeGone means Hydra does not know the challenge: it is
	// malformed, expired, or was never issued.
	ErrChallengeGone = errors.New("hydra: challenge unknown or expired")
	// ErrChallengeUsed means the challenge was answered already (a reload
	// or the back button after Allow, Deny or sign-out).
	ErrChallengeUsed = errors.New("hydra: challenge already answered")
	// ErrUnavailable means Hydra could not be reached or failed (5xx).
	ErrUnavailable = errors.New("hydra: unavailable")
	// ErrTimeout means Hydra did not answer in time.
	ErrTimeout = errors.New("hydra: timed out")
)

// Options configure a Client.
type Options struct {
	// AdminURL is Hydra's admin API, never exposed to browsers.
	AdminURL string
	// PublicURL is Hydra's public API as browsers see it.
	PublicURL string
	// Timeout bounds each call; default 10 s.
	Timeout time.Duration
	// HTTPClient overrides the default transport (tests).
	HTTPClient *http.Client
}

// Client talks to one Hydra. It is safe for concurrent use.
type Client struct {
	admin     *hydra.APIClient
	adminURL  *url.URL
	publicURL *url.URL
	http      *http.Client
}

// NewClient builds a client. It does not contact Hydra.
func NewClient(o Options) (*Client, error) {
	admin, err := parseBase("hydra admin URL", o.AdminURL)
	if err != nil {
		return nil, err
	}
	pub, err := parseBase("hydra public URL", o.PublicURL)
	if err != nil {
		return nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		hc = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:               nil, // Hydra's admin API is ours; never via a proxy
				DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        128,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	cfg := hydra.NewConfiguration()
	cfg.Servers = hydra.ServerConfigurations{{URL: strings.TrimSuffix(admin.String(), "/")}}
	cfg.HTTPClient = hc
	cfg.UserAgent = "tandem"
	return &Client{admin: hydra.NewAPIClient(cfg), adminURL: admin, publicURL: pub, http: hc}, nil
}

func parseBase(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%s %q: must be an absolute URL", what, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// PublicURL is Hydra's browser-facing base URL, without a trailing slash.
func (c *Client) PublicURL() *url.URL { u := *c.publicURL; return &u }

// AppClient is what Tandem shows of an OAuth2 client, and where it may
// send the browser.
type AppClient struct {
	ID        string
	Name      string
	LogoURI   string
	PolicyURI string
	TosURI    string
	ClientURI string
	// RedirectURIs and PostLogoutRedirectURIs are the client's registered
	// return addresses: the only places Hydra sends a browser to for it.
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
}

// DisplayName is the client's name, or its id when it has none.
func (a AppClient) DisplayName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

func appClient(c *hydra.OAuth2Client) *AppClient {
	if c == nil {
		return nil
	}
	return &AppClient{
		ID: c.GetClientId(), Name: c.GetClientName(), LogoURI: c.GetLogoUri(),
		PolicyURI: c.GetPolicyUri(), TosURI: c.GetTosUri(), ClientURI: c.GetClientUri(),
		RedirectURIs: c.RedirectUris, PostLogoutRedirectURIs: c.PostLogoutRedirectUris,
	}
}

// ConsentRequest is Hydra's question to the consent page: may Client have
// the requested scopes of Subject?
type ConsentRequest struct {
	Challenge string
	// Subject is the Kratos identity id the login was accepted for.
	Subject string
	Client  AppClient
	Scopes  []string
	// Audience is the requested access-token audience.
	Audience []string
	// Skip: Hydra remembers a consent that covers these scopes (or the
	// client skips consent); the page must not ask again.
	Skip bool
	// AMR are the authentication methods of the login.
	AMR []string
}

// ConsentRequest fetches the consent request for challenge.
//
// Returns ErrChallengeGone, ErrChallengeUsed, ErrUnavailable or ErrTimeout.
func (c *Client) ConsentRequest(ctx context.Context, challenge string) (*ConsentRequest, error) {
	r, resp, err := c.admin.OAuth2API.GetOAuth2ConsentRequest(ctx).ConsentChallenge(challenge).Execute()
	if err := classify(ctx, resp, err); err != nil {
		return nil, fmt.Errorf("get consent request: %w", err)
	}
	out := &ConsentRequest{
		Challenge: r.Challenge, Subject: r.GetSubject(), Scopes: r.RequestedScope,
		Audience: r.RequestedAccessTokenAudience, Skip: r.GetSkip(), AMR: r.Amr,
	}
	if a := appClient(r.Client); a != nil {
		out.Client = *a
	}
	return out, nil
}

// Grant is the consent page's answer "allow".
type Grant struct {
	Scopes   []string
	Audience []string
	// Remember makes Hydra skip the consent screen next time the client
	// asks this user for these scopes (or fewer), for RememberFor (0 =
	// until revoked).
	Remember    bool
	RememberFor time.Duration
	// IDToken holds the claims to add to the ID token.
	IDToken map[string]any
}

// AcceptConsent grants the consent request and returns where Hydra wants
// the browser next.
//
// Returns ErrChallengeGone, ErrChallengeUsed, ErrUnavailable or ErrTimeout.
func (c *Client) AcceptConsent(ctx context.Context, challenge string, g Grant) (string, error) {
	body := hydra.NewAcceptOAuth2ConsentRequest()
	body.GrantScope = g.Scopes
	body.GrantAccessTokenAudience = g.Audience
	body.Remember = &g.Remember
	secs := int64(g.RememberFor / time.Second)
	body.RememberFor = &secs
	sess := hydra.NewAcceptOAuth2ConsentRequestSession()
	if g.IDToken != nil {
		sess.IdToken = g.IDToken
	}
	sess.AccessToken = map[string]any{}
	body.Session = sess
	r, resp, err := c.admin.OAuth2API.AcceptOAuth2ConsentRequest(ctx).ConsentChallenge(challenge).AcceptOAuth2ConsentRequest(*body).Execute()
	if err := classify(ctx, resp, err); err != nil {
		return "", fmt.Errorf("accept consent request: %w", err)
	}
	return r.RedirectTo, nil
}

// RejectConsent denies the consent request with the OAuth2 error code
// (access_denied for a person's "Deny") and returns where Hydra wants the
// browser next: the client's redirect URI with the error.
//
// Returns ErrChallengeGone, ErrChallengeUsed, ErrUnavailable or ErrTimeout.
func (c *Client) RejectConsent(ctx context.Context, challenge, code, description string) (string, error) {
	body := hydra.NewRejectOAuth2Request()
	body.Error = &code
	body.ErrorDescription = &description
	status := int64(http.StatusForbidden)
	body.StatusCode = &status
	r, resp, err := c.admin.OAuth2API.RejectOAuth2ConsentRequest(ctx).ConsentChallenge(challenge).RejectOAuth2Request(*body).Execute()
	if err := classify(ctx, resp, err); err != nil {
		return "", fmt.Errorf("reject consent request: %w", err)
	}
	return r.RedirectTo, nil
}

// LogoutRequest is Hydra's question to the logout page.
type LogoutRequest struct {
	Challenge string
	Subject   string
	// SessionID is Hydra's login session id (the ID token's sid).
	SessionID string
	// RPInitiated: an OAuth2 client sent the browser (RP-initiated logout).
	RPInitiated bool
	// Client is the client that asked, when Hydra knows it (an
	// id_token_hint named it); nil otherwise.
	Client *AppClient
}

// LogoutRequest fetches the logout request for challenge.
//
// Returns ErrChallengeGone, ErrChallengeUsed, ErrUnavailable or ErrTimeout.
func (c *Client) LogoutRequest(ctx context.Context, challenge string) (*LogoutRequest, error) {
	r, resp, err := c.admin.OAuth2API.GetOAuth2LogoutRequest(ctx).LogoutChallenge(challenge).Execute()
	if err := classify(ctx, resp, err); err != nil {
		return nil, fmt.Errorf("get logout request: %w", err)
	}
	return &LogoutRequest{
		Challenge: r.GetChallenge(), Subject: r.GetSubject(), SessionID: r.GetSid(),
		RPInitiated: r.GetRpInitiated(), Client: appClient(r.Client),
	}, nil
}

// AcceptLogout confirms the logout: Hydra ends its session and returns
// where the browser goes next (through Hydra, to the client's post-logout
// URL).
//
// Returns ErrChallengeGone, ErrChallengeUsed, ErrUnavailable or ErrTimeout.
func (c *Client) AcceptLogout(ctx context.Context, challenge string) (string, error) {
	r, resp, err := c.admin.OAuth2API.AcceptOAuth2LogoutRequest(ctx).LogoutChallenge(challenge).Execute()
	if err := classify(ctx, resp, err); err != nil {
		return "", fmt.Errorf("accept logout request: %w", err)
	}
	return r.RedirectTo, nil
}

// RejectLogout answers "stay signed in": Hydra keeps its session.
//
// Returns ErrChallengeGone, ErrChallengeUsed, ErrUnavailable or ErrTimeout.
func (c *Client) RejectLogout(ctx context.Context, challenge string) error {
	resp, err := c.admin.OAuth2API.RejectOAuth2LogoutRequest(ctx).LogoutChallenge(challenge).Execute()
	if err := classify(ctx, resp, err); err != nil {
		return fmt.Errorf("reject logout request: %w", err)
	}
	return nil
}

// Ready reports whether Hydra's admin API answers its readiness probe.
func (c *Client) Ready(ctx context.Context) error {
	u := *c.adminURL
	u.Path += "/health/ready"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: readiness answered %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}

// APIError is an error answer from Hydra's admin API. It wraps the sentinel
// that applies; Description is Hydra's text, for logs only.
type APIError struct {
	Status      int
	Code        string
	Description string
	wrapped     error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("hydra answered %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

func (e *APIError) Unwrap() error { return e.wrapped }

// classify turns the SDK's answer into nil or one of the sentinels.
func classify(ctx context.Context, resp *http.Response, err error) error {
	if err == nil {
		return nil
	}
	if resp == nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return ctx.Err()
		}
		return transportError(err)
	}
	e := &APIError{Status: resp.StatusCode}
	var oapi *hydra.GenericOpenAPIError
	if errors.As(err, &oapi) {
		var body struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			ErrorHint        string `json:"error_hint"`
		}
		if json.Unmarshal(oapi.Body(), &body) == nil {
			e.Code, e.Description = body.Error, strings.TrimSpace(body.ErrorDescription+" "+body.ErrorHint)
		}
	}
	switch {
	case resp.StatusCode == http.StatusGone:
		// Hydra answers 410 with the redirect it already gave: the request
		// was handled.
		e.wrapped = ErrChallengeUsed
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusBadRequest,
		resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		e.wrapped = ErrChallengeGone
	case resp.StatusCode >= 500:
		e.wrapped = ErrUnavailable
	}
	return e
}

func transportError(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
