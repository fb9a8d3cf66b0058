package kratosext_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// kratosAPI answers like Kratos' public and admin APIs, one canned answer
// per path, and records what it was asked. It stands in for Kratos below
// the e2e tests, which run the real one.
type kratosAPI struct {
	mu       sync.Mutex
	answers  map[string]answer // "METHOD /path" → answer
	requests []*http.Request
}

type answer struct {
	status int
	body   string
}

func newKratosAPI(tb testing.TB) (*kratosAPI, *kratosext.Client) {
	tb.Helper()
	k := &kratosAPI{answers: map[string]answer{}}
	srv := httptest.NewServer(k)
	tb.Cleanup(srv.Close)
	c, err := kratosext.NewClient(kratosext.Options{PublicURL: "http://localhost:4433", InternalURL: srv.URL, AdminURL: srv.URL + "/"})
	if err != nil {
		tb.Fatal(err)
	}
	return k, c
}

func (k *kratosAPI) on(method, path string, status int, body string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.answers[method+" "+path] = answer{status, body}
}

func (k *kratosAPI) last() *http.Request {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.requests) == 0 {
		return nil
	}
	return k.requests[len(k.requests)-1]
}

func (k *kratosAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.requests = append(k.requests, r.Clone(context.Background()))
	a, ok := k.answers[r.Method+" "+r.URL.Path]
	k.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"code":404,"status":"Not Found","message":"no such route in the test"}}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

const loginFlow = `{"id":"f1","type":"browser","expires_at":"2025-03-01T12:30:00Z","issued_at":"2025-03-01T12:00:00Z",
	"request_url":"http://localhost:4433/self-service/login/browser","ui":{"action":"http://localhost:4433/self-service/login?flow=f1","method":"POST","nodes":[]}}`

// TestGetFlowAnswers: each Kratos answer maps to the error the UI acts on.
func TestGetFlowAnswers(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		body           string
		want           error
		wantRedirect   string
		wantUseFlowID  string
		wantAPIErrorID string
	}{
		{"flow", 200, loginFlow, nil, "", "", ""},
		{"no session", 401, `{"error":{"code":401,"id":"session_inactive","reason":"No active session was found."}}`, kratosext.ErrNoSession, "", "", "session_inactive"},
		{"second factor needed", 403, `{"error":{"code":403,"id":"session_aal2_required","reason":"An AAL2 session is required."},
			"redirect_browser_to":"http://localhost:4433/self-service/login/browser?aal=aal2"}`, kratosext.ErrNoSession,
			"http://localhost:4433/self-service/login/browser?aal=aal2", "", "session_aal2_required"},
		{"refresh needed, redirect in details", 403, `{"error":{"code":403,"id":"session_refresh_required",
			"details":{"redirect_to":"http://localhost:4433/self-service/login/browser?refresh=true"}}}`, kratosext.ErrNoSession,
			"http://localhost:4433/self-service/login/browser?refresh=true", "", "session_refresh_required"},
		{"CSRF violation", 403, `{"error":{"code":403,"id":"security_csrf_violation","reason":"Please retry the flow."}}`, kratosext.ErrFlowGone, "", "", "security_csrf_violation"},
		{"unknown flow", 404, `{"error":{"code":404,"status":"Not Found"}}`, kratosext.ErrFlowGone, "", "", ""},
		{"expired flow", 410, `{"error":{"code":410,"id":"self_service_flow_expired","details":{"use_flow_id":"f2"}}}`, kratosext.ErrFlowGone, "", "f2", "self_service_flow_expired"},
		{"replaced flow, top-level id", 410, `{"error":{"code":410,"id":"self_service_flow_replaced"},"use_flow_id":"f3"}`, kratosext.ErrFlowGone, "", "f3", "self_service_flow_replaced"},
		{"Kratos failing", 500, `{"error":{"code":500,"message":"database is locked"}}`, kratosext.ErrUnavailable, "", "", ""},
		{"Kratos overloaded, not JSON", 503, `upstream overloaded`, kratosext.ErrUnavailable, "", "", ""},
		{"a flow that is not JSON", 200, `<html>`, kratosext.ErrUnavailable, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, c := newKratosAPI(t)
			k.on("GET", "/self-service/login/flows", tt.status, tt.body)
			f, err := c.GetFlow(context.Background(), kratosext.Login, "f1 &x=y", "csrf_token_abc=1; ory_kratos_session=s")
			if tt.want == nil {
				if err != nil || f.ID != "f1" || f.UI.Action == "" {
					t.Fatalf("GetFlow = %+v, %v", f, err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("GetFlow error = %v, want %v", err, tt.want)
			}
			var apiErr *kratosext.APIError
			if tt.status != 200 && tt.status < 500 {
				if !errors.As(err, &apiErr) || apiErr.Status != tt.status || apiErr.ID != tt.wantAPIErrorID ||
					apiErr.RedirectTo != tt.wantRedirect || apiErr.UseFlowID != tt.wantUseFlowID {
					t.Errorf("APIError = %+v, want status %d, id %q, redirect %q, use_flow_id %q", apiErr, tt.status, tt.wantAPIErrorID, tt.wantRedirect, tt.wantUseFlowID)
				}
			}
			r := k.last()
			if r.URL.Query().Get("id") != "f1 &x=y" || r.URL.Query().Get("x") != "" {
				t.Errorf("flow id sent as %q: not escaped", r.URL.RawQuery)
			}
			if got := r.Header.Get("Cookie"); got != "csrf_token_abc=1; ory_kratos_session=s" {
				t.Errorf("Cookie forwarded as %q, want it verbatim", got)
			}
		})
	}
	t.Run("unknown kind", func(t *testing.T) {
		_, c := newKratosAPI(t)
		if _, err := c.GetFlow(context.Background(), "logout", "f1", ""); err == nil {
			t.Error("GetFlow of an unknown kind succeeded")
		}
	})
}

