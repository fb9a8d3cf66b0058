package main

import (
	"strings"
	"testing"
)

// TestEmailLeaks: the check TestMain runs over Tandem's log finds an
// address plainly, percent-encoded in a URL, or in any e-mail shape, and
// lets ids through.
func TestEmailLeaks(t *testing.T) {
	const used = "testflow-123@example.com"
	log := `time=… level=ERROR msg="login plan" err="Get \"http://127.0.0.1:4434/admin/identities?credentials_identifier=testflow-123%40example.com\": refused"
time=… level=WARN msg="hook: read credential" flow_id=5e0c1a2b-… identity_id=9f3c2a4e-7b1d-4c8e-a2f5-3d6b8e1c0a47
time=… level=INFO msg=x traits="{\"email\":\"testflow-123@example.com\"}"
time=… level=INFO msg=y who=someone.else@corp.example
time=… level=INFO msg="Dispatching webhook" path=/hooks/after-login`
	got := emailLeaks(log, []string{used})
	want := []int{0, 2, 3}
	if len(got) != len(want) {
		t.Fatalf("leaks = %q, want lines %v", got, want)
	}
	lines := strings.Split(log, "\n")
	for i, w := range want {
		if got[i] != lines[w] {
			t.Errorf("leak %d = %q, want line %d", i, got[i], w)
		}
	}
}
