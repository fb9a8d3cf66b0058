package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// replica is one in-process `tandem serve`.
type replica struct {
	name     string
	uiURL    string
	hooksURL string
	out      *syncBuffer
	stop     context.CancelFunc
	done     chan error
}

// replicaConfig is a tandem.yml for a replica on the given ports.
func replicaConfig(uiPort, hooksPort int, k *kratostest.Kratos, dsn string) string {
	return fmt.Sprintf(`ui:
  listen: 127.0.0.1:%d
  public_url: http://localhost:%d
  cookie_secret: e2e-cookie-secret-0123456789abcdef0123
hooks:
  listen: 127.0.0.1:%d
  api_key: %s
  admin_key: %s
kratos:
  public_url: %s
  admin_url: %s
store:
  dsn: %s
log:
  level: warn
shutdown:
  drain: 0s
`, uiPort, uiPort, hooksPort, devHookKey, adminKey, k.PublicURL, k.AdminURL, dsn)
}

// startReplica runs `tandem serve` with cfg in process and waits until
// both its listeners are ready; it stops when the test ends.
func startReplica(t *testing.T, name string, uiPort, hooksPort int, cfg string) *replica {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{name: name, uiURL: "http://localhost:" + strconv.Itoa(uiPort), hooksURL: "http://127.0.0.1:" + strconv.Itoa(hooksPort),
		out: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- run(ctx, []string{"serve", "--config", path}, func(string) string { return "" }, r.out, r.out)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("replica %s: %v", name, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("replica %s did not stop", name)
		}
		if t.Failed() {
			t.Logf("replica %s output:\n%s", name, r.out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range []string{r.uiURL + "/health/ready", r.hooksURL + "/health/ready"} {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case err := <-r.done:
				t.Fatalf("replica %s exited: %v\n%s", name, err, r.out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s not ready:\n%s", name, r.out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return r
}

// adminGet fetches an admin-key-protected path from a replica's internal
// listener.
func (r *replica) adminGet(t *testing.T, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.hooksURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", r.name, path, resp.StatusCode, body)
	}
	return string(body)
}

// TestE2EReplicasOnPostgres runs two Tandem replicas on one PostgreSQL
// schema. The browser talks to replica A; Kratos delivers its web hooks to
// replica B. A CDA sign-up through the phone, the post-CDA prompt, a
// sign-in through the phone: each step's state is written by one replica
// and acted on by the other.
func TestE2EReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if os.Getenv("TEST_POSTGRES_DSN") == "" && os.Getenv("CI") == "true" {
		t.Fatal("TEST_POSTGRES_DSN is not set, and CI=true: the replica test must run")
	}
	dsn := mustPostgresSchema(t)
	if _, err := chromiumPath(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	start := time.Now()
	ports := make([]int, 4)
	for i := range ports {
		p, err := kratostest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	uiA, hooksA, uiB, hooksB := ports[0], ports[1], ports[2], ports[3]
	mail := kratostest.RequireMailpit(t)
	k := kratostest.Require(t, kratostest.Options{
		UIURL:    "http://localhost:" + strconv.Itoa(uiA),
		HooksURL: "http://127.0.0.1:" + strconv.Itoa(hooksB), // Kratos' hooks go to B
		SMTPURL:  mail.SMTPURL,
	})
	a := startReplica(t, "A", uiA, hooksA, replicaConfig(uiA, hooksA, k, dsn))
	b := startReplica(t, "B", uiB, hooksB, replicaConfig(uiB, hooksB, k, dsn))
	client, err := kratosext.NewClient(kratosext.Options{PublicURL: k.PublicURL, AdminURL: k.AdminURL})
	if err != nil {
		t.Fatal(err)
	}
	// The browser's stack is replica A; recorded() asks B's admin API.
	s := &stack{kratos: k, mail: mail, hooksURL: b.hooksURL, tandem: client, uiURL: a.uiURL}
	br := newPromptBrowser(t, s, browserOptions{})
	phone := br.addAuthenticator(webauthn.AuthenticatorTransportCable)
	br.addAuthenticator(webauthn.AuthenticatorTransportInternal)
	email := uniqueEmail(t)

	// Sign-up through the phone: B records it (its hook), A's /continue
	// finds it in the shared store and offers the post-CDA prompt.
	promptStartSignUp(br, email, "")
	br.waitPrompt(devices.PromptPostCDA)
	id := br.requireSession(email, "passkey").Identity.ID
	phoneCount := br.signCount(phone, "the phone")

	// B, asked the same question for the same sign-in, agrees.
	br.do(chromedp.Navigate(b.uiURL + "/continue"))
	br.do(chromedp.WaitVisible(chromedp.CSS(`form[data-prompt=post_cda] button[value=later]`)))
	// "Not now", answered on A ...
	br.do(chromedp.Navigate(a.uiURL + "/continue"))
	br.waitPrompt(devices.PromptPostCDA)
	br.answerPrompt("later")
	br.waitPath("/welcome")
	// ... is honoured on B: no prompt, straight on.
	br.do(chromedp.Navigate(b.uiURL + "/continue"))
	br.waitPath("/welcome")
	if loc, _ := br.location(); !strings.HasPrefix(loc, b.uiURL+"/welcome") {
		t.Fatalf("B sent the browser to %s, want its /welcome without a prompt", loc)
	}

	// A sign-in through the phone on A; B records it; A's /continue
	// honours the snooze.
	br.signOut()
	promptSignInWithPasskey(br, email)
	br.waitPath("/welcome")
	br.requireSession(email, "passkey")
	if br.signCount(phone, "the phone") <= phoneCount {
		t.Fatal("the phone did not answer the sign-in")
	}

	// The passkey list, as each replica's admin API sees it: the same,
	// with the phone passkey used once, over hybrid.
	info := waitRecorded(t, s, id, "the sign-in through the phone", func(i identityInfo) bool {
		return len(i.Credentials) == 1 && i.Credentials[0].UseCount == 1
	})
	c := info.Credentials[0]
	if !c.PhoneHeld || c.LastUsedVia != devices.ViaHybrid {
		t.Errorf("the passkey as B recorded it: %+v", c)
	}
	fromA := a.adminGet(t, "/admin/identities/"+id+"/credentials")
	fromB := b.adminGet(t, "/admin/identities/"+id+"/credentials")
	if diff := cmp.Diff(fromB, fromA); diff != "" {
		t.Errorf("the replicas disagree on the passkeys (-B +A):\n%s", diff)
	}
	// And as the user sees it on A's settings page: the row A renders
	// from what B recorded, with the sign-in through the phone.
	br.openSettings()
	rows := br.passkeyList()
	if len(rows) != 1 {
		t.Fatalf("A's passkey list has %d rows, want the phone's: %+v", len(rows), rows)
	}
	if row := rowWhere(t, rows, "On your phone"); !strings.Contains(row.Used, "through your phone") || !strings.Contains(row.Used, "1 sign-in") {
		t.Errorf("A's list says %q of the sign-in B recorded", row.Used)
	}
	if got := promptEvents(info); !cmp.Equal(got, []string{"prompt_shown post_cda", "prompt_snoozed post_cda"}) {
		t.Errorf("prompt events %v: the sign-in through the phone must not prompt again", got)
	}

	// Counters are per replica (each counts what it recorded), the
	// adoption gauges are the shared store's.
	metricsA, metricsB := a.adminGet(t, "/metrics"), b.adminGet(t, "/metrics")
	for _, c := range []struct {
		text string
		in   string
		want bool
	}{
		{`tandem_signups_total{method="passkey",passkey="phone"} 1`, metricsB, true},
		{`tandem_signins_total{row="no_local_no_autofill",way="phone"} 1`, metricsB, true},
		{`tandem_prompts_total{answer="snoozed",prompt="post_cda"} 1`, metricsA, true},
		{`tandem_signups_total{method="passkey",passkey="phone"} 0`, metricsA, true}, // A recorded no sign-up
		{`tandem_identities{passkeys="phone_only"} 1`, metricsA, true},
		{`tandem_identities{passkeys="phone_only"} 1`, metricsB, true},
	} {
		if strings.Contains(c.in, c.text) != c.want {
			t.Errorf("metrics: %q present = %v, want %v", c.text, !c.want, c.want)
		}
	}
	t.Logf("two replicas on PostgreSQL: sign-up, prompt on both, sign-in, passkey lists (admin APIs and the settings page): %v", time.Since(start).Round(time.Millisecond))
}
