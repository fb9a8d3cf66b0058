package ui

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/cascadia"
	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/kratosext"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// fakeKratos serves flow JSON the way Kratos' public API does. It stands
// in for Kratos only below the browser tests, which run the real one.
type fakeKratos struct {
	flows map[string][]byte // id → flow JSON
	kinds map[string]string // id → kind
	// identities are the admin API's, by e-mail address → identity id.
	identities map[string]string
	down       bool
}

func (f *fakeKratos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down {
		http.Error(w, `{"error":{"code":503}}`, http.StatusServiceUnavailable)
		return
	}
	switch {
	case r.URL.Path == "/health/ready":
		w.Write([]byte(`{"status":"ok"}`))
	case strings.HasPrefix(r.URL.Path, "/self-service/") && strings.HasSuffix(r.URL.Path, "/flows"):
		id := r.URL.Query().Get("id")
		kind := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/self-service/"), "/flows")
		body, ok := f.flows[id]
		if !ok || f.kinds[id] != kind {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":404,"status":"Not Found","message":"Unable to locate the resource"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	case r.URL.Path == "/self-service/errors":
		if r.URL.Query().Get("id") != "stub:500" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"code":404}}`))
			return
		}
		w.Write([]byte(`{"id":"stub:500","error":{"code":500,"status":"Internal Server Error","reason":"This is a stub error.","message":"An internal server error occurred, please contact the system administrator"}}`))
	case r.URL.Path == "/admin/identities":
		w.Header().Set("Content-Type", "application/json")
		id, ok := f.identities[r.URL.Query().Get("credentials_identifier")]
		if !ok {
			w.Write([]byte(`[]`))
			return
		}
		fmt.Fprintf(w, `[{"id":%q,"schema_id":"default","schema_url":"http://localhost:4433/schemas/default","traits":{}}]`, id)
	case r.URL.Path == "/sessions/whoami":
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":401,"id":"session_inactive"}}`))
	default:
		http.NotFound(w, r)
	}
}

// fixtures loads kratosext/testdata/flows: flows captured from Kratos
// v1.3.1 with this repository's kratos.yml.
func fixtures(tb testing.TB) (*fakeKratos, map[string]string) {
	tb.Helper()
	files, err := filepath.Glob("../kratosext/testdata/flows/*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	fk := &fakeKratos{flows: map[string][]byte{}, kinds: map[string]string{}}
	byName := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			tb.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		kind := name
		if i := strings.IndexByte(name, '_'); i > 0 {
			kind = name[:i]
		}
		fk.flows[head.ID] = b
		fk.kinds[head.ID] = kind
		byName[name] = head.ID
	}
	return fk, byName
}

func newTestServer(tb testing.TB, kratos http.Handler) (*Server, *httptest.Server) {
	tb.Helper()
	return newTestServerWith(tb, kratos, nil)
}

// newTestServerWith is newTestServer with the options adjusted by edit
// (a clock, prompt settings) before the server is built.
func newTestServerWith(tb testing.TB, kratos http.Handler, edit func(*Options)) (*Server, *httptest.Server) {
	tb.Helper()
	k := httptest.NewServer(kratos)
	tb.Cleanup(k.Close)
	client, err := kratosext.NewClient(kratosext.Options{PublicURL: "http://localhost:4433", InternalURL: k.URL, AdminURL: k.URL})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		tb.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	cookies, err := browser.NewCookieCodec(strings.Repeat("s", 32))
	if err != nil {
		tb.Fatal(err)
	}
	o := Options{Kratos: client, Store: store, Cookies: cookies, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://localhost:4455"}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		tb.Fatal(err)
	}
	return s, k
}

func get(tb testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Cookie", "csrf_token_x=abc")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var (
	nonceAttr    = regexp.MustCompile(`nonce="[^"]*"`)
	assetVersion = regexp.MustCompile(`\?v=[0-9a-f]+`)
)

// normalize removes what changes on every run or every style edit.
func normalize(b string) string {
	b = nonceAttr.ReplaceAllString(b, `nonce="NONCE"`)
	return assetVersion.ReplaceAllString(b, "?v=VERSION")
}

