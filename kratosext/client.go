package kratosext

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

	jsonv2 "github.com/go-json-experiment/json"
	ory "github.com/ory/kratos-client-go"
)

// Errors the client returns; check with errors.Is.
var (
	// ErrFlowGone means the flow expired, never existed, or belongs to
	// another browser (Kratos answers 403, 404 or 410). The UI starts a new
	// flow.
	ErrFlowGone = errors.New("kratos: flow expired or unknown")
	// ErrNoSession means the request carries no valid Kratos session.
	ErrNoSession = errors.New("kratos: no active session")
	// ErrUnavailable means Kratos could not be reached or failed (5xx).
	ErrUnavailable = errors.New("kratos: unavailable")
	// ErrTimeout means Kratos did not answer within the client's timeout
	// (or the caller's deadline). It wraps context.DeadlineExceeded too.
	ErrTimeout = errors.New("kratos: timed out")
)

// transportError classifies an error from the HTTP client: a timeout is
// ErrTimeout, anything else ErrUnavailable. Both keep the cause, with the
// URL it names redacted (see redact).
func transportError(err error) error {
	err = redact(err)
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// redact strips the query, fragment and user info from the URL a
// *url.Error carries, in place (net/http makes a new one per request), and
// returns err. Errors end up in logs, and queries carry what logs must
// not: the admin look-up by identifier sends the e-mail address as
// credentials_identifier=…, the courier list its recipient. Call it on the
// error as the HTTP client returned it, before anything wraps it:
// fmt.Errorf formats its message at once. Every error kratosext returns
// has been through it.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return err
}

// redactURL returns raw without its query (kept as "?…" to show there was
// one), fragment and user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	hadQuery := u.RawQuery != "" || u.ForceQuery
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	if hadQuery {
		return u.String() + "?…"
	}
	return u.String()
}

// APIError is an error answer from Kratos' JSON API, for the cases a UI acts
// on: a session is missing or too weak, and Kratos says where to send the
// browser.
type APIError struct {
	Status int
	// ID is Kratos' error id, e.g. "session_inactive",
	// "session_aal2_required", "security_csrf_violation".
	ID      string
	Reason  string
	Message string
	// RedirectTo is Kratos' redirect_browser_to, when it gives one.
	RedirectTo string
	// UseFlowID is set when Kratos says a replacement flow exists.
	UseFlowID string
	wrapped   error
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("kratos answered %d", e.Status)
	if e.ID != "" {
		msg += " " + e.ID
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	} else if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *APIError) Unwrap() error { return e.wrapped }

