package adminauth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	const key = "admin-key-0123456789"
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, tt := range []struct {
		name    string
		key     string
		headers map[string]string
		want    int
	}{
		{"bearer", key, map[string]string{"Authorization": "Bearer " + key}, 204},
		{"bearer, scheme in lower case", key, map[string]string{"Authorization": "bearer " + key}, 204},
		{"basic, any user", key, map[string]string{"Authorization": basic("alice", key)}, 204},
		{"no key", key, nil, 401},
		{"wrong bearer", key, map[string]string{"Authorization": "Bearer nope"}, 401},
		{"wrong basic", key, map[string]string{"Authorization": basic(key, "nope")}, 401},
		{"malformed basic", key, map[string]string{"Authorization": "Basic %%%"}, 401},
		{"other scheme", key, map[string]string{"Authorization": "Digest " + key}, 401},
		{"another site, with the key", key, map[string]string{"Authorization": "Bearer " + key, "Sec-Fetch-Site": "cross-site"}, 403},
		{"same site but another origin", key, map[string]string{"Authorization": "Bearer " + key, "Sec-Fetch-Site": "same-site"}, 403},
		{"another origin header", key, map[string]string{"Authorization": "Bearer " + key, "Origin": "http://evil.example"}, 403},
		{"same origin", key, map[string]string{"Authorization": "Bearer " + key, "Origin": "http://127.0.0.1:4460", "Sec-Fetch-Site": "same-origin"}, 204},
		{"typed into the address bar", key, map[string]string{"Authorization": "Bearer " + key, "Sec-Fetch-Site": "none"}, 204},
		{"no key configured", "", nil, 204},
		{"no key configured, another site", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:4460/metrics", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			New(tt.key).Wrap(ok).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if tt.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate: a browser would not ask for the key")
			}
		})
	}
}

// TestGuardRotation: while the admin key rotates, either key opens the
// guard; no other does.
func TestGuardRotation(t *testing.T) {
	const key, oldKey = "admin-key-0123456789", "old-admin-key-0123456789"
	g := New(key, oldKey)
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for k, want := range map[string]int{key: http.StatusNoContent, oldKey: http.StatusNoContent, "another-admin-key-0123": http.StatusUnauthorized} {
		r := httptest.NewRequest(http.MethodGet, "http://tandem.internal/metrics", nil)
		r.Header.Set("Authorization", "Bearer "+k)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("key %q: status %d, want %d", k, w.Code, want)
		}
	}
	if open := New(); len(open.hashes) != 0 {
		t.Error("New() with no key should turn the check off")
	}
}
