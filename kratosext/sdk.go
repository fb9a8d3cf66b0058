package kratosext

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	ory "github.com/ory/kratos-client-go"
)

// This file holds the calls made through kratos-client-go: the admin
// look-up by identifier, session management and logout, and the courier.
// None is on a hot path, and the SDK's types track Kratos' API for us.
// The page path (flows, whoami, errors) and the web hook's credential
// look-up keep the lean decoding in client.go and admin.go, where
// make bench-ui and make bench-hooks showed it pays: the SDK decodes a
// flow three times and each node twice.

// sdkError turns an SDK call's failure into the errors the rest of
// kratosext returns: an *APIError (wrapping ErrNoSession, ErrFlowGone or
// ErrUnavailable) when Kratos answered, ErrTimeout or ErrUnavailable when
// it did not.
func sdkError(resp *http.Response, err error) error {
	if resp == nil {
		if errors.Is(err, context.Canceled) {
			return redact(err)
		}
		return transportError(err)
	}
	var body []byte
	var oe *ory.GenericOpenAPIError
	if errors.As(err, &oe) {
		body = oe.Body()
	} else if resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	}
	if resp.StatusCode < 300 {
		// Kratos answered, but the SDK could not read it.
		return fmt.Errorf("%w: decode response: %w", ErrUnavailable, redact(err))
	}
	return decodeAPIError(resp.StatusCode, body)
}

// IdentityByIdentifier returns the id of the identity whose credentials
// identifier (here the e-mail address) is identifier. Returns
// ErrIdentityNotFound when there is none.
func (c *Client) IdentityByIdentifier(ctx context.Context, identifier string) (string, error) {
	list, resp, err := c.admin.IdentityAPI.ListIdentities(ctx).CredentialsIdentifier(identifier).Execute()
	if err != nil {
		return "", fmt.Errorf("find identity: %w", sdkError(resp, err))
	}
	if len(list) == 0 {
		return "", ErrIdentityNotFound
	}
	return list[0].Id, nil
}

// LogoutURL creates a browser logout flow for the session in cookie and
// returns the URL the browser must visit to end it. Returns ErrNoSession
// when the cookie carries none.
func (c *Client) LogoutURL(ctx context.Context, cookie, returnTo string) (string, error) {
	req := c.public.FrontendAPI.CreateBrowserLogoutFlow(ctx).Cookie(cookie)
	if returnTo != "" {
		req = req.ReturnTo(returnTo)
	}
	flow, resp, err := req.Execute()
	if err != nil {
		return "", fmt.Errorf("create logout flow: %w", sdkError(resp, err))
	}
	return flow.LogoutUrl, nil
}

// SessionDevice is where Kratos saw a session used.
type SessionDevice struct {
	UserAgent string
	IPAddress string
	Location  string
}

// SessionSummary is one of an identity's sessions as the session list
// shows it.
type SessionSummary struct {
	ID                    string
	Active                bool
	AuthenticatedAt       time.Time
	IssuedAt              time.Time
	ExpiresAt             time.Time
	AuthenticationMethods []AuthenticationMethod
	Devices               []SessionDevice
}

// OtherSessions lists the active sessions of the identity signed in with
// cookie, other than the one that cookie carries (Kratos' own rule for
// /sessions). Returns ErrNoSession without a session.
func (c *Client) OtherSessions(ctx context.Context, cookie string) ([]SessionSummary, error) {
	list, resp, err := c.public.FrontendAPI.ListMySessions(ctx).Cookie(cookie).PageSize(250).Execute()
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", sdkError(resp, err))
	}
	out := make([]SessionSummary, 0, len(list))
	for _, s := range list {
		out = append(out, summarize(s))
	}
	return out, nil
}

// RevokeSession ends one of the signed-in identity's other sessions.
// Kratos refuses to end the current one this way (sign out instead);
// revoking a session never removes a passkey.
func (c *Client) RevokeSession(ctx context.Context, cookie, sessionID string) error {
	resp, err := c.public.FrontendAPI.DisableMySession(ctx, sessionID).Cookie(cookie).Execute()
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", sessionID, sdkError(resp, err))
	}
	return nil
}

// RevokeOtherSessions ends every session of the signed-in identity but
// the current one, and returns how many it ended.
func (c *Client) RevokeOtherSessions(ctx context.Context, cookie string) (int64, error) {
	n, resp, err := c.public.FrontendAPI.DisableMyOtherSessions(ctx).Cookie(cookie).Execute()
	if err != nil {
		return 0, fmt.Errorf("revoke other sessions: %w", sdkError(resp, err))
	}
	return n.GetCount(), nil
}

func summarize(s ory.Session) SessionSummary {
	out := SessionSummary{
		ID:              s.Id,
		Active:          s.GetActive(),
		AuthenticatedAt: s.GetAuthenticatedAt(),
		IssuedAt:        s.GetIssuedAt(),
		ExpiresAt:       s.GetExpiresAt(),
	}
	for _, m := range s.AuthenticationMethods {
		am := AuthenticationMethod{Method: m.GetMethod(), CompletedAt: m.GetCompletedAt()}
		if m.Aal != nil {
			am.AAL = string(*m.Aal)
		}
		out.AuthenticationMethods = append(out.AuthenticationMethods, am)
	}
	for _, d := range s.Devices {
		out.Devices = append(out.Devices, SessionDevice{UserAgent: d.GetUserAgent(), IPAddress: d.GetIpAddress(), Location: d.GetLocation()})
	}
	return out
}

// CourierMessage is one message Kratos' courier queued or sent.
type CourierMessage struct {
	ID        string
	Recipient string
	Subject   string
	Body      string
	Status    string
	CreatedAt time.Time
}

// CourierMessages lists the courier's messages to recipient, newest
// first (admin API; bodies are redacted unless Kratos runs with --dev).
func (c *Client) CourierMessages(ctx context.Context, recipient string) ([]CourierMessage, error) {
	list, resp, err := c.admin.CourierAPI.ListCourierMessages(ctx).Recipient(recipient).Execute()
	if err != nil {
		return nil, fmt.Errorf("list courier messages: %w", sdkError(resp, err))
	}
	out := make([]CourierMessage, 0, len(list))
	for _, m := range list {
		out = append(out, CourierMessage{ID: m.Id, Recipient: m.Recipient, Subject: m.Subject, Body: m.Body,
			Status: string(m.Status), CreatedAt: m.GetCreatedAt()})
	}
	return out, nil
}

// IdentityTraits is what a consent page releases about an identity.
type IdentityTraits struct {
	ID string
	// Traits is the identity's traits, decoded.
	Traits map[string]any
	// Verified lists the verifiable addresses that are verified.
	Verified []string
}

// IdentityTraits returns the traits of identity id (admin API). Returns
// ErrIdentityNotFound when Kratos does not know it.
func (c *Client) IdentityTraits(ctx context.Context, id string) (*IdentityTraits, error) {
	ident, resp, err := c.admin.IdentityAPI.GetIdentity(ctx, id).Execute()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, ErrIdentityNotFound
		}
		return nil, fmt.Errorf("get identity %s: %w", id, sdkError(resp, err))
	}
	out := &IdentityTraits{ID: ident.Id}
	if t, ok := ident.Traits.(map[string]any); ok {
		out.Traits = t
	}
	for _, a := range ident.VerifiableAddresses {
		if a.Verified {
			out.Verified = append(out.Verified, a.Value)
		}
	}
	return out, nil
}
