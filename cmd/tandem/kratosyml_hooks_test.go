package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// TestKratosYAMLHookLists runs the repository's kratos.yml in a real Kratos
// against a receiver that only counts, and signs up and in with a password
// through Kratos' API flows: each must reach exactly one hook, the
// per-method one (Kratos replaces the global list with a method's list; it
// never merges them). The receiver accepts the key only as Kratos' api_key
// auth sends it from kratos.yml, "Authorization: Bearer <key>", and the
// key must not appear in Kratos' log, which at info level records every
// web-hook request with its headers.
func TestKratosYAMLHookLists(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Kratos")
	}
	type call struct {
		point  kratosext.HookPoint
		method string
	}
	var mu sync.Mutex
	var calls []call
	var auths, legacy []string
	recv, err := hooks.NewReceiver(hooks.ReceiverOptions{APIKeys: []string{devHookKey}}, func(_ context.Context, d hooks.Delivery) (hooks.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{d.Point, d.Method})
		return hooks.Result{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get(hooks.KeyHeader))
		legacy = append(legacy, r.Header.Values(hooks.LegacyKeyHeader)...)
		mu.Unlock()
		recv.ServeHTTP(w, r)
	}))
	defer srv.Close()
	k := kratostest.Require(t, kratostest.Options{HooksURL: srv.URL, LogLevel: "info"})

	email := uniqueEmail(t)
	const password = "hook-lists-passphrase-11"
	flow := apiFlow(t, k.PublicURL+"/self-service/registration/api")
	submit(t, flow, map[string]any{"method": "profile", "traits": map[string]string{"email": email}}, http.StatusBadRequest) // step two is shown as a 400 with the methods
	submit(t, flow, map[string]any{"method": "password", "traits": map[string]string{"email": email}, "password": password}, http.StatusOK)
	login := apiFlow(t, k.PublicURL+"/self-service/login/api")
	submit(t, login, map[string]any{"method": "password", "identifier": email, "password": password}, http.StatusOK)

	mu.Lock()
	defer mu.Unlock()
	want := []call{{kratosext.AfterRegistration, "password"}, {kratosext.AfterLogin, "password"}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("hook calls = %v, want %v (one per flow, from the method's own list)", calls, want)
	}
	for i, a := range auths {
		if a != hooks.KeyHeaderValue(devHookKey) {
			t.Errorf("delivery %d: Authorization %q, want %q", i+1, a, hooks.KeyHeaderValue(devHookKey))
		}
	}
	if len(legacy) != 0 {
		t.Errorf("Kratos still sends %s: %q", hooks.LegacyKeyHeader, legacy)
	}

	log, err := k.Log()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(log, "Dispatching webhook"); n < len(want) {
		t.Fatalf("Kratos logged %d web-hook requests, want at least %d: the check below would prove nothing", n, len(want))
	}
	if strings.Contains(log, devHookKey) {
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, devHookKey) {
				t.Errorf("Kratos' log carries the hook key: %.300s", line)
			}
		}
	}
	// Kratos logs the header, redacted: the key travelled in it.
	if !strings.Contains(log, "authorization:Value is sensitive and has been redacted") {
		t.Errorf("Kratos' web-hook log lines do not show the Authorization header redacted")
	}
}

// apiFlow creates a Kratos API flow and returns its action URL.
func apiFlow(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct {
		UI struct {
			Action string `json:"action"`
		} `json:"ui"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil || f.UI.Action == "" {
		t.Fatalf("create flow %s: %d %v", url, resp.StatusCode, err)
	}
	return f.UI.Action
}

func submit(t *testing.T, action string, body map[string]any, wantStatus int) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(action, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		var out bytes.Buffer
		out.ReadFrom(resp.Body)
		t.Fatalf("POST %s (%v): %d, want %d: %.400s", action, body["method"], resp.StatusCode, wantStatus, out.String())
	}
}
