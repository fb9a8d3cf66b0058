package kratosext

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:4434/admin/identities?credentials_identifier=ada%40example.com": "http://127.0.0.1:4434/admin/identities?…",
		"http://user:pw@kratos:4434/admin/courier/messages?recipient=ada@example.com#x":   "http://kratos:4434/admin/courier/messages?…",
		"http://kratos:4433/sessions/whoami":                                              "http://kratos:4433/sessions/whoami",
		"http://kratos:4433/x?":                                                           "http://kratos:4433/x?…",
		"http://kratos:4433/%zz?email=ada@example.com":                                    "(unparseable URL)",
	} {
		if got := redactURL(raw); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", raw, got, want)
		}
	}
	// The URL error is redacted in place, so everything that wraps it
	// afterwards is clean (fmt.Errorf formats its message at once: redact
	// comes first).
	inner := &url.Error{Op: "Get", URL: "http://kratos/admin/identities?credentials_identifier=ada@example.com", Err: errors.New("refused")}
	err := fmt.Errorf("find identity: %w", transportError(inner))
	if got := err.Error(); got != `find identity: kratos: unavailable: Get "http://kratos/admin/identities?…": refused` {
		t.Errorf("redacted error = %q", got)
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("%v lost its sentinel", err)
	}
	if redact(nil) != nil {
		t.Error("redact(nil) is not nil")
	}
}
