package kratosext

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// This file holds the read-only probes `tandem doctor` runs against a live
// Kratos. None creates an identity or a session: a browser flow Kratos
// creates expires on its own.

// AdminVersion returns the version Kratos' admin API reports
// (GET /admin/version). A Kratos built from source calls itself "master".
func (c *Client) AdminVersion(ctx context.Context) (string, error) {
	u := *c.adminURL
	u.Path += "/admin/version"
	var v struct {
		Version string `json:"version"`
	}
	if err := c.getJSON(ctx, u.String(), "", &v); err != nil {
		return "", fmt.Errorf("admin version: %w", err)
	}
	return v.Version, nil
}

// AdminReady reports whether Kratos' admin API answers its readiness
// probe (GET /admin/health/ready).
func (c *Client) AdminReady(ctx context.Context) error {
	u := *c.adminURL
	u.Path += "/admin/health/ready"
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
		return fmt.Errorf("%w: admin readiness answered %d", ErrUnavailable, resp.StatusCode)
	}
	return nil
}

// FlowStart is what Kratos answers a browser that starts a flow, without
// following the redirect: where it sends the browser and the cookies it
// sets.
type FlowStart struct {
	Status   int
	Location string
	Cookies  []*http.Cookie
}

// StartBrowserFlow asks Kratos to start a browser flow of kind as a
// browser would (GET /self-service/<kind>/browser) and returns the
// redirect it answers, unfollowed.
func (c *Client) StartBrowserFlow(ctx context.Context, kind FlowKind) (*FlowStart, error) {
	u := *c.internal
	u.Path += "/self-service/" + string(kind) + "/browser"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("start %s flow: %w", kind, transportError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return &FlowStart{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Cookies: resp.Cookies()}, nil
}

// RelyingParties are the WebAuthn relying-party ids Kratos puts in the
// creation options of a registration flow; empty when the method is off.
type RelyingParties struct {
	Passkey  string
	WebAuthn string
}

// RegistrationRelyingParties reads the rp.id of the passkey and WebAuthn
// creation options from a real registration flow. With two-step
// registration (Kratos v1.3's default) the options appear only after the
// profile step, so it submits that step with a probe address under the
// reserved .invalid domain: Kratos answers with the next step and creates
// nothing (an identity is created only when a credential is submitted).
func (c *Client) RegistrationRelyingParties(ctx context.Context) (RelyingParties, error) {
	var rp RelyingParties
	u := *c.internal
	u.Path += "/self-service/registration/browser"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return rp, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return rp, fmt.Errorf("start a registration flow: %w", transportError(err))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	if err != nil {
		return rp, fmt.Errorf("start a registration flow: %w", transportError(err))
	}
	if resp.StatusCode != http.StatusOK {
		return rp, fmt.Errorf("start a registration flow: %w", decodeAPIError(resp.StatusCode, body))
	}
	var flow Flow
	if err := json.Unmarshal(body, &flow); err != nil {
		return rp, fmt.Errorf("start a registration flow: %w: %w", ErrUnavailable, err)
	}
	var cookies []string
	for _, ck := range resp.Cookies() {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	if _, ok := flow.UI.NodeByName("passkey_create_data"); !ok {
		csrf := ""
		if n, ok := flow.UI.NodeByName("csrf_token"); ok {
			csrf = n.Attributes.StringValue()
		}
		step, _ := json.Marshal(map[string]any{
			"method": "profile", "csrf_token": csrf,
			"traits": map[string]string{"email": "tandem-doctor-probe@doctor.invalid"},
		})
		// Post to the internal address: the flow's action names the
		// public one, which this host may not reach.
		action := *c.internal
		action.Path += "/self-service/registration"
		action.RawQuery = url.Values{"flow": {flow.ID}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), bytes.NewReader(step))
		if err != nil {
			return rp, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
		resp, err := c.http.Do(req)
		if err != nil {
			return rp, fmt.Errorf("registration profile step: %w", transportError(err))
		}
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
		if err != nil {
			return rp, fmt.Errorf("registration profile step: %w", transportError(err))
		}
		// The next step comes back as the flow with 400 (it "needs input").
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			return rp, fmt.Errorf("registration profile step: %w", decodeAPIError(resp.StatusCode, body))
		}
		flow = Flow{}
		if err := json.Unmarshal(body, &flow); err != nil {
			return rp, fmt.Errorf("registration profile step: %w: %w", ErrUnavailable, err)
		}
	}
	rpID := func(raw json.RawMessage) string {
		var v struct {
			CredentialOptions *struct {
				PublicKey struct {
					RP struct {
						ID string `json:"id"`
					} `json:"rp"`
				} `json:"publicKey"`
			} `json:"credentialOptions"`
			PublicKey struct {
				RP struct {
					ID string `json:"id"`
				} `json:"rp"`
			} `json:"publicKey"`
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
		if json.Unmarshal(raw, &v) != nil {
			return ""
		}
		if v.CredentialOptions != nil {
			return v.CredentialOptions.PublicKey.RP.ID
		}
		return v.PublicKey.RP.ID
	}
	if n, ok := flow.UI.NodeByName("passkey_create_data"); ok {
		rp.Passkey = rpID(n.Attributes.Value)
	}
	for _, name := range []string{"webauthn_register_trigger", "webauthn_register"} {
		if n, ok := flow.UI.NodeByName(name); ok && rp.WebAuthn == "" {
			rp.WebAuthn = rpID(n.Attributes.Value)
		}
	}
	return rp, nil
}
