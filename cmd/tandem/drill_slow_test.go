package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// delayProxy forwards to target after a delay it can change, giving up
// when the caller does.
type delayProxy struct {
	delay atomic.Int64
	proxy *httputil.ReverseProxy
}

func (d *delayProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-time.After(time.Duration(d.delay.Load())):
	case <-r.Context().Done():
		return
	}
	d.proxy.ServeHTTP(w, r)
}

// createIdentity creates an identity with a password through Kratos'
// admin API and returns its id.
func createIdentity(tb testing.TB, adminURL, email string) string {
	tb.Helper()
	body, _ := json.Marshal(map[string]any{"schema_id": "default", "traits": map[string]string{"email": email},
		"credentials": map[string]any{"password": map[string]any{"config": map[string]string{"password": "drill-password-0123"}}}})
	resp, err := http.Post(adminURL+"/admin/identities", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &out) != nil || out.ID == "" {
		tb.Fatalf("create identity: %d %s", resp.StatusCode, b)
	}
	return out.ID
}

// TestDrillSlowKratos: Kratos' admin API stops answering (a proxy in front
// of the real one holds every request). Each hook answers within its own
// deadline (hooks.deadline: 1s here) instead of holding the sign-in for
// Kratos' 30 s web-hook timeout: a passkey login Tandem cannot vouch for
// is recorded without its credential (204, the user is in), a policy
// identity's login is refused with a try-again message (403), a sign-up's
// hook answers 503 so Kratos retries.
func TestDrillSlowKratos(t *testing.T) {
	s := requireStack(t)
	target, err := url.Parse(s.kratos.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	dp := &delayProxy{proxy: httputil.NewSingleHostReverseProxy(target)}
	proxy := httptest.NewServer(dp)
	defer proxy.Close()

	const deadline = time.Second
	cfg := &drillConfig{storeDSN: "sqlite://" + filepath.Join(t.TempDir(), "tandem.db"),
		kratosPublic: s.kratos.PublicURL, kratosAdmin: proxy.URL,
		hooksExtra: fmt.Sprintf("deadline: %v\npolicy:\n  - {name: admins, email: '@admin\\.example\\.com$', require: device_bound}", deadline)}
	serveInProcess(t, cfg)

	ada := createIdentity(t, s.kratos.AdminURL, uniqueEmail(t))
	root := createIdentity(t, s.kratos.AdminURL, "root-"+strings.ReplaceAll(uniqueEmail(t), "@example.com", "@admin.example.com"))
	cookies, err := browser.NewCookieCodec(drillCookieSecret)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	claimed := base64.RawURLEncoding.EncodeToString(raw) // a credential Tandem never recorded
	send := func(point kratosext.HookPoint, method, identity, email string, rep *browser.Report) (int, []byte, time.Duration) {
		t.Helper()
		p := kratosext.HookPayload{FlowID: newDrillUUID(), IdentityID: identity, Traits: json.RawMessage(`{"email":"` + email + `"}`),
			DeviceCookie: cookies.Encode(browser.NewDeviceID()), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0"}
		if point == kratosext.AfterLogin {
			p.Active = method
		}
		if rep != nil {
			p.TransientPayload, _ = json.Marshal(map[string]*browser.Report{hooks.TransientKey: rep})
		}
		body, _ := json.Marshal(p)
		req, err := http.NewRequest(http.MethodPost, cfg.hooksURL()+"/hooks/"+string(point)+"?method="+method, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(drillHookKey))
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, time.Since(t0)
	}
	login := &browser.Report{Ceremony: kratosext.PasskeyLogin, CredentialID: claimed, Attachment: devices.AttachmentCrossPlatform}
	registration := &browser.Report{Ceremony: kratosext.PasskeyRegistration, CredentialID: claimed, Attachment: devices.AttachmentCrossPlatform}

	// With Kratos answering, for reference.
	status, b, fast := send(kratosext.AfterLogin, "passkey", ada, "ada@example.com", login)
	if status != http.StatusNoContent {
		t.Fatalf("login with Kratos answering: %d %s", status, b)
	}

	dp.delay.Store(int64(time.Minute))
	for _, tc := range []struct {
		name          string
		point         kratosext.HookPoint
		method        string
		identity      string
		email         string
		rep           *browser.Report
		want          int
		wantInBody    string
		userSeesAfter string
	}{
		{"a passkey login", kratosext.AfterLogin, "passkey", ada, "ada@example.com", login, http.StatusNoContent, "", "signed in"},
		{"a policy identity's login", kratosext.AfterLogin, "webauthn", root, "root@admin.example.com", login, http.StatusForbidden,
			fmt.Sprint(hooks.MessageCheckUnavailable), "the login page, asked to try again"},
		{"a passkey sign-up", kratosext.AfterRegistration, "passkey", ada, "ada@example.com", registration, http.StatusServiceUnavailable,
			`"code":503`, "Kratos retrying"},
	} {
		status, b, took := send(tc.point, tc.method, tc.identity, tc.email, tc.rep)
		if status != tc.want || !strings.Contains(string(b), tc.wantInBody) {
			t.Errorf("%s with Kratos' admin API hung: %d %s; want %d", tc.name, status, b, tc.want)
		}
		if took > deadline+3*time.Second {
			t.Errorf("%s answered after %v; the hook's deadline is %v", tc.name, took, deadline)
		}
		t.Logf("%s, Kratos' admin API hung: answered %d in %v (%v with Kratos answering; Kratos would wait 30 s per attempt) — the user: %s",
			tc.name, status, took.Round(time.Millisecond), fast.Round(time.Millisecond), tc.userSeesAfter)
	}

	// The sign-up as Kratos delivers it, retries included: how long until
	// the user sees the error page.
	k := newKratosClient(cfg.hooksURL())
	p := kratosext.HookPayload{FlowID: newDrillUUID(), IdentityID: ada, Traits: json.RawMessage(`{"email":"ada@example.com"}`),
		DeviceCookie: cookies.Encode(browser.NewDeviceID())}
	p.TransientPayload, _ = json.Marshal(map[string]*browser.Report{hooks.TransientKey: registration})
	body, _ := json.Marshal(p)
	si := k.deliverBody(context.Background(), kratosext.AfterRegistration, "passkey", body)
	t.Logf("the sign-up's hook, delivered as Kratos does (3 attempts): failed after %v (Kratos alone: about 90 s)", si.end.Sub(si.start).Round(time.Millisecond))
	if si.ok() || len(si.attempts) != 3 {
		t.Errorf("sign-up attempts %+v; want three refused", si.attempts)
	}
}