func TestWhoamiAndErrors(t *testing.T) {
	k, c := newKratosAPI(t)
	k.on("GET", "/sessions/whoami", 200, `{"id":"s1","active":true,"authenticator_assurance_level":"aal1",
		"authentication_methods":[{"method":"password","aal":"aal1","completed_at":"2025-03-01T12:00:00Z"},{"method":"passkey","aal":"aal1","completed_at":"2025-03-01T12:05:00Z"}],
		"identity":{"id":"i1","schema_id":"default","traits":{"email":"ada@example.com"}}}`)
	s, err := c.Whoami(context.Background(), "ory_kratos_session=s")
	if err != nil || s.Identity.ID != "i1" || s.Identity.Email() != "ada@example.com" || s.LastMethod() != "passkey" {
		t.Fatalf("Whoami = %+v, %v", s, err)
	}
	k.on("GET", "/sessions/whoami", 401, `{"error":{"code":401,"id":"session_inactive"}}`)
	if _, err := c.Whoami(context.Background(), ""); !errors.Is(err, kratosext.ErrNoSession) {
		t.Errorf("Whoami without a session = %v, want ErrNoSession", err)
	}
	k.on("GET", "/self-service/errors", 200, `{"id":"e1","error":{"code":500,"status":"Internal Server Error","reason":"stub"}}`)
	if e, err := c.GetError(context.Background(), "e1"); err != nil || e.Error.Code != 500 || e.Error.Reason != "stub" {
		t.Errorf("GetError = %+v, %v", e, err)
	}
	k.on("GET", "/self-service/errors", 404, `{"error":{"code":404}}`)
	if _, err := c.GetError(context.Background(), "e2"); !errors.Is(err, kratosext.ErrFlowGone) {
		t.Errorf("GetError of an unknown id = %v, want ErrFlowGone", err)
	}
	k.on("GET", "/health/ready", 200, `{"status":"ok"}`)
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("Ready = %v", err)
	}
	k.on("GET", "/health/ready", 503, `{"errors":{"database":"down"}}`)
	if err := c.Ready(context.Background()); !errors.Is(err, kratosext.ErrUnavailable) {
		t.Errorf("Ready when not ready = %v, want ErrUnavailable", err)
	}
}

