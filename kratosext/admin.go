package kratosext

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// WebAuthnCredential is one passkey or security key as Kratos stores it,
// read through the admin API. Kratos verified these fields at registration:
// they are what Tandem trusts, not what the browser claims.
type WebAuthnCredential struct {
	// Type is "passkey" or "webauthn".
	Type string
	// ID is the credential id in the admin API's encoding: standard base64
	// with padding.
	ID string
	// AAGUID is as the admin API shows it: 16 bytes in standard base64.
	AAGUID         string
	DisplayName    string
	AddedAt        time.Time
	IsPasswordless bool
	BackupEligible bool
	BackupState    bool
	// UserHandle is the WebAuthn user handle Kratos gave the identity for
	// this credential type, base64url as the browser shows it (user.id):
	// what the WebAuthn Signal API names the account by. Empty if Kratos
	// reports none.
	UserHandle string
}

// ErrIdentityNotFound means Kratos has no such identity.
var ErrIdentityNotFound = errors.New("kratos: identity not found")

// IdentityCredentials returns the identity's passkeys and security keys
// from Kratos' admin API (GET /admin/identities/{id} with
// include_credential; without it Kratos omits them).
func (c *Client) IdentityCredentials(ctx context.Context, identityID string) ([]WebAuthnCredential, error) {
	u := *c.adminURL
	u.Path += "/admin/identities/" + url.PathEscape(identityID)
	u.RawQuery = "include_credential=passkey&include_credential=webauthn"
	var ident struct {
		Credentials map[string]struct {
			Type   string          `json:"type"`
			Config json.RawMessage `json:"config"`
		} `json:"credentials"`
	}
	if err := c.getJSON(ctx, u.String(), "", &ident); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return nil, fmt.Errorf("identity %s: %w", identityID, ErrIdentityNotFound)
		}
		return nil, fmt.Errorf("identity %s credentials: %w", identityID, err)
	}
	var out []WebAuthnCredential
	for _, typ := range []string{"passkey", "webauthn"} {
		cred, ok := ident.Credentials[typ]
		if !ok || len(cred.Config) == 0 {
			continue
		}
		var cfg struct {
			// UserHandle is []byte in Kratos: standard base64 in JSON.
			UserHandle  []byte `json:"user_handle"`
			Credentials []struct {
				ID             string    `json:"id"`
				DisplayName    string    `json:"display_name"`
				AddedAt        time.Time `json:"added_at"`
				IsPasswordless bool      `json:"is_passwordless"`
				Authenticator  *struct {
					AAGUID string `json:"aaguid"`
				} `json:"authenticator"`
				Flags *struct {
					BackupEligible bool `json:"backup_eligible"`
					BackupState    bool `json:"backup_state"`
				} `json:"flags"`
			} `json:"credentials"`
		}
		if err := json.Unmarshal(cred.Config, &cfg); err != nil {
			return nil, fmt.Errorf("identity %s: decode %s credentials: %w", identityID, typ, err)
		}
		for _, k := range cfg.Credentials {
			w := WebAuthnCredential{Type: typ, ID: k.ID, DisplayName: k.DisplayName, AddedAt: k.AddedAt, IsPasswordless: k.IsPasswordless}
			if len(cfg.UserHandle) > 0 {
				w.UserHandle = base64.RawURLEncoding.EncodeToString(cfg.UserHandle)
			}
			if k.Authenticator != nil {
				w.AAGUID = k.Authenticator.AAGUID
			}
			if k.Flags != nil {
				w.BackupEligible, w.BackupState = k.Flags.BackupEligible, k.Flags.BackupState
			}
			out = append(out, w)
		}
	}
	return out, nil
}
