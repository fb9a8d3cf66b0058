// Package adminauth guards what the internal listener serves to operators
// (/metrics, the adoption dashboard): the admin key, in constant time, and
// no use from another origin. The key is accepted as a bearer token (for
// Prometheus and scripts) or as the password of HTTP Basic authentication
// (so that a browser asks for it); the user name is ignored.
package adminauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Guard checks requests against the admin keys: any of them verifies (the
// key is being rotated). No key turns the check off (the listener is then
// protected only by where it listens).
type Guard struct {
	hashes [][32]byte
}

// New returns a Guard for keys; none (or only "") lets every same-origin
// request through.
func New(keys ...string) *Guard {
	g := &Guard{}
	for _, k := range keys {
		if k != "" {
			g.hashes = append(g.hashes, sha256.Sum256([]byte(k)))
		}
	}
	return g
}

// Wrap refuses requests from another origin (403) and, with a key,
// requests without it (401), before next sees them.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if crossOrigin(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			http.Error(w, "refused: this page cannot be used from another site", http.StatusForbidden)
			return
		}
		if len(g.hashes) > 0 && !g.authorized(r) {
			w.Header().Add("WWW-Authenticate", `Basic realm="Tandem operators", charset="UTF-8"`)
			w.Header().Add("WWW-Authenticate", `Bearer realm="Tandem operators"`)
			http.Error(w, "the admin key is required (Authorization: Bearer <hooks.admin_key>, or any user name with it as the password)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOrigin reports a request a browser made on behalf of another site:
// its Sec-Fetch-Site says so, or its Origin is not this host. A request
// without either header (Prometheus, curl) or typed into the address bar
// (Sec-Fetch-Site: none) is not.
func crossOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return true
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return true
		}
	}
	return false
}

func (g *Guard) authorized(r *http.Request) bool {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return false
	}
	var key string
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		key = cred
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return false
		}
		_, key, ok = strings.Cut(string(raw), ":")
		if !ok {
			return false
		}
	default:
		return false
	}
	// Every key is compared, so the time says nothing of which matched.
	h := sha256.Sum256([]byte(key))
	match := 0
	for i := range g.hashes {
		match |= subtle.ConstantTimeCompare(h[:], g.hashes[i][:])
	}
	return match == 1
}
