package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/browser"
)

func TestObserve(t *testing.T) {
	fk, _ := fixtures(t)
	// A stopped clock: the limiter's minute cannot roll over mid-test.
	// (Near the real time: the store checks expiry by its own clock.)
	now := time.Now().Truncate(time.Minute).Add(30 * time.Second)
	s, _ := newTestServerWith(t, fk, func(o *Options) { o.Now = func() time.Time { return now } })
	device := browser.NewDeviceID()
	cookie := browser.CookieName + "=" + s.cookies.Encode(device)
	const flow = "11111111-2222-3333-4444-555555555555"
	good := `{"flow_id":"` + flow + `","report":{"ceremony":"passkey_login","credential_id":"AAECAwQFBgcICQoLDA0ODw","attachment":"cross-platform","capabilities":{"webauthn":true}}}`

	post := func(body string, mutate func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/observe", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://localhost:4455")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Cookie", cookie)
		if mutate != nil {
			mutate(req)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	cases := []struct {
		name   string
		body   string
		mutate func(*http.Request)
		status int
	}{
		{"cross-site", good, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403},
		{"foreign origin", good, func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403},
		{"no origin", good, func(r *http.Request) { r.Header.Del("Origin") }, 403},
		{"form post", good, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 415},
		{"no device cookie", good, func(r *http.Request) { r.Header.Del("Cookie") }, 400},
		{"forged device cookie", good, func(r *http.Request) { r.Header.Set("Cookie", browser.CookieName+"="+device+".AAAA") }, 400},
		{"malformed json", `{"flow_id":`, nil, 400},
		{"bad flow id", strings.Replace(good, flow, "not-a-flow", 1), nil, 400},
		{"bad report", strings.Replace(good, "passkey_login", "steal", 1), nil, 400},
		{"too large", `{"flow_id":"` + flow + `","report":{"ceremony":"passkey_login","nonce":"` + strings.Repeat("x", 9000) + `"}}`, nil, 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(tc.body, tc.mutate)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if !strings.Contains(rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(rec.Body.String(), `"message"`) {
				t.Errorf("error is not a JSON error body: %q", rec.Body)
			}
			if _, err := s.store.GetObservation(context.Background(), flow, device); err == nil {
				t.Fatal("a rejected report was stored")
			}
		})
	}

	if rec := post(good, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("good report: %d %s", rec.Code, rec.Body)
	}
	o, err := s.store.GetObservation(context.Background(), flow, device)
	if err != nil {
		t.Fatalf("good report not stored: %v", err)
	}
	if ttl := o.ExpiresAt.Sub(now); ttl != observationTTL {
		t.Errorf("observation expires in %v", ttl)
	}

	// The limiter: a device gets a bounded number of reports a minute,
	// and a new minute brings a new budget.
	var limited bool
	for i := 0; i < 40; i++ {
		if post(good, nil).Code == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Error("40 reports in a minute were all accepted")
	}
	now = now.Add(time.Minute)
	if rec := post(good, nil); rec.Code != http.StatusNoContent {
		t.Errorf("a report in the next minute: %d %s", rec.Code, rec.Body)
	}
}

func TestDeviceCookieIsSetSignedAndKept(t *testing.T) {
	fk, byName := fixtures(t)
	s, _ := newTestServer(t, fk)
	rec := get(t, s.Handler(), "/login?flow="+byName["login"])
	var set *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == browser.CookieName {
			set = c
		}
	}
	if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.MaxAge <= 0 {
		t.Fatalf("device cookie = %+v", set)
	}
	if _, err := s.cookies.Decode(set.Value); err != nil {
		t.Fatalf("device cookie does not verify: %v", err)
	}
	// A browser that has one keeps it.
	req := httptest.NewRequest(http.MethodGet, "/login?flow="+byName["login"], nil)
	req.AddCookie(set)
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == browser.CookieName {
			t.Fatalf("a valid device cookie was replaced")
		}
	}
	if ch := rec.Header().Get("Accept-CH"); !strings.Contains(ch, "Sec-CH-UA-Mobile") || !strings.Contains(ch, "Sec-CH-UA-Platform") {
		t.Errorf("Accept-CH = %q", ch)
	}
}