// Options configure a Client.
type Options struct {
	// PublicURL is Kratos' public API as the browser sees it.
	PublicURL string
	// InternalURL is the public API as Tandem reaches it; empty = PublicURL.
	InternalURL string
	// AdminURL is Kratos' admin API.
	AdminURL string
	// Timeout bounds each call.
	Timeout time.Duration
	// HTTPClient overrides the default transport (tests).
	HTTPClient *http.Client
	// WrapTransport, if set, wraps the default transport (to count and
	// time every call; see CallName).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Client talks to one Kratos. It is safe for concurrent use.
type Client struct {
	browser  *url.URL // Kratos' public API as browsers see it
	internal *url.URL // the same, as Tandem reaches it
	adminURL *url.URL
	http     *http.Client
	// public and admin are kratos-client-go's clients, for the calls in
	// sdk.go.
	public *ory.APIClient
	admin  *ory.APIClient
}

// NewClient builds a client. It does not contact Kratos.
func NewClient(o Options) (*Client, error) {
	pub, err := parseBase("kratos public URL", o.PublicURL)
	if err != nil {
		return nil, err
	}
	internalRaw := o.InternalURL
	if internalRaw == "" {
		internalRaw = o.PublicURL
	}
	internal, err := parseBase("kratos internal URL", internalRaw)
	if err != nil {
		return nil, err
	}
	admin, err := parseBase("kratos admin URL", o.AdminURL)
	if err != nil {
		return nil, err
	}
	hc := o.HTTPClient
	if hc == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		var transport http.RoundTripper = &http.Transport{
			Proxy:               nil, // Kratos is ours; never route it through a proxy
			DialContext:         (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		}
		if o.WrapTransport != nil {
			transport = o.WrapTransport(transport)
		}
		hc = &http.Client{
			Timeout:   timeout,
			Transport: transport,
			// Kratos answers browser-flow endpoints with redirects meant for
			// the browser; a server-side caller must see them, not follow them.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	newSDK := func(base *url.URL) *ory.APIClient {
		cfg := ory.NewConfiguration()
		cfg.Servers = ory.ServerConfigurations{{URL: strings.TrimSuffix(base.String(), "/")}}
		cfg.HTTPClient = hc
		cfg.UserAgent = "tandem"
		return ory.NewAPIClient(cfg)
	}
	return &Client{
		browser:  pub,
		internal: internal,
		adminURL: admin,
		http:     hc,
		public:   newSDK(internal),
		admin:    newSDK(admin),
	}, nil
}

func parseBase(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%s %q: must be an absolute URL", what, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// PublicURL is Kratos' browser-facing base URL, without a trailing slash.
func (c *Client) PublicURL() *url.URL { u := *c.browser; return &u }

// BrowserFlowURL is where the browser goes to start a flow of kind. Only the
// query parameters Kratos understands for that kind are passed on.
func (c *Client) BrowserFlowURL(kind FlowKind, q url.Values) string {
	u := *c.browser
	u.Path += "/self-service/" + string(kind) + "/browser"
	out := url.Values{}
	for _, k := range []string{"return_to", "refresh", "aal", "login_challenge", "organization", "via"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	u.RawQuery = out.Encode()
	return u.String()
}

// GetFlow fetches a browser flow by id, forwarding the browser's Cookie
// header verbatim: Kratos checks its CSRF cookie against the flow.
//
// Returns ErrFlowGone (wrapped in *APIError) when the flow is expired,
// unknown or another browser's, an *APIError for other Kratos answers, and
// ErrUnavailable when Kratos cannot be reached or fails.
func (c *Client) GetFlow(ctx context.Context, kind FlowKind, id, cookie string) (*Flow, error) {
	if !kind.Valid() {
		return nil, fmt.Errorf("get flow: unknown kind %q", kind)
	}
	u := *c.internal
	u.Path += "/self-service/" + string(kind) + "/flows"
	u.RawQuery = "id=" + url.QueryEscape(id)
	var f Flow
	if err := c.getJSON(ctx, u.String(), cookie, &f); err != nil {
		return nil, fmt.Errorf("get %s flow %s: %w", kind, id, err)
	}
	return &f, nil
}

// FlowErrorDetails is a Kratos error flow (/self-service/errors?id=).
type FlowErrorDetails struct {
	ID    string `json:"id"`
	Error struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		ID      string `json:"id"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"error"`
}

// GetError fetches a Kratos error by id. Returns ErrFlowGone when the id is
// unknown.
func (c *Client) GetError(ctx context.Context, id string) (*FlowErrorDetails, error) {
	u := *c.internal
	u.Path += "/self-service/errors"
	u.RawQuery = "id=" + url.QueryEscape(id)
	var e FlowErrorDetails
	if err := c.getJSON(ctx, u.String(), "", &e); err != nil {
		return nil, fmt.Errorf("get error %s: %w", id, err)
	}
	return &e, nil
}

// Session is the part of a Kratos session Tandem shows and acts on.
type Session struct {
	ID                          string                 `json:"id"`
	Active                      bool                   `json:"active"`
	AuthenticatedAt             time.Time              `json:"authenticated_at"`
	ExpiresAt                   time.Time              `json:"expires_at"`
	AuthenticatorAssuranceLevel string                 `json:"authenticator_assurance_level"`
	AuthenticationMethods       []AuthenticationMethod `json:"authentication_methods"`
	Identity                    SessionIdentity        `json:"identity"`
}

// AuthenticationMethod is one factor a session was established with.
type AuthenticationMethod struct {
	Method      string    `json:"method"`
	AAL         string    `json:"aal"`
	CompletedAt time.Time `json:"completed_at"`
}

// SessionIdentity is the identity behind a session.
type SessionIdentity struct {
	ID                  string          `json:"id"`
	SchemaID            string          `json:"schema_id"`
	Traits              json.RawMessage `json:"traits"`
	VerifiableAddresses []struct {
		Value    string `json:"value"`
		Verified bool   `json:"verified"`
	} `json:"verifiable_addresses"`
}

// Email returns traits.email, or "".
func (i SessionIdentity) Email() string {
	var t struct {
		Email string `json:"email"`
	}
	_ = json.Unmarshal(i.Traits, &t)
	return t.Email
}

// LastMethod is the method of the most recent authentication, or "".
func (s *Session) LastMethod() string {
	if len(s.AuthenticationMethods) == 0 {
		return ""
	}
	return s.AuthenticationMethods[len(s.AuthenticationMethods)-1].Method
}

// Whoami returns the session the Cookie header carries. Returns
// ErrNoSession when there is none (or it is too weak: an *APIError with
// RedirectTo then says where to step up).
func (c *Client) Whoami(ctx context.Context, cookie string) (*Session, error) {
	u := *c.internal
	u.Path += "/sessions/whoami"
	var s Session
	if err := c.getJSON(ctx, u.String(), cookie, &s); err != nil {
		return nil, fmt.Errorf("whoami: %w", err)
	}
	return &s, nil
}

// Ready reports whether Kratos' public API answers its readiness probe.
func (c *Client) Ready(ctx context.Context) error {
	u := *c.internal
	u.Path += "/health/ready"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return redact(err)
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

// maxResponse caps what Tandem reads from Kratos; a flow is a few KiB.
const maxResponse = 4 << 20

func (c *Client) getJSON(ctx context.Context, rawURL, cookie string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return redact(err)
	}
	req.Header.Set("Accept", "application/json")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return ctx.Err() // the browser went away; nothing to report
		}
		return transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("read response: %w", transportError(err))
	}
	if resp.StatusCode == http.StatusOK {
		// The v2 decoder parses a flow in well under half the time of
		// encoding/json's, on the page-render hot path.
		if err := jsonv2.Unmarshal(body, dst); err != nil {
			return fmt.Errorf("%w: decode response: %w", ErrUnavailable, err)
		}
		return nil
	}
	return decodeAPIError(resp.StatusCode, body)
}

// decodeAPIError turns a non-200 Kratos answer into an *APIError that wraps
// the sentinel a caller acts on.
func decodeAPIError(status int, body []byte) error {
	var env struct {
		Error struct {
			ID      string          `json:"id"`
			Reason  string          `json:"reason"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
		RedirectBrowserTo string `json:"redirect_browser_to"`
		UseFlowID         string `json:"use_flow_id"`
	}
	_ = json.Unmarshal(body, &env)
	e := &APIError{
		Status:     status,
		ID:         env.Error.ID,
		Reason:     env.Error.Reason,
		Message:    env.Error.Message,
		RedirectTo: env.RedirectBrowserTo,
		UseFlowID:  env.UseFlowID,
	}
	if e.UseFlowID == "" && len(env.Error.Details) > 0 {
		var d struct {
			UseFlowID  string `json:"use_flow_id"`
			RedirectTo string `json:"redirect_to"`
		}
		if json.Unmarshal(env.Error.Details, &d) == nil {
			e.UseFlowID = d.UseFlowID
			if e.RedirectTo == "" {
				e.RedirectTo = d.RedirectTo
			}
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		e.wrapped = ErrNoSession
	case status == http.StatusForbidden && strings.HasPrefix(e.ID, "session_"):
		// session_aal2_required, session_refresh_required: a session exists
		// but must be stepped up; RedirectTo says where.
		e.wrapped = ErrNoSession
	case status == http.StatusForbidden, status == http.StatusNotFound, status == http.StatusGone:
		e.wrapped = ErrFlowGone
	case status >= 500:
		e.wrapped = ErrUnavailable
	}
	return e
}

// Flows says which optional self-service flows Kratos has enabled. Kratos
// does not publish its configuration; each is learnt by asking Kratos to
// start the flow for an API client, which it refuses (400) when the flow
// is off.
type Flows struct {
	Registration, Recovery, Verification bool
}

// EnabledFlows asks Kratos which of registration, recovery and
// verification are on. It creates (and abandons) one API flow of each:
// call it rarely and keep the answer.
func (c *Client) EnabledFlows(ctx context.Context) (Flows, error) {
	var out Flows
	for _, f := range []struct {
		kind FlowKind
		on   *bool
	}{{Registration, &out.Registration}, {Recovery, &out.Recovery}, {Verification, &out.Verification}} {
		u := *c.internal
		u.Path += "/self-service/" + string(f.kind) + "/api"
		var flow struct {
			ID string `json:"id"`
		}
		err := c.getJSON(ctx, u.String(), "", &flow)
		var apiErr *APIError
		switch {
		case err == nil:
			*f.on = true
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest:
			*f.on = false
		default:
			return Flows{}, fmt.Errorf("probe %s flow: %w", f.kind, err)
		}
	}
	return out, nil
}

// CallName names a request to Kratos for metrics, from a fixed set: the
// endpoint, with ids and flow kinds kept only where they are bounded.
func CallName(r *http.Request) string {
	p := r.URL.Path
	// The public and admin URLs may carry a path prefix; match on the tail.
	for _, c := range []struct{ suffix, name string }{
		{"/sessions/whoami", "whoami"},
		{"/health/ready", "health_ready"},
		{"/health/alive", "health_alive"},
		{"/version", "version"},
		{"/self-service/errors", "get_error"},
		{"/admin/courier/messages", "admin_courier_messages"},
		{"/sessions", "sessions"},
	} {
		if strings.HasSuffix(p, c.suffix) {
			return c.name
		}
	}
	if i := strings.Index(p, "/self-service/"); i >= 0 {
		kind, rest, _ := strings.Cut(p[i+len("/self-service/"):], "/")
		if FlowKind(kind).Valid() || kind == "logout" {
			switch rest {
			case "flows", "browser", "api":
				return kind + "_" + rest
			case "":
				return kind + "_submit"
			}
		}
		return "self_service_other"
	}
	switch {
	case strings.Contains(p, "/admin/identities"):
		return "admin_identities"
	case strings.Contains(p, "/sessions/"):
		return "sessions"
	}
	return "other"
}
