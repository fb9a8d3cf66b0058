package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// authenticator is a software WebAuthn authenticator: it answers a
// navigator.credentials.create() the way a browser and an authenticator
// would together, with a fresh P-256 key and "none" attestation, so that
// Kratos verifies and stores a real passkey (challenge, origin, RP id
// hash, flags, COSE key) without a browser in the loop.
type authenticator struct {
	// aaguid names the authenticator model; 16 bytes.
	aaguid []byte
	// synced sets the backup-eligible and backed-up flags, as a passkey
	// provider that syncs (Google Password Manager, iCloud Keychain) does.
	synced bool
}

// creationOptions is the part of PublicKeyCredentialCreationOptions the
// authenticator needs, as Kratos sends it (base64url in JSON).
type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

// created is what the browser posts back: PublicKeyCredential.toJSON().
type created struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string   `json:"clientDataJSON"`
		AttestationObject string   `json:"attestationObject"`
		Transports        []string `json:"transports"`
	} `json:"response"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
}

// create makes a credential for the options, as seen from origin, and
// returns the browser's JSON and the credential id (base64url).
func (a authenticator) create(opts creationOptions, origin string, transports []string, attachment string) ([]byte, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	credID := make([]byte, 32)
	if _, err := rand.Read(credID); err != nil {
		return nil, "", err
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, "", err
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256),
		XCoord:        pub[1:33],
		YCoord:        pub[33:65],
	})
	if err != nil {
		return nil, "", fmt.Errorf("encode COSE key: %w", err)
	}

	// Authenticator data (WebAuthn §6.1): rpIdHash, flags, signCount,
	// then the attested credential data (§6.5.2).
	rpHash := sha256.Sum256([]byte(opts.RP.ID))
	flags := byte(0x01 | 0x04 | 0x40) // user present, user verified, attested credential data
	if a.synced {
		flags |= 0x08 | 0x10 // backup eligible, backed up
	}
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, flags, 0, 0, 0, 0)
	auth = append(auth, a.aaguid...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(credID)))
	auth = append(auth, credID...)
	auth = append(auth, cose...)

	att, err := webauthncbor.Marshal(struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}{"none", map[string]any{}, auth})
	if err != nil {
		return nil, "", fmt.Errorf("encode attestation object: %w", err)
	}
	clientData, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{"webauthn.create", opts.Challenge, origin, false})
	if err != nil {
		return nil, "", err
	}

	b64 := base64.RawURLEncoding.EncodeToString
	c := created{ID: b64(credID), RawID: b64(credID), Type: "public-key", AuthenticatorAttachment: attachment,
		ClientExtensionResults: map[string]any{}}
	c.Response.ClientDataJSON = b64(clientData)
	c.Response.AttestationObject = b64(att)
	c.Response.Transports = transports
	out, err := json.Marshal(c)
	return out, c.ID, err
}

// mustAAGUID parses a hyphenated AAGUID.
func mustAAGUID(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad AAGUID " + s)
	}
	return b
}
