package hooks_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// adminGet sends GET path to the admin API with the Authorization value
// auth ("" for none).
func adminGet(tb testing.TB, l *listener, path, auth string) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, l.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := l.Client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b.Bytes()
}

const exampleIdentity = "9f3c2a4e-7b1d-4c8e-a2f5-3d6b8e1c0a47"

// TestAdminOff: without an admin key, the admin API does not exist, even
// for a caller that guesses a key.
func TestAdminOff(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	for _, auth := range []string{"", "Bearer " + adminKey, "Bearer ", "Bearer " + hookKey} {
		status, _, b := adminGet(t, l, "/admin/identities/"+exampleIdentity+"/credentials", auth)
		if status != http.StatusNotFound {
			t.Fatalf("Authorization %q: status %d, body %s; want 404", auth, status, b)
		}
		MustErrorBody(t, status, b)
	}
}

// TestAdminAuth: the admin key, as a bearer token, and nothing else.
func TestAdminAuth(t *testing.T) {
	l := MustListen(t, listenerOptions{AdminKey: adminKey})
	path := "/admin/identities/" + exampleIdentity + "/credentials"
	for _, auth := range []string{
		"",
		"Bearer",
		"Bearer ",
		"Bearer wrong-admin-key-000000",
		"Bearer " + adminKey[:len(adminKey)-1],
		"Bearer " + adminKey + "x",
		"Bearer  " + adminKey,
		"Bearer " + hookKey,
		"Basic " + adminKey,
		adminKey,
		"Token " + adminKey,
	} {
		status, h, b := adminGet(t, l, path, auth)
		if status != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: status %d, body %s; want 401", auth, status, b)
		}
		MustErrorBody(t, status, b)
		if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: WWW-Authenticate = %q, want Bearer", auth, h.Get("WWW-Authenticate"))
		}
	}
	// Nor in the query string.
	if status, _, b := adminGet(t, l, path+"?access_token="+adminKey, ""); status != http.StatusUnauthorized {
		t.Fatalf("key in the query: status %d, body %s; want 401", status, b)
	}
	// The hook key header is not the admin key either.
	req, err := http.NewRequest(http.MethodGet, l.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(hooks.LegacyKeyHeader, adminKey)
	if status, b := l.Do(t, req); status != http.StatusUnauthorized {
		t.Fatalf("key in %s: status %d, body %s; want 401", hooks.LegacyKeyHeader, status, b)
	}
	// The scheme is case-insensitive.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		if status, _, b := adminGet(t, l, path, scheme+" "+adminKey); status != http.StatusOK {
			t.Fatalf("scheme %q: status %d, body %s; want 200", scheme, status, b)
		}
	}
}

// TestAdminBadRequests: bad input is a 400, an unknown path a 404, a
// write a 405, each with a JSON error body.
func TestAdminBadRequests(t *testing.T) {
	l := MustListen(t, listenerOptions{AdminKey: adminKey})
	auth := "Bearer " + adminKey
	base := "/admin/identities/" + exampleIdentity
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", base + "/events?limit=0", http.StatusBadRequest},
		{"GET", base + "/events?limit=-1", http.StatusBadRequest},
		{"GET", base + "/events?limit=ten", http.StatusBadRequest},
		{"GET", base + "/events?limit=1.5", http.StatusBadRequest},
		{"GET", base + "/events?limit=1001", http.StatusBadRequest},
		{"GET", base + "/events?limit=99999999999999999999", http.StatusBadRequest},
		{"GET", "/admin/identities/" + strings.Repeat("a", devices.MaxIDLength+1), http.StatusBadRequest},
		{"GET", "/admin/identities/" + strings.Repeat("a", devices.MaxIDLength+1) + "/events", http.StatusBadRequest},
		{"GET", "/admin/identities/%20space/devices", http.StatusBadRequest},
		{"GET", "/admin/identities", http.StatusNotFound},
		{"GET", "/admin/identities/", http.StatusNotFound},
		{"GET", base + "/sessions", http.StatusNotFound},
		{"GET", "/admin/", http.StatusNotFound},
		{"POST", base, http.StatusMethodNotAllowed},
		{"DELETE", base + "/credentials", http.StatusMethodNotAllowed},
		{"PUT", base + "/devices", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, l.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		status, b := l.Do(t, req)
		if status != tt.want {
			t.Errorf("%s %s: status %d, body %s; want %d", tt.method, tt.path, status, b, tt.want)
			continue
		}
		MustErrorBody(t, status, b)
	}
	// Valid limits pass.
	for _, limit := range []string{"1", "1000"} {
		if status, _, b := adminGet(t, l, base+"/events?limit="+limit, auth); status != http.StatusOK {
			t.Errorf("limit=%s: status %d, body %s; want 200", limit, status, b)
		}
	}
}

