package browser

import "testing"

func TestDecodeReport(t *testing.T) {
	good := `{"ceremony":"passkey_login","credential_id":"AAECAwQFBgcICQoLDA0ODw","attachment":"cross-platform","capabilities":{"webauthn":true,"hybrid_transport":null}}`
	if _, err := DecodeReport([]byte(good)); err != nil {
		t.Fatalf("good report: %v", err)
	}
	for name, bad := range map[string]string{
		"not json":       `{`,
		"array":          `[]`,
		"ceremony":       `{"ceremony":"steal"}`,
		"credential id":  `{"ceremony":"passkey_login","credential_id":"!!"}`,
		"attachment":     `{"ceremony":"passkey_login","attachment":"usb"}`,
		"transport":      `{"ceremony":"passkey_registration","transports":["<script>"]}`,
		"nonce too long": `{"ceremony":"passkey_settings","nonce":"` + string(make([]byte, 65)) + `"}`,
	} {
		if _, err := DecodeReport([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