func TestFlowPagesGolden(t *testing.T) {
	fk, byName := fixtures(t)
	s, _ := newTestServer(t, fk)
	for name, id := range byName {
		t.Run(name, func(t *testing.T) {
			rec := get(t, s.Handler(), "/"+fk.kinds[id]+"?flow="+id)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, body:\n%s", rec.Code, rec.Body)
			}
			got := normalize(rec.Body.String())
			golden := filepath.Join("testdata", "golden", name+".html")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./ui -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func parse(tb testing.TB, body string) *html.Node {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	return doc
}

func queryAll(doc *html.Node, sel string) []*html.Node {
	return cascadia.QueryAll(doc, cascadia.MustCompile(sel))
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func TestLoginPageIsPasskeyFirst(t *testing.T) {
	fk, byName := fixtures(t)
	s, _ := newTestServer(t, fk)
	rec := get(t, s.Handler(), "/login?flow="+byName["login"])
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	doc := parse(t, rec.Body.String())

	form := queryAll(doc, "form[data-flow=login]")
	if len(form) != 1 {
		t.Fatalf("want one login form, got %d", len(form))
	}
	if got := attr(form[0], "action"); !strings.HasPrefix(got, "http://localhost:4433/self-service/login?flow=") {
		t.Errorf("form action %q does not post to Kratos", got)
	}
	if _, ok := getAttr(form[0], "novalidate"); !ok {
		t.Error("form lacks novalidate: the required password would block passkey submits")
	}
	buttons := queryAll(doc, "form button")
	if len(buttons) == 0 || attr(buttons[0], "data-ceremony") != "passkey_login" {
		t.Fatalf("the first button is not the passkey button")
	}
	// No User-Agent reads as a desktop: the passkey is on the phone.
	if got := text(buttons[0]); got != "Sign in with your phone" {
		t.Errorf("passkey button reads %q", got)
	}
	id := queryAll(doc, `input[name=identifier]`)
	if len(id) != 1 || attr(id[0], "autocomplete") != "username webauthn" {
		t.Errorf("identifier must carry autocomplete=\"username webauthn\" for autofill")
	}
	pw := queryAll(doc, "details[data-another] input[name=password]")
	if len(pw) != 1 {
		t.Errorf("password must sit behind \"Sign in another way\"")
	}
	if s := queryAll(doc, "details[data-another] > summary"); len(s) != 1 || text(s[0]) != "Sign in another way" {
		t.Errorf("missing \"Sign in another way\"")
	}
	for _, n := range queryAll(doc, "*") {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has an inline handler %s", n.Data, a.Key)
			}
		}
	}
	scripts := queryAll(doc, "script")
	for _, sc := range scripts {
		if attr(sc, "src") == "" && attr(sc, "type") != "application/json" {
			t.Errorf("inline executable script found: %q", text(sc))
		}
		if strings.Contains(attr(sc, "src"), "webauthn.js") {
			t.Error("Kratos' webauthn.js must not be loaded")
		}
	}
	// The ceremony data parses and carries Kratos' challenge.
	data := queryAll(doc, "script#tandem-data")
	if len(data) != 1 {
		t.Fatal("no #tandem-data")
	}
	var pd struct {
		FlowID     string `json:"flowId"`
		Ceremonies map[string]struct {
			Result      string         `json:"result"`
			Conditional bool           `json:"conditional"`
			Get         map[string]any `json:"get"`
		} `json:"ceremonies"`
	}
	if err := json.Unmarshal([]byte(text(data[0])), &pd); err != nil {
		t.Fatalf("tandem-data: %v", err)
	}
	c, ok := pd.Ceremonies["passkey_login"]
	if !ok || c.Result != "passkey_login" || !c.Conditional || c.Get["challenge"] == "" {
		t.Errorf("passkey_login ceremony = %+v", c)
	}
	if pd.FlowID != byName["login"] {
		t.Errorf("flowId = %q", pd.FlowID)
	}

	csp := rec.Header().Get("Content-Security-Policy")
	nonce := attr(data[0], "nonce")
	if nonce == "" || !strings.Contains(csp, "script-src 'nonce-"+nonce+"'") {
		t.Errorf("CSP %q does not allow the page's nonce %q", csp, nonce)
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %q", csp)
	}
	if !strings.Contains(csp, "form-action 'self' http://localhost:4433") {
		t.Errorf("CSP form-action must allow Kratos: %q", csp)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, pages carry CSRF tokens", got)
	}
}

func getAttr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func TestSettingsRendersEveryNodeType(t *testing.T) {
	fk, byName := fixtures(t)
	s, _ := newTestServer(t, fk)

	doc := parse(t, get(t, s.Handler(), "/settings?flow="+byName["settings"]).Body.String())
	img := queryAll(doc, "img#totp_qr")
	if len(img) != 1 || !strings.HasPrefix(attr(img[0], "src"), "data:image/png;base64,") {
		t.Errorf("TOTP QR image not rendered with its data URL")
	}
	if n := queryAll(doc, "#totp_secret_key code"); len(n) != 1 || text(n[0]) == "" {
		t.Errorf("TOTP secret text not rendered")
	}
	sections := queryAll(doc, "section[data-group]")
	if len(sections) == 0 || attr(sections[0], "data-group") != "passkey" {
		t.Errorf("passkey section is not first in settings")
	}

	doc = parse(t, get(t, s.Handler(), "/settings?flow="+byName["settings_lookup"]).Body.String())
	codes := queryAll(doc, "#lookup_secret_codes li code")
	if len(codes) != 12 {
		t.Errorf("want 12 recovery codes, got %d", len(codes))
	}
}

func TestNodeTextIsEscaped(t *testing.T) {
	hostile := `<script>alert(1)</script>`
	flow := map[string]any{
		"id": "11111111-2222-3333-4444-555555555555", "type": "browser",
		"expires_at": "2030-01-01T00:00:00Z", "issued_at": "2020-01-01T00:00:00Z", "request_url": "http://x",
		"ui": map[string]any{
			"action": "http://localhost:4433/self-service/login?flow=1", "method": "POST",
			"messages": []any{map[string]any{"id": 1, "text": hostile, "type": "error"}},
			"nodes": []any{
				map[string]any{"type": "input", "group": "default", "attributes": map[string]any{
					"node_type": "input", "name": "identifier", "type": "text",
					"value": `"><img src=x onerror=alert(1)>`,
				}, "meta": map[string]any{"label": map[string]any{"id": 1, "text": hostile}}},
				map[string]any{"type": "text", "group": "default", "attributes": map[string]any{
					"node_type": "text", "id": "t", "text": map[string]any{"id": 2, "text": hostile},
				}, "meta": map[string]any{}},
				map[string]any{"type": "a", "group": "default", "attributes": map[string]any{
					"node_type": "a", "id": "a", "href": "javascript:alert(1)", "title": map[string]any{"id": 3, "text": hostile},
				}, "meta": map[string]any{}},
				map[string]any{"type": "img", "group": "default", "attributes": map[string]any{
					"node_type": "img", "id": "i", "src": "javascript:alert(1)",
				}, "meta": map[string]any{}},
			},
		},
	}
	b, _ := json.Marshal(flow)
	fk := &fakeKratos{flows: map[string][]byte{"11111111-2222-3333-4444-555555555555": b},
		kinds: map[string]string{"11111111-2222-3333-4444-555555555555": "login"}}
	s, _ := newTestServer(t, fk)
	rec := get(t, s.Handler(), "/login?flow=11111111-2222-3333-4444-555555555555")
	body := rec.Body.String()
	doc := parse(t, body)
	for _, sc := range queryAll(doc, "script") {
		if attr(sc, "src") == "" && attr(sc, "type") != "application/json" {
			t.Fatalf("hostile text became a script element")
		}
	}
	for _, n := range queryAll(doc, "*") {
		if _, ok := getAttr(n, "onerror"); ok {
			t.Fatalf("hostile value became an attribute: %s", body)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("hostile text not shown as text")
	}
	for _, a := range queryAll(doc, "a#a") {
		if strings.HasPrefix(attr(a, "href"), "javascript:") {
			t.Errorf("javascript: href rendered")
		}
	}
	if len(queryAll(doc, "img#i")) != 0 {
		t.Errorf("javascript: image rendered")
	}
}

func TestBadInput(t *testing.T) {
	fk, byName := fixtures(t)
	s, _ := newTestServer(t, fk)
	cases := []struct {
		name, target string
		status       int
		location     string // prefix
	}{
		{"no flow starts one", "/login?return_to=http%3A%2F%2Flocalhost%3A4455%2Fwelcome&aal=aal1&evil=1", 303,
			// A sign-in returns through /continue, which checks the inner
			// return_to against Tandem's own allowed list.
			"http://localhost:4433/self-service/login/browser?aal=aal1&return_to=http%3A%2F%2Flocalhost%3A4455%2Fcontinue%3Freturn_to%3Dhttp%253A%252F%252Flocalhost%253A4455%252Fwelcome"},
		{"settings keeps its return_to", "/settings?return_to=http%3A%2F%2Flocalhost%3A4455%2Fwelcome", 303,
			"http://localhost:4433/self-service/settings/browser?return_to=http%3A%2F%2Flocalhost%3A4455%2Fwelcome"},
		{"unknown flow starts a new one", "/login?flow=00000000-0000-0000-0000-000000000000", 303,
			"http://localhost:4433/self-service/login/browser"},
		{"a flow of another kind is unknown", "/registration?flow=" + byName["login"], 303,
			"http://localhost:4433/self-service/registration/browser"},
		{"malformed flow id", "/login?flow=../../admin", 400, ""},
		{"malformed query", "/login?flow=%zz", 400, ""},
		{"unknown path", "/nope", 404, ""},
		{"error without id", "/error", 400, ""},
		{"unknown error id", "/error?id=nope", 404, ""},
		{"kratos stub error", "/error?id=stub:500", 500, ""},
		{"welcome without a session", "/welcome", 200, ""},
		// /continue checks return_to before anything else: never an open
		// redirect, whatever the browser would make of the address.
		{"continue to a foreign site", "/continue?return_to=https%3A%2F%2Fevil.example%2F", 400, ""},
		{"continue to a look-alike host", "/continue?return_to=http%3A%2F%2Flocalhost%3A4455.evil.example%2F", 400, ""},
		{"continue to a scheme-relative URL", "/continue?return_to=%2F%2Fevil.example", 400, ""},
		{"continue with a tab", "/continue?return_to=%2F%09%2Fevil.example", 400, ""},
		{"continue with a backslash", "/continue?return_to=%2F%5Cevil.example", 400, ""},
		{"continue to javascript", "/continue?return_to=javascript%3Aalert(1)", 400, ""},
		{"continue with user info", "/continue?return_to=http%3A%2F%2Flocalhost%3A4455%40evil.example%2F", 400, ""},
		{"settings without a session", "/settings?flow=" + byName["login"], 303, "http://localhost:4433/self-service/settings/browser"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, s.Handler(), tc.target)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body:\n%.300s", rec.Code, tc.status, rec.Body)
			}
			if tc.location != "" && !strings.HasPrefix(rec.Header().Get("Location"), tc.location) {
				t.Errorf("Location = %q, want prefix %q", rec.Header().Get("Location"), tc.location)
			}
			if rec.Code >= 400 {
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("error answered as %q, want an HTML page", ct)
				}
				if strings.Contains(rec.Body.String(), "goroutine") || strings.Contains(rec.Body.String(), ".go:") {
					t.Errorf("stack trace leaked")
				}
				doc := parse(t, rec.Body.String())
				if len(queryAll(doc, "h1")) != 1 {
					t.Errorf("error page without a heading")
				}
			}
		})
	}
}

