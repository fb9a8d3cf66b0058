package ui

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/devices"
)

// accountKratos is fakeKratos with the admin API's view of the settings
// fixture's identity: one passkey, whose remove node Kratos disabled
// (the identity's last way to sign in).
type accountKratos struct {
	*fakeKratos
	identityID string
	credential []byte
	adminDown  bool
}

func (k *accountKratos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/admin/identities/"+k.identityID {
		k.fakeKratos.ServeHTTP(w, r)
		return
	}
	if k.adminDown {
		http.Error(w, `{"error":{"code":503}}`, http.StatusServiceUnavailable)
		return
	}
	aaguid := base64.StdEncoding.EncodeToString([]byte{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8})
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q,"credentials":{"passkey":{"type":"passkey","config":{"user_handle":"aGFuZGxl","credentials":[
	  {"id":%q,"display_name":"","added_at":"2026-03-01T12:00:00Z","is_passwordless":true,
	   "authenticator":{"aaguid":%q},"flags":{"backup_eligible":true,"backup_state":true}}]}}}}`,
		k.identityID, base64.StdEncoding.EncodeToString(k.credential), aaguid)
}

// settingsWithPasskey is the settings fixture with a disabled
// passkey_remove node for the credential, as Kratos renders an
// identity's last credential.
func settingsWithPasskey(t *testing.T) (*accountKratos, string) {
	t.Helper()
	fk, names := fixtures(t)
	id := names["settings"]
	var flow map[string]any
	if err := json.Unmarshal(fk.flows[id], &flow); err != nil {
		t.Fatal(err)
	}
	cred := []byte("a passkey credential id, 32 byte")
	ui := flow["ui"].(map[string]any)
	ui["nodes"] = append(ui["nodes"].([]any), map[string]any{"type": "input", "group": "passkey",
		"attributes": map[string]any{"name": "passkey_remove", "type": "submit", "value": hex.EncodeToString(cred), "disabled": true, "node_type": "input"},
		"messages":   []any{}, "meta": map[string]any{}})
	b, err := json.Marshal(flow)
	if err != nil {
		t.Fatal(err)
	}
	fk.flows[id] = b
	identity := flow["identity"].(map[string]any)["id"].(string)
	return &accountKratos{fakeKratos: fk, identityID: identity, credential: cred}, id
}

func TestSettingsListsWhatKratosReports(t *testing.T) {
	k, flow := settingsWithPasskey(t)
	s, _ := newTestServer(t, k)
	rec := get(t, s.Handler(), "/settings?flow="+flow)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	// Tandem never saw it: the AAGUID's name, and Kratos' flags and date.
	for _, want := range []string{"Your passkeys", "Virtual authenticator", "Where it is kept is not known",
		"Synced to your other devices by its provider", "Added 1 March 2026", `data-kind="unknown"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The list replaces Kratos' own remove button; the Signal API gets
	// the remaining id and the user handle.
	if strings.Contains(body, `name="passkey_remove"`) {
		t.Error("Kratos' remove button is still on the page")
	}
	browserID := base64.RawURLEncoding.EncodeToString(k.credential)
	if !strings.Contains(body, `"signal":{"rpId":"localhost","userId":"aGFuZGxl","accepted":["`+browserID+`"]}`) {
		t.Errorf("page data lacks the Signal API's ids:\n%s", body[strings.Index(body, `id="tandem-data"`):][:300])
	}
}

func TestSettingsRemoveConfirmation(t *testing.T) {
	k, flow := settingsWithPasskey(t)
	s, _ := newTestServer(t, k)
	rec := get(t, s.Handler(), "/settings?flow="+flow+"&remove="+hex.EncodeToString(k.credential))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "Remove “Virtual authenticator”?") {
		t.Fatalf("status %d, body:\n%s", rec.Code, body)
	}
	// Kratos disabled the node: the identity's last way to sign in.
	if !strings.Contains(body, "This is your last way to sign in.") {
		t.Error("no last-way warning")
	}
	if !strings.Contains(body, `name="passkey_remove" value="`+hex.EncodeToString(k.credential)+`"`) ||
		!strings.Contains(body, `action="http://localhost:4433/self-service/settings?flow=`+flow+`"`) {
		t.Error("the confirmation does not post Kratos' remove node to Kratos")
	}
	for _, forged := range []string{"00ff", "zz", hex.EncodeToString([]byte("someone else's credential"))} {
		if rec := get(t, s.Handler(), "/settings?flow="+flow+"&remove="+forged); rec.Code != http.StatusNotFound {
			t.Errorf("remove %s: %d, want 404", forged, rec.Code)
		}
	}
}

func TestSettingsKratosDownWhileListing(t *testing.T) {
	k, flow := settingsWithPasskey(t)
	k.adminDown = true
	s, _ := newTestServer(t, k)
	rec := get(t, s.Handler(), "/settings?flow="+flow)
	body := rec.Body.String()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, "Your passkeys can&#39;t be listed right now") {
		t.Fatalf("status %d, want 503 with the list's message:\n%s", rec.Code, body)
	}
	if strings.Contains(body, "passkeys-heading") || strings.Contains(body, "self-service/settings") {
		t.Error("a half-rendered settings page behind the 503")
	}
}

func TestSettingsStoreDown(t *testing.T) {
	k, flow := settingsWithPasskey(t)
	var store devices.Store
	s, _ := newTestServerWith(t, k, func(o *Options) { store = o.Store })
	store.Close()
	rec := get(t, s.Handler(), "/settings?flow="+flow)
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d with the store down, want 200", rec.Code)
	}
	for _, want := range []string{"Some details about your passkeys can&#39;t be shown right now", "Virtual authenticator"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