// TestAdminShowsWhatTheHooksRecorded: a sign-up through the phone and a
// login with it, both delivered through the receiver, then read back:
// provider name, phone-held, last used and how.
func TestAdminShowsWhatTheHooksRecorded(t *testing.T) {
	var clk clock
	l := MustListen(t, listenerOptions{AdminKey: adminKey, Now: clk.Now})
	phone := passkey("ada-pixel", aaguidGoogle, true)
	l.Kratos.AddIdentity(exampleIdentity, phone)
	const deviceID = "3f9a1c7e5b2d4f608a1e9c3b7d5f2a41"
	cookie := l.Cookies.Encode(deviceID)
	caps := devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported,
		ConditionalMediation: devices.Supported}

	registered := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clk.Set(registered)
	reg := payload{FlowID: "5b0e8f2c-3d41-4a9b-8c7e-1f2a3b4c5d6e", IdentityID: exampleIdentity, Email: "ada@example.com", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_registration", CredentialID: browserID(t, phone),
			Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid", "internal"}, Capabilities: caps}}
	if status, b := l.Send(t, delivery{kratosext.AfterRegistration, "passkey", reg.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("registration: status %d, body %s", status, b)
	}
	used := time.Date(2025, 3, 2, 9, 30, 0, 0, time.UTC)
	clk.Set(used)
	login := payload{FlowID: "c2d7a9e1-6f3b-4e8a-9d1c-7b5e3a2f1c0d", IdentityID: exampleIdentity, Email: "ada@example.com", Active: "passkey", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, phone), Attachment: devices.AttachmentCrossPlatform, Capabilities: caps}}
	if status, b := l.Send(t, delivery{kratosext.AfterLogin, "passkey", login.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("login: status %d, body %s", status, b)
	}

	auth := "Bearer " + adminKey
	get := func(path string, dst any) []byte {
		t.Helper()
		status, h, b := adminGet(t, l, path, auth)
		if status != http.StatusOK {
			t.Fatalf("GET %s: status %d, body %s", path, status, b)
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Content-Type %q, Cache-Control %q; want JSON, no-store", path, ct, h.Get("Cache-Control"))
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
		// Run with -v to see the bodies (README.md quotes them).
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, b, "", "  ")
		t.Logf("GET %s\n%s", path, pretty.Bytes())
		return b
	}

	var creds struct {
		IdentityID  string `json:"identity_id"`
		Credentials []struct {
			ID           string          `json:"id"`
			Type         string          `json:"type"`
			AAGUID       string          `json:"aaguid"`
			ProviderName string          `json:"provider_name"`
			Attachment   string          `json:"attachment"`
			Transports   []string        `json:"transports"`
			PhoneHeld    bool            `json:"phone_held"`
			Created      string          `json:"created_on_class"`
			CreatedAt    time.Time       `json:"created_at"`
			LastUsedAt   time.Time       `json:"last_used_at"`
			LastUsedVia  string          `json:"last_used_via"`
			UseCount     int             `json:"use_count"`
			RemovedAt    json.RawMessage `json:"removed_at"`
		} `json:"credentials"`
	}
	get("/admin/identities/"+exampleIdentity+"/credentials", &creds)
	if creds.IdentityID != exampleIdentity || len(creds.Credentials) != 1 {
		t.Fatalf("credentials = %+v, want the one passkey of %s", creds, exampleIdentity)
	}
	c := creds.Credentials[0]
	if c.ID != browserID(t, phone) || c.Type != "passkey" || c.AAGUID != aaguidGoogle || c.ProviderName != "Google Password Manager" ||
		c.Attachment != "cross-platform" || !cmp.Equal(c.Transports, []string{"hybrid", "internal"}) || !c.PhoneHeld ||
		c.Created != "desktop" || !c.CreatedAt.Equal(registered) || !c.LastUsedAt.Equal(used) || c.LastUsedVia != "hybrid" ||
		c.UseCount != 1 || c.RemovedAt != nil {
		t.Errorf("credential = %+v\nwant the phone-held Google Password Manager passkey created %v, last used %v via hybrid", c, registered, used)
	}

	var devs struct {
		Devices []devices.LinkedDevice `json:"devices"`
	}
	get("/admin/identities/"+exampleIdentity+"/devices", &devs)
	if len(devs.Devices) != 1 || devs.Devices[0].Device.ID != deviceID || devs.Devices[0].Device.Class != devices.ClassDesktop ||
		devs.Devices[0].Device.Capabilities != caps || devs.Devices[0].Link.LocalPasskey {
		t.Errorf("devices = %+v, want the desktop, with no local passkey", devs.Devices)
	}

	var events struct {
		Events []devices.Event `json:"events"`
	}
	get("/admin/identities/"+exampleIdentity+"/events?limit=1", &events)
	if len(events.Events) != 1 || events.Events[0].Kind != devices.EventLogin || events.Events[0].Via != devices.ViaHybrid ||
		events.Events[0].Key.FlowID != login.FlowID || !events.Events[0].At.Equal(used) {
		t.Errorf("events?limit=1 = %+v, want the hybrid login only", events.Events)
	}

	var all struct {
		IdentityID  string                 `json:"identity_id"`
		Credentials []devices.Credential   `json:"credentials"`
		Devices     []devices.LinkedDevice `json:"devices"`
		Events      []devices.Event        `json:"events"`
	}
	get("/admin/identities/"+exampleIdentity, &all)
	if len(all.Credentials) != 1 || len(all.Devices) != 1 || len(all.Events) != 2 || all.Events[1].Kind != devices.EventRegistration {
		t.Errorf("identity = %+v, want one credential, one device, registration and login", all)
	}

	// An identity Tandem never saw: empty lists, not null and not 404.
	b := get("/admin/identities/00000000-0000-4000-8000-000000000001", &all)
	for _, field := range []string{`"credentials":[]`, `"devices":[]`, `"events":[]`} {
		if !bytes.Contains(b, []byte(field)) {
			t.Errorf("unknown identity: body %s lacks %s", b, field)
		}
	}
}