func TestKratosDown(t *testing.T) {
	fk, byName := fixtures(t)
	s, k := newTestServer(t, fk)
	fk.down = true
	rec := get(t, s.Handler(), "/login?flow="+byName["login"])
	if rec.Code != http.StatusBadGateway {
		t.Errorf("login with Kratos failing: %d, want 502", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "reach the sign-in service") {
		t.Errorf("the page does not say Kratos is unreachable:\n%s", rec.Body)
	}
	if rec := get(t, s.Handler(), "/health/ready"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/health/ready = %d with Kratos failing, want 503", rec.Code)
	}
	k.Close() // now unreachable, not just failing
	if rec := get(t, s.Handler(), "/login?flow="+byName["login"]); rec.Code != http.StatusBadGateway {
		t.Errorf("login with Kratos gone: %d, want 502", rec.Code)
	}
	if rec := get(t, s.Handler(), "/health/ready"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/health/ready = %d with Kratos gone, want 503", rec.Code)
	}
	if rec := get(t, s.Handler(), "/health/alive"); rec.Code != http.StatusOK {
		t.Errorf("/health/alive = %d, want 200", rec.Code)
	}
}

func TestStaticAssets(t *testing.T) {
	fk, _ := fixtures(t)
	s, _ := newTestServer(t, fk)
	rec := get(t, s.Handler(), "/static/tandem.js?v="+s.assetVersion["tandem.js"])
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("versioned tandem.js: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("tandem.js Content-Type %q", ct)
	}
	if rec := get(t, s.Handler(), "/static/nope.js"); rec.Code != 404 {
		t.Errorf("missing asset: %d", rec.Code)
	}
}