// TestHungKratos: a Kratos that accepts the request and never answers is
// a timeout, for the lean client and the SDK calls alike, bounded by the
// client's timeout.
func TestHungKratos(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := kratosext.NewClient(kratosext.Options{PublicURL: srv.URL, AdminURL: srv.URL, Timeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := map[string]func() error{
		"GetFlow":              func() error { _, err := c.GetFlow(ctx, kratosext.Login, "f1", ""); return err },
		"Whoami":               func() error { _, err := c.Whoami(ctx, ""); return err },
		"IdentityCredentials":  func() error { _, err := c.IdentityCredentials(ctx, "i1"); return err },
		"IdentityByIdentifier": func() error { _, err := c.IdentityByIdentifier(ctx, "ada@example.com"); return err },
		"OtherSessions":        func() error { _, err := c.OtherSessions(ctx, "ory_kratos_session=s"); return err },
	}
	for name, call := range calls {
		t0 := time.Now()
		err := call()
		if !errors.Is(err, kratosext.ErrTimeout) {
			t.Errorf("%s against a hung Kratos = %v, want ErrTimeout", name, err)
		}
		if took := time.Since(t0); took > 5*time.Second {
			t.Errorf("%s took %v; the client's timeout is 150ms", name, took)
		}
		if strings.Contains(fmt.Sprint(err), "ada@example.com") {
			t.Errorf("%s: the error carries the e-mail address: %v", name, err)
		}
	}
	// The caller's deadline counts too.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.IdentityCredentials(short, "i1"); !errors.Is(err, kratosext.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("IdentityCredentials past the caller's deadline = %v, want ErrTimeout wrapping DeadlineExceeded", err)
	}
}

// TestErrorsCarryNoQuery: a transport error names the URL, and the query
// of an admin look-up holds the e-mail address; no error kratosext
// returns carries it.
func TestErrorsCarryNoQuery(t *testing.T) {
	// A port nothing listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	c, err := kratosext.NewClient(kratosext.Options{PublicURL: dead, AdminURL: "http://user:secret@" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const email = "ada.lovelace+tandem@example.com"
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for name, call := range map[string]func() error{
		"IdentityByIdentifier":           func() error { _, err := c.IdentityByIdentifier(ctx, email); return err },
		"IdentityByIdentifier cancelled": func() error { _, err := c.IdentityByIdentifier(cancelled, email); return err },
		"CourierMessages":                func() error { _, err := c.CourierMessages(ctx, email); return err },
		"GetFlow":                        func() error { _, err := c.GetFlow(ctx, kratosext.Login, "f1", ""); return err },
		"LogoutURL":                      func() error { _, err := c.LogoutURL(ctx, "s=1", "http://localhost/?email="+email); return err },
	} {
		err := call()
		if err == nil {
			t.Fatalf("%s against a closed port succeeded", name)
		}
		msg := err.Error()
		for _, leak := range []string{email, "ada.lovelace", "credentials_identifier=", "recipient=", "secret"} {
			if strings.Contains(msg, leak) {
				t.Errorf("%s: error %q carries %q", name, msg, leak)
			}
		}
		if name != "IdentityByIdentifier cancelled" && !errors.Is(err, kratosext.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
		if name == "IdentityByIdentifier cancelled" && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
		// The error still says where it went, without the query.
		if !strings.Contains(msg, ln.Addr().String()) || (name != "LogoutURL" && !strings.Contains(msg, "?…")) {
			t.Errorf("%s: error %q lost the host or the sign of a query", name, msg)
		}
	}
}

// TestIdentityCredentials: Kratos' admin answer for an identity with a
// passkey and a security key decodes to both, and each id converts to the
// same credential from the admin API's encoding (standard base64), the
// browser's (base64url) and the settings removal value (hex).
func TestIdentityCredentials(t *testing.T) {
	k, c := newKratosAPI(t)
	pkRaw := []byte("\x81\xb5\x1a\xc4\xb3\x7b\x89\x43\x71\xe7\xec\xfb\xec\x85\x88\x54\x2e\x89\xee\x72\x21\x0c\xd2\xea\x93\x9a\x12\x5f\xeb\x97\x3a\xde")
	keyRaw := []byte("security-key-credential-id-0001")
	aaguid := base64.StdEncoding.EncodeToString([]byte("\xea\x9b\x8d\x66\x4d\x01\x1d\x21\x3c\xe4\xb6\xb4\x8c\xb5\x75\xd4"))
	k.on("GET", "/admin/identities/i1", 200, fmt.Sprintf(`{"id":"i1","schema_id":"default","traits":{"email":"ada@example.com"},
		"credentials":{
		  "password":{"type":"password","identifiers":["ada@example.com"],"config":{"hashed_password":"x"}},
		  "passkey":{"type":"passkey","identifiers":["handle"],"config":{"credentials":[
		    {"id":%q,"display_name":"","added_at":"2025-03-01T12:00:00Z","is_passwordless":true,
		     "authenticator":{"aaguid":%q,"sign_count":0,"clone_warning":false},
		     "flags":{"user_present":true,"user_verified":true,"backup_eligible":true,"backup_state":true}}],"user_handle":"aGFuZGxl"}},
		  "webauthn":{"type":"webauthn","identifiers":["i1"],"config":{"credentials":[
		    {"id":%q,"display_name":"My key","added_at":"2025-03-02T08:00:00Z","is_passwordless":false,
		     "authenticator":{"aaguid":"AAAAAAAAAAAAAAAAAAAAAA==","sign_count":3},
		     "flags":{"user_present":true,"user_verified":false,"backup_eligible":false,"backup_state":false}}]}}}}`,
		base64.StdEncoding.EncodeToString(pkRaw), aaguid, base64.StdEncoding.EncodeToString(keyRaw)))
	got, err := c.IdentityCredentials(context.Background(), "i1")
	if err != nil {
		t.Fatal(err)
	}
	if q := k.last().URL.Query()["include_credential"]; !cmp.Equal(q, []string{"passkey", "webauthn"}) {
		t.Errorf("include_credential = %q, want passkey and webauthn (Kratos omits credentials otherwise)", q)
	}
	want := []kratosext.WebAuthnCredential{
		{Type: "passkey", ID: base64.StdEncoding.EncodeToString(pkRaw), AAGUID: aaguid, AddedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
			IsPasswordless: true, BackupEligible: true, BackupState: true, UserHandle: base64.RawURLEncoding.EncodeToString([]byte("handle"))},
		{Type: "webauthn", ID: base64.StdEncoding.EncodeToString(keyRaw), AAGUID: "AAAAAAAAAAAAAAAAAAAAAA==", DisplayName: "My key",
			AddedAt: time.Date(2025, 3, 2, 8, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("credentials (-want +got):\n%s", diff)
	}
	for i, raw := range [][]byte{pkRaw, keyRaw} {
		fromAdmin, err := devices.CredentialIDFromAdmin(got[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		fromBrowser, err := devices.CredentialIDFromBrowser(base64.RawURLEncoding.EncodeToString(raw))
		if err != nil {
			t.Fatal(err)
		}
		fromRemove, err := devices.CredentialIDFromRemoveValue(hex.EncodeToString(raw))
		if err != nil {
			t.Fatal(err)
		}
		if fromAdmin != fromBrowser || fromAdmin != fromRemove || fromAdmin.AdminEncoding() != got[i].ID || fromAdmin.RemoveValue() != hex.EncodeToString(raw) {
			t.Errorf("%s: admin %s, browser %s, remove value %s do not name one credential", got[i].Type, fromAdmin, fromBrowser, fromRemove)
		}
	}
	if a, err := devices.ParseAAGUID(got[0].AAGUID); err != nil || a != "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4" {
		t.Errorf("passkey AAGUID %q parses to %q, %v", got[0].AAGUID, a, err)
	}

	// No WebAuthn credentials at all (a password account): none, no error.
	k.on("GET", "/admin/identities/i2", 200, `{"id":"i2","schema_id":"default","traits":{},"credentials":{"password":{"type":"password","config":{}}}}`)
	if got, err := c.IdentityCredentials(context.Background(), "i2"); err != nil || len(got) != 0 {
		t.Errorf("a password account: %+v, %v; want none", got, err)
	}
	if _, err := c.IdentityCredentials(context.Background(), "unknown"); !errors.Is(err, kratosext.ErrIdentityNotFound) {
		t.Errorf("an unknown identity: %v, want ErrIdentityNotFound", err)
	}
	k.on("GET", "/admin/identities/i3", 200, `{"id":"i3","credentials":{"passkey":{"type":"passkey","config":{"credentials":"not a list"}}}}`)
	if _, err := c.IdentityCredentials(context.Background(), "i3"); err == nil {
		t.Error("an undecodable credential list decoded")
	}
	k.on("GET", "/admin/identities/i4", 503, `{"error":{"code":503}}`)
	if _, err := c.IdentityCredentials(context.Background(), "i4"); !errors.Is(err, kratosext.ErrUnavailable) {
		t.Errorf("Kratos failing: %v, want ErrUnavailable", err)
	}
}

// TestSDKCalls: the calls made through kratos-client-go send what Kratos
// expects and decode what it answers.
func TestSDKCalls(t *testing.T) {
	ctx := context.Background()
	k, c := newKratosAPI(t)
	const cookie = "ory_kratos_session=abc; csrf_token_x=y"

	k.on("GET", "/admin/identities", 200, `[{"id":"i1","schema_id":"default","schema_url":"http://localhost:4433/schemas/ZGVmYXVsdA","traits":{"email":"ada@example.com"}}]`)
	id, err := c.IdentityByIdentifier(ctx, "ada@example.com")
	if err != nil || id != "i1" || k.last().URL.Query().Get("credentials_identifier") != "ada@example.com" {
		t.Errorf("IdentityByIdentifier = %q, %v (query %q)", id, err, k.last().URL.RawQuery)
	}
	k.on("GET", "/admin/identities", 200, `[]`)
	if _, err := c.IdentityByIdentifier(ctx, "nobody@example.com"); !errors.Is(err, kratosext.ErrIdentityNotFound) {
		t.Errorf("IdentityByIdentifier of nobody = %v, want ErrIdentityNotFound", err)
	}
	k.on("GET", "/admin/identities", 500, `{"error":{"code":500}}`)
	if _, err := c.IdentityByIdentifier(ctx, "ada@example.com"); !errors.Is(err, kratosext.ErrUnavailable) {
		t.Errorf("IdentityByIdentifier with Kratos failing = %v, want ErrUnavailable", err)
	}

	k.on("GET", "/self-service/logout/browser", 200, `{"logout_url":"http://localhost:4433/self-service/logout?token=t","logout_token":"t"}`)
	u, err := c.LogoutURL(ctx, cookie, "http://localhost:4455/login")
	if r := k.last(); err != nil || u != "http://localhost:4433/self-service/logout?token=t" || r.Header.Get("Cookie") != cookie ||
		r.URL.Query().Get("return_to") != "http://localhost:4455/login" {
		t.Errorf("LogoutURL = %q, %v (cookie %q, query %q)", u, err, r.Header.Get("Cookie"), r.URL.RawQuery)
	}
	k.on("GET", "/self-service/logout/browser", 401, `{"error":{"code":401,"id":"session_inactive"}}`)
	if _, err := c.LogoutURL(ctx, "", ""); !errors.Is(err, kratosext.ErrNoSession) {
		t.Errorf("LogoutURL without a session = %v, want ErrNoSession", err)
	}

	k.on("GET", "/sessions", 200, `[{"id":"s2","active":true,"authenticated_at":"2025-03-01T12:00:00Z","issued_at":"2025-03-01T12:00:00Z",
		"expires_at":"2025-03-31T12:00:00Z","authentication_methods":[{"method":"passkey","aal":"aal1","completed_at":"2025-03-01T12:00:00Z"}],
		"devices":[{"id":"d1","user_agent":"Mozilla/5.0 (Android)","ip_address":"192.0.2.1","location":"Paris, FR"}]}]`)
	sessions, err := c.OtherSessions(ctx, cookie)
	wantSessions := []kratosext.SessionSummary{{ID: "s2", Active: true,
		AuthenticatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), IssuedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		ExpiresAt:             time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC),
		AuthenticationMethods: []kratosext.AuthenticationMethod{{Method: "passkey", AAL: "aal1", CompletedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}},
		Devices:               []kratosext.SessionDevice{{UserAgent: "Mozilla/5.0 (Android)", IPAddress: "192.0.2.1", Location: "Paris, FR"}}}}
	if diff := cmp.Diff(wantSessions, sessions); err != nil || diff != "" {
		t.Errorf("OtherSessions: %v (-want +got):\n%s", err, diff)
	}
	if r := k.last(); r.Header.Get("Cookie") != cookie || r.URL.Query().Get("page_size") != "250" {
		t.Errorf("OtherSessions sent cookie %q, query %q", r.Header.Get("Cookie"), r.URL.RawQuery)
	}

	k.on("DELETE", "/sessions/s2", 204, ``)
	if err := c.RevokeSession(ctx, cookie, "s2"); err != nil || k.last().Header.Get("Cookie") != cookie {
		t.Errorf("RevokeSession = %v", err)
	}
	k.on("DELETE", "/sessions/s9", 404, `{"error":{"code":404}}`)
	if err := c.RevokeSession(ctx, cookie, "s9"); err == nil {
		t.Error("revoking an unknown session succeeded")
	}
	k.on("DELETE", "/sessions", 200, `{"count":3}`)
	if n, err := c.RevokeOtherSessions(ctx, cookie); err != nil || n != 3 {
		t.Errorf("RevokeOtherSessions = %d, %v; want 3", n, err)
	}

	k.on("GET", "/admin/courier/messages", 200, `[{"id":"m1","recipient":"ada@example.com","subject":"Recover access","body":"code 123456",
		"status":"sent","type":"email","template_type":"recovery_code_valid","send_count":1,
		"created_at":"2025-03-01T12:00:00Z","updated_at":"2025-03-01T12:00:01Z"}]`)
	msgs, err := c.CourierMessages(ctx, "ada@example.com")
	wantMsgs := []kratosext.CourierMessage{{ID: "m1", Recipient: "ada@example.com", Subject: "Recover access", Body: "code 123456",
		Status: "sent", CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}}
	if diff := cmp.Diff(wantMsgs, msgs); err != nil || diff != "" {
		t.Errorf("CourierMessages: %v (-want +got):\n%s", err, diff)
	}
	if q := k.last().URL.Query().Get("recipient"); q != "ada@example.com" {
		t.Errorf("CourierMessages recipient = %q", q)
	}
	// An answer the SDK cannot read is Kratos failing, not success.
	k.on("GET", "/admin/courier/messages", 200, `[{"id":"m2"}]`)
	if _, err := c.CourierMessages(ctx, "ada@example.com"); !errors.Is(err, kratosext.ErrUnavailable) {
		t.Errorf("an unreadable courier answer = %v, want ErrUnavailable", err)
	}
}
