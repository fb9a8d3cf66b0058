package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/dashboard"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
)

// seeded is a real SQLite store with a sign-up through the phone, a
// password sign-up, a prompt shown and accepted, and two sign-ins.
func seeded(t *testing.T) devices.Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	laptop := devices.Device{ID: "laptop", Class: devices.ClassDesktop,
		Capabilities: devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Supported}}
	phoneCred := devices.Credential{ID: devices.CredentialID("cGhvbmUtY3JlZA"), IdentityID: "alice", Type: devices.TypePasskey,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}}
	must := func(_ devices.Recorded, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RecordRegistration(ctx, devices.Registration{Key: devices.EventKey{Point: "after-registration", FlowID: "f1"},
		Method: "passkey", Credential: phoneCred, Device: laptop}))
	must(s.RecordLogin(ctx, devices.Login{Key: devices.EventKey{Point: "after-registration", FlowID: "f2"}, IdentityID: "bob",
		Method: "password", Device: laptop, SignUp: true}))
	for _, k := range []devices.EventKind{devices.EventPromptShown, devices.EventPromptAccepted} {
		must(s.RecordPrompt(ctx, devices.PromptRecord{Key: devices.EventKey{Point: "prompt", FlowID: string(k)}, DeviceID: "laptop",
			IdentityID: "alice", Prompt: devices.PromptPostCDA, Kind: k}))
	}
	must(s.RecordLogin(ctx, devices.Login{Key: devices.EventKey{Point: "after-login", FlowID: "f3"}, IdentityID: "alice",
		Method: "passkey", Device: laptop, Credential: phoneCred, Via: devices.ViaHybrid, Row: devices.RowNoLocalAutofill}))
	must(s.RecordLogin(ctx, devices.Login{Key: devices.EventKey{Point: "after-login", FlowID: "f4"}, IdentityID: "bob",
		Method: "password", Device: laptop, Row: devices.RowNoLocalAutofill}))
	if err := s.SnapshotAdoption(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	body, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(body)
}

func TestDashboardPage(t *testing.T) {
	d, err := dashboard.New(dashboard.Options{Store: seeded(t)})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, d, "/dashboard")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`style-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") && !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q: want default-src 'none' and a style nonce", csp)
	}
	if !strings.Contains(body, `<style nonce="`+m[1]+`">`) {
		t.Error("the stylesheet does not carry the CSP's nonce")
	}
	if strings.Contains(body, "<script") {
		t.Error("the dashboard has a script")
	}
	for _, want := range []string{
		`data-testid="identities"><b>2</b>`, // alice and bob
		`data-testid="phone-share"><b>50 %</b>`,
		`data-testid="cda-share"><b>100 %</b>`, // the one passkey sign-in went through the phone
		`Through the phone: 1 sign-ins`,
		`Phone passkey: 1 identities`,
		`No passkey: 1 identities`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if got := strings.Count(body, `<rect`); got < 10 {
		t.Errorf("%d SVG shapes; want the charts drawn", got)
	}
}

func TestDashboardRange(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	d, err := dashboard.New(dashboard.Options{Store: seeded(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		query string
		code  int
		says  string
	}{
		{"", 200, `value="2026-02-09"`},
		{"?from=2026-03-01&to=2026-03-10", 200, `value="2026-03-01"`},
		{"?from=2026-03-01&to=2027-01-01", 200, "it now ends today"},
		{"?from=yesterday", 400, "“from” must be a date"},
		{"?to=2026-13-45", 400, "“to” must be a date"},
		{"?from=2026-03-10&to=2026-03-01", 400, "“from” is after “to”"},
		{"?from=2016-01-01&to=2026-03-10", 400, "choose at most 366"},
		{"?from=2025-03-10&to=2026-03-10", 200, `value="2025-03-10"`},
	} {
		resp, body := get(t, d, "/dashboard"+tt.query)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.says) {
			t.Errorf("%s: %d, want %d saying %q; body %.300s", tt.query, resp.StatusCode, tt.code, tt.says, body)
		}
	}
	w := httptest.NewRecorder()
	d.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/dashboard", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
}
