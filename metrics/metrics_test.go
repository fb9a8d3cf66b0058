package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/metrics"
)

func mustStore(tb testing.TB) (devices.Store, string) {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(ctx, path); err != nil {
		tb.Fatal(err)
	}
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, path
}

// scrape fetches /metrics and parses it as Prometheus would.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: %d", w.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// value is the value of the series of family name with exactly labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		match := len(m.Label) == len(labels)
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestFunnelAndAdoption(t *testing.T) {
	raw, _ := mustStore(t)
	m, err := metrics.New(metrics.Options{Store: raw})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Store(raw)
	ctx := context.Background()
	laptop := devices.Device{ID: "laptop", Class: devices.ClassDesktop,
		Capabilities: devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Unsupported}}
	phone := devices.Credential{ID: "cGhvbmU", IdentityID: "alice", Type: devices.TypePasskey,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}}
	reg := devices.Registration{Key: devices.EventKey{Point: "after-registration", FlowID: "f1"}, Method: "passkey", Credential: phone, Device: laptop}
	for range 2 { // the second is a retried hook: counted once
		if _, err := s.RecordRegistration(ctx, reg); err != nil {
			t.Fatal(err)
		}
	}
	login := devices.Login{Key: devices.EventKey{Point: "after-login", FlowID: "f2"}, IdentityID: "alice", Method: "passkey",
		Device: laptop, Credential: devices.Credential{ID: "cGhvbmU", Attachment: devices.AttachmentCrossPlatform},
		Via: devices.ViaHybrid, Row: devices.LoginRow(laptop, false)}
	for range 3 {
		if _, err := s.RecordLogin(ctx, login); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RecordPrompt(ctx, devices.PromptRecord{Key: devices.EventKey{Point: "prompt", FlowID: "f2"}, DeviceID: "laptop",
		IdentityID: "alice", Prompt: devices.PromptPostCDA, Kind: devices.EventPromptSnoozed, SnoozedUntil: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReconcileCredentials(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDevice(ctx, "nobody"); err == nil {
		t.Fatal("GetDevice of an unknown device succeeded")
	}

	f := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{metrics.NameSignUps, map[string]string{"passkey": "phone", "method": "passkey"}, 1},
		{metrics.NamePasskeysAdded, map[string]string{"place": "phone"}, 1},
		{metrics.NameSignIns, map[string]string{"row": "no_local_no_autofill", "way": "phone"}, 1},
		{metrics.NameSignIns, map[string]string{"row": "local_autofill", "way": "password"}, 0},
		{metrics.NamePrompts, map[string]string{"prompt": "post_cda", "answer": "snoozed"}, 1},
		{metrics.NamePrompts, map[string]string{"prompt": "upgrade", "answer": "shown"}, 0},
		{metrics.NamePasskeysRemoved, nil, 1},
		{metrics.NameStoreOperations, map[string]string{"op": "record_login", "outcome": "ok"}, 3},
		{metrics.NameStoreOperations, map[string]string{"op": "get_device", "outcome": "not_found"}, 1},
		{metrics.NameStoreDuration, map[string]string{"op": "record_registration"}, 2},
		// The phone passkey was removed in Kratos: alice has none now.
		{metrics.NameIdentities, map[string]string{"passkeys": "none"}, 1},
		{metrics.NameIdentities, map[string]string{"passkeys": "phone_only"}, 0},
	} {
		if got := value(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestRequestMetrics(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(m.Gin("ui"))
	r.GET("/login", func(c *gin.Context) { c.String(200, "ok") })
	r.GET("/boom", func(c *gin.Context) { c.String(502, "no") })
	for _, p := range []string{"/login", "/login", "/boom", "/nowhere/9f3c2a4e"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	h := m.HTTP("internal", func(*http.Request) string { return "/hooks/after-login" },
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/hooks/after-login", nil))

	kratos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sessions/whoami" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer kratos.Close()
	client := &http.Client{Transport: m.Transport(http.DefaultTransport, func(r *http.Request) string { return "whoami" })}
	resp, err := client.Get(kratos.URL + "/sessions/whoami")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m.ObserveHook("after-login", "passkey", "recorded", time.Millisecond)

	f := scrape(t, m)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{metrics.NameHTTPRequests, map[string]string{"listener": "ui", "route": "/login", "method": "GET", "code": "200"}, 2},
		{metrics.NameHTTPRequests, map[string]string{"listener": "ui", "route": "/boom", "method": "GET", "code": "502"}, 1},
		// An unmatched path is not a label value of its own (no ids in labels).
		{metrics.NameHTTPRequests, map[string]string{"listener": "ui", "route": "unmatched", "method": "GET", "code": "404"}, 1},
		{metrics.NameHTTPRequests, map[string]string{"listener": "internal", "route": "/hooks/after-login", "method": "other", "code": "204"}, 1},
		{metrics.NameHTTPDuration, map[string]string{"listener": "ui", "route": "/login", "method": "GET"}, 2},
		{metrics.NameKratosRequests, map[string]string{"call": "whoami", "outcome": "client_error"}, 1},
		{metrics.NameHookDeliveries, map[string]string{"point": "after-login", "method": "passkey", "outcome": "recorded"}, 1},
	} {
		if got := value(t, f, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every family Tandem defines is among Names, and no label holds a path.
	known := map[string]bool{}
	for _, n := range metrics.Names() {
		known[n] = true
	}
	for name, fam := range f {
		if strings.HasPrefix(name, "tandem_") && !known[name] {
			t.Errorf("%s is exported but not in metrics.Names", name)
		}
		for _, s := range fam.Metric {
			for _, l := range s.Label {
				if strings.Contains(l.GetValue(), "9f3c2a4e") {
					t.Errorf("%s has a raw path in a label: %v", name, s.Label)
				}
			}
		}
	}
}

// touchVectors records one observation in every labelled vector that has
// no series yet, so that a scrape shows its labels.
func touchVectors(t *testing.T, m *metrics.Metrics, _ map[string]*dto.MetricFamily) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(m.Gin("ui"))
	r.GET("/x", func(c *gin.Context) { c.Status(200) })
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := &http.Client{Transport: m.Transport(http.DefaultTransport, func(*http.Request) string { return "whoami" })}
	if resp, err := c.Get(srv.URL); err == nil {
		resp.Body.Close()
	}
	store, _ := mustStore(t)
	s := m.Store(store)
	_, _ = s.GetDevice(context.Background(), "x")
}
