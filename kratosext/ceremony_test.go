package kratosext

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/go-cmp/cmp"
)

func loadFlow(tb testing.TB, name string) *Flow {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "flows", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var f Flow
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	return &f
}

func TestCeremoniesFromRealFlows(t *testing.T) {
	login := loadFlow(t, "login")
	c, err := Ceremonies(&login.UI)
	if err != nil {
		t.Fatal(err)
	}
	pk := c[PasskeyLogin]
	if pk == nil || pk.Get == nil || pk.Result != "passkey_login" || !pk.Conditional {
		t.Fatalf("passkey login ceremony = %+v", pk)
	}
	if pk.Get.RelyingPartyID != "localhost" || len(pk.Get.Challenge) != 32 {
		t.Errorf("decoded request options: rpId %q, challenge %d bytes", pk.Get.RelyingPartyID, len(pk.Get.Challenge))
	}

	reg := loadFlow(t, "registration_step2")
	c, err = Ceremonies(&reg.UI)
	if err != nil {
		t.Fatal(err)
	}
	r := c[PasskeyRegistration]
	if r == nil || r.Create == nil || r.DisplayNameField != "traits.email" || r.Result != "passkey_register" {
		t.Fatalf("passkey registration ceremony = %+v", r)
	}
	// What Kratos v1.3.1 hard-codes, and Tandem's reason to rewrite it.
	if got := r.Create.AuthenticatorSelection.AuthenticatorAttachment; got != protocol.Platform {
		t.Errorf("attachment = %q; Kratos v1.3.1 sends platform", got)
	}
	if c[SecurityKeyRegistration] == nil {
		t.Error("security-key registration ceremony missing")
	}

	settings := loadFlow(t, "settings")
	c, err = Ceremonies(&settings.UI)
	if err != nil {
		t.Fatal(err)
	}
	if s := c[PasskeySettings]; s == nil || s.Result != "passkey_settings_register" || s.Create == nil || s.Create.User.ID == nil || s.Create.User.ID == "" {
		t.Fatalf("settings ceremony = %+v", s)
	}
}

// The options Tandem hands the browser must keep every member Kratos
// issued: a dropped challenge or user id breaks the ceremony.
func TestCeremonyOptionsRoundTrip(t *testing.T) {
	reg := loadFlow(t, "registration_step2")
	n, _ := reg.UI.NodeByName("passkey_create_data")
	var raw struct {
		CredentialOptions struct {
			PublicKey map[string]any `json:"publicKey"`
		} `json:"credentialOptions"`
	}
	if err := json.Unmarshal([]byte(n.Attributes.StringValue()), &raw); err != nil {
		t.Fatal(err)
	}
	c, err := Ceremonies(&reg.UI)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(c[PasskeyRegistration].Create)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(raw.CredentialOptions.PublicKey, got); diff != "" {
		t.Errorf("creation options changed in transit (-kratos +tandem):\n%s", diff)
	}
}

func TestArrangeIsPasskeyFirst(t *testing.T) {
	l := Arrange(&loadFlow(t, "login").UI)
	if l.Primary == nil || l.Primary.Group != "passkey" {
		t.Fatalf("primary = %+v", l.Primary)
	}
	var groups []string
	for _, s := range l.Sections {
		groups = append(groups, s.Group)
	}
	if diff := cmp.Diff([]string{"password", "code", "webauthn"}, groups); diff != "" {
		t.Errorf("other methods (-want +got):\n%s", diff)
	}
	if len(l.Account) != 1 || l.Account[0].Attributes.Name != "identifier" {
		t.Errorf("account fields = %+v", l.Account)
	}
	for _, n := range l.Scripts {
		if n.Attributes.ID == KratosWebAuthnScriptID {
			t.Error("Kratos' webauthn.js is kept")
		}
	}
	for _, n := range l.Hidden {
		if !n.IsHidden() {
			t.Errorf("visible node %s among hidden", n.Attributes.Name)
		}
	}
}

func TestSecretsFromLookupCodes(t *testing.T) {
	f := loadFlow(t, "settings_lookup")
	for _, n := range f.UI.Nodes {
		if n.Attributes.ID == "lookup_secret_codes" {
			if got := n.Attributes.Text.Secrets(); len(got) != 12 {
				t.Fatalf("want 12 codes, got %v", got)
			}
			return
		}
	}
	t.Fatal("no lookup_secret_codes node")
}

// FuzzFlow feeds arbitrary JSON through everything a page render does with
// a flow: it may be rejected, never panic.
func FuzzFlow(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "flows", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"ui":{"nodes":[{"type":"input","attributes":{"name":"passkey_challenge","value":"{\"publicKey\":{\"challenge\":1}}"}}]}}`))
	f.Add([]byte(`{"ui":{"nodes":[{"type":"input","attributes":{"name":"passkey_create_data","value":"null"}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl Flow
		if json.Unmarshal(b, &fl) != nil {
			return
		}
		l := Arrange(&fl.UI)
		_ = l
		_, _ = Ceremonies(&fl.UI)
		for _, n := range fl.UI.Nodes {
			_ = n.Attributes.StringValue()
			_ = n.Attributes.Text.Secrets()
			_ = n.LabelText()
		}
	})
}
