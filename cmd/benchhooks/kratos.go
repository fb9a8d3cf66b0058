package main

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
	"strings"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// identity is one Kratos identity the bench logs in.
type identity struct {
	ID    string
	Email string
	// Device is the browser profile it signs in from: its id and the
	// signed cookie value Tandem's UI would have set.
	DeviceID, Cookie string
	// CredentialID is its passkey as the browser reports it (base64url);
	// empty for a password identity.
	CredentialID string
	// Attachment is how the passkey answers: cross-platform for a phone
	// over hybrid, platform for this computer.
	Attachment devices.Attachment
}

// kratos drives a real Kratos through its public and admin APIs.
type kratos struct {
	publicURL, adminURL string
	// origin is the UI origin the browser would be on: Kratos checks
	// WebAuthn client data against it (rp.origins).
	origin string
	http   *http.Client
}

// bcryptHash is bcrypt (cost 4) of "bench-password-1": imported as is, so
// creating thousands of identities costs Kratos no hashing.
const bcryptHash = "$2a$04$FZ60vo1U6mt.dlPVe8/JauNqtZwxW2CK06f17pPODGnMLKiODNO6q"

// createPasswordIdentities creates n identities with a password through
// the admin API (PATCH /admin/identities, in batches), as an operator
// importing users would. Kratos calls no web hook for these.
func (k *kratos) createPasswordIdentities(ctx context.Context, n int, emailPrefix string) ([]identity, error) {
	type create struct {
		SchemaID    string            `json:"schema_id"`
		Traits      map[string]string `json:"traits"`
		Credentials map[string]any    `json:"credentials"`
	}
	var out []identity
	for start := 0; start < n; start += 500 {
		var batch struct {
			Identities []struct {
				Create create `json:"create"`
			} `json:"identities"`
		}
		emails := []string{}
		for i := start; i < min(n, start+500); i++ {
			email := fmt.Sprintf("%s%05d@example.com", emailPrefix, i)
			emails = append(emails, email)
			batch.Identities = append(batch.Identities, struct {
				Create create `json:"create"`
			}{create{SchemaID: "default", Traits: map[string]string{"email": email},
				Credentials: map[string]any{"password": map[string]any{"config": map[string]string{"hashed_password": bcryptHash}}}}})
		}
		var res struct {
			Identities []struct {
				Action   string `json:"action"`
				Identity string `json:"identity"`
				Error    any    `json:"error"`
			} `json:"identities"`
		}
		if err := k.do(ctx, http.MethodPatch, k.adminURL+"/admin/identities", nil, batch, &res); err != nil {
			return nil, fmt.Errorf("create identities: %w", err)
		}
		if len(res.Identities) != len(emails) {
			return nil, fmt.Errorf("create identities: Kratos answered %d of %d", len(res.Identities), len(emails))
		}
		for i, r := range res.Identities {
			if r.Action != "create" || r.Identity == "" {
				return nil, fmt.Errorf("create identity %s: %s %v", emails[i], r.Action, r.Error)
			}
			out = append(out, identity{ID: r.Identity, Email: emails[i]})
		}
	}
	return out, nil
}

// flow is the part of a Kratos self-service flow the bench reads.
type flow struct {
	ID string `json:"id"`
	UI struct {
		Action string `json:"action"`
		Nodes  []struct {
			Attributes struct {
				Name  string          `json:"name"`
				Value json.RawMessage `json:"value"`
			} `json:"attributes"`
		} `json:"nodes"`
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	} `json:"ui"`
}

// value returns the string value of the node named name.
func (f *flow) value(name string) (string, bool) {
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == name {
			var s string
			if json.Unmarshal(n.Attributes.Value, &s) == nil {
				return s, true
			}
		}
	}
	return "", false
}

// registerPasskey signs up a new identity with a passkey the way a browser
// on Tandem's pages does: a browser registration flow (CSRF cookie and
// token), the profile step, then the passkey step with the credential and
// Tandem's report in transient_payload. The jar holds Tandem's device
// cookie, so Kratos' after-registration web hook, if kratos.yml wires one
// to the bench's listener, carries it. Returns the new identity.
func (k *kratos) registerPasskey(ctx context.Context, email, deviceCookie string, a authenticator, attachment devices.Attachment, transports []string) (identity, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return identity{}, err
	}
	pub, err := url.Parse(k.publicURL)
	if err != nil {
		return identity{}, err
	}
	jar.SetCookies(pub, []*http.Cookie{{Name: browser.CookieName, Value: deviceCookie, Path: "/"}})
	c := *k.http
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	kc := &kratos{publicURL: k.publicURL, adminURL: k.adminURL, origin: k.origin, http: &c}

	var f flow
	if err := kc.do(ctx, http.MethodGet, k.publicURL+"/self-service/registration/browser", nil, nil, &f); err != nil {
		return identity{}, fmt.Errorf("registration flow: %w", err)
	}
	csrf, _ := f.value("csrf_token")
	traits := map[string]string{"email": email}
	// Step one (Kratos v1.3's two-step registration): the traits.
	var step flow
	err = kc.do(ctx, http.MethodPost, f.UI.Action, []int{http.StatusBadRequest},
		map[string]any{"csrf_token": csrf, "method": "profile", "traits": traits}, &step)
	if err != nil {
		return identity{}, fmt.Errorf("registration profile step: %w", err)
	}
	raw, ok := step.value("passkey_create_data")
	if !ok {
		return identity{}, fmt.Errorf("registration profile step: no passkey_create_data node (messages %+v)", step.UI.Messages)
	}
	var create struct {
		CredentialOptions struct {
			PublicKey creationOptions `json:"publicKey"`
		} `json:"credentialOptions"`
	}
	if err := json.Unmarshal([]byte(raw), &create); err != nil {
		return identity{}, fmt.Errorf("passkey_create_data: %w", err)
	}
	cred, credID, err := a.create(create.CredentialOptions.PublicKey, k.origin, transports, string(attachment))
	if err != nil {
		return identity{}, err
	}
	report := browser.Report{Ceremony: kratosext.PasskeyRegistration, CredentialID: credID, Attachment: attachment, Transports: transports,
		Capabilities: devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Supported}}
	var done struct {
		Identity struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	err = kc.do(ctx, http.MethodPost, step.UI.Action, nil, map[string]any{
		"csrf_token": csrf, "method": "passkey", "traits": traits, "passkey_register": string(cred),
		"transient_payload": map[string]any{hooks.TransientKey: report},
	}, &done)
	if err != nil {
		return identity{}, fmt.Errorf("registration passkey step: %w", err)
	}
	if done.Identity.ID == "" {
		return identity{}, errors.New("registration passkey step: no identity in Kratos' answer")
	}
	return identity{ID: done.Identity.ID, Email: email, CredentialID: credID, Attachment: attachment}, nil
}

// do sends a JSON request and decodes a JSON answer. Statuses other than
// 2xx and those in also are errors.
func (k *kratos) do(ctx context.Context, method, u string, also []int, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	ok := resp.StatusCode/100 == 2
	for _, s := range also {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 600)])))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
