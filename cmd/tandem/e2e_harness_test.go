package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

var screenshots = flag.String("screenshots", "", "save a screenshot of each e2e step into this directory")

// stack is one real Kratos and one in-process Tandem, shared by the e2e
// tests of this package and started by the first of them.
type stack struct {
	kratos *kratostest.Kratos
	// mail receives Kratos' courier over SMTP.
	mail *kratostest.Mailpit
	// uiPort, hooksPort, cfgPath and extraYAML let a test restart Tandem
	// in place.
	uiPort, hooksPort int
	cfgPath           string
	extraYAML         string
	hooksURL          string
	tandem            *kratosext.Client // talks to the same Kratos, for whoami checks
	uiURL             string
	dir               string
	stop              context.CancelFunc
	done              chan error
	out               *syncBuffer
	// basePath is the path ui.public_url carries ("" at the root).
	basePath string
}

// devHookKey is the key kratos.yml sends with every hook (local
// development); adminKey opens Tandem's admin API in tests.
const (
	devHookKey = "tandem-local-dev-hook-key-change-me"
	adminKey   = "e2e-admin-key-0123456789abcdef"
)

var (
	stackOnce sync.Once
	theStack  *stack
	stackErr  error
)

func TestMain(m *testing.M) {
	// The shutdown test runs this binary as `tandem` itself, to send it a
	// real SIGTERM.
	if os.Getenv("TANDEM_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"tandem"}, strings.Fields(os.Getenv("TANDEM_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	ginReleaseMode()
	flag.Parse()
	code := m.Run()
	// Logs never carry e-mail addresses (nor traits): check what Tandem
	// logged during the whole run for every address the tests typed or
	// signed up with.
	var log strings.Builder
	stacks := append([]*stack{theStack}, extraStacks.list()...)
	if theOAuth2 != nil {
		stacks = append(stacks, theOAuth2.stack)
	}
	for _, s := range stacks {
		if s != nil {
			log.WriteString(s.out.String())
		}
	}
	if leaks := emailLeaks(log.String(), usedEmails.list()); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: Tandem's log carries e-mail addresses the tests used (%d lines):\n%s\n",
			len(leaks), strings.Join(leaks, "\n"))
		code = 1
	} else if log.Len() > 0 {
		fmt.Fprintf(os.Stderr, "e2e: Tandem's log (%d bytes) carries none of the %d e-mail addresses the tests used\n",
			log.Len(), len(usedEmails.list()))
	}
	if theStack != nil {
		theStack.close()
	}
	if theOAuth2 != nil {
		theOAuth2.close()
	}
	for _, s := range extraStacks.list() {
		s.close()
	}
	os.Exit(code)
}

// emailRegistry records every address uniqueEmail handed out.
type emailRegistry struct {
	mu  sync.Mutex
	all []string
}

func (r *emailRegistry) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, e)
}

func (r *emailRegistry) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// usedEmails is shared by the tests of this package, like the stack.
var usedEmails emailRegistry

// stackRegistry holds the stacks a test started beside the shared one (a
// branded one, one under a base path), so that TestMain checks their logs
// and stops them.
type stackRegistry struct {
	mu  sync.Mutex
	all []*stack
}

func (r *stackRegistry) add(s *stack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, s)
}

func (r *stackRegistry) list() []*stack {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

var extraStacks stackRegistry

// anEmail matches an e-mail address as a log might carry it, plainly or
// percent-encoded in a URL.
var anEmail = regexp.MustCompile(`[A-Za-z0-9._+-]+(@|%40)[A-Za-z0-9-]+\.[A-Za-z0-9.-]+`)

// emailLeaks returns the log lines that carry one of emails, or anything
// shaped like an e-mail address.
func emailLeaks(log string, emails []string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		leak := anEmail.MatchString(line)
		for _, e := range emails {
			leak = leak || strings.Contains(line, e) || strings.Contains(line, url.QueryEscape(e)) || strings.Contains(line, strings.Split(e, "@")[0]+"%40")
		}
		if leak {
			out = append(out, line)
		}
	}
	return out
}

// chromiumPath is Debian's Chromium, which make test installs.
func chromiumPath() (string, error) {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (make test installs Debian's chromium)")
}

// requireStack returns the running stack, or skips the test locally when a
// dependency is missing. In CI (CI=true) a missing dependency fails.
func requireStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	stackOnce.Do(func() { theStack, stackErr = startStack() })
	if stackErr != nil {
		if os.Getenv("CI") != "true" && (errors.Is(stackErr, kratostest.ErrNoBinary) || errors.Is(stackErr, kratostest.ErrNoMailpit) ||
			strings.Contains(stackErr.Error(), "chromium not found")) {
			t.Skip("e2e: ", stackErr)
		}
		t.Fatal("e2e: ", stackErr)
	}
	return theStack
}

func startStack() (*stack, error) {
	if _, err := chromiumPath(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tandem-e2e-")
	if err != nil {
		return nil, err
	}
	ports, err := newStackPorts()
	if err != nil {
		return nil, err
	}
	return startStackWith(dir, ports, kratostest.Options{}, "")
}

// stackPorts are the Tandem listeners' ports, chosen before anything
// starts: Kratos (and Hydra) must know the UI's address.
type stackPorts struct {
	ui, hooks int
	// uiURL is where the pages are: the origin, plus basePath when Tandem
	// is served under a path (then with no trailing slash, so that
	// uiURL+"/login" is the login page).
	uiURL    string
	hooksURL string
	basePath string
}

// origin is the UI's scheme://host:port.
func (p stackPorts) origin() string { return strings.TrimSuffix(p.uiURL, p.basePath) }

func newStackPorts() (stackPorts, error) {
	ui, err := kratostest.FreePort()
	if err != nil {
		return stackPorts{}, err
	}
	hooks, err := kratostest.FreePort()
	if err != nil {
		return stackPorts{}, err
	}
	return stackPorts{ui: ui, hooks: hooks, uiURL: "http://localhost:" + strconv.Itoa(ui),
		hooksURL: "http://127.0.0.1:" + strconv.Itoa(hooks)}, nil
}

// startStackWith starts Kratos with ko (its UI and hook URLs filled in)
// and Tandem with the shared configuration plus extraYAML (top-level keys
// Tandem's base configuration does not set).
func startStackWith(dir string, p stackPorts, ko kratostest.Options, extraYAML string) (*stack, error) {
	mail, err := kratostest.StartMailpit(dir)
	if err != nil {
		return nil, err
	}
	ko.UIURL, ko.HooksURL, ko.SMTPURL = p.origin(), p.hooksURL, mail.SMTPURL
	if p.basePath != "" {
		ko.Overlay = mergeOverlay(ko.Overlay, basePathOverlay(p.uiURL))
	}
	k, err := kratostest.Start(dir, ko)
	if err != nil {
		mail.Close()
		return nil, err
	}
	s := &stack{kratos: k, mail: mail, hooksURL: p.hooksURL, uiURL: p.uiURL, dir: dir, out: &syncBuffer{},
		uiPort: p.ui, hooksPort: p.hooks, cfgPath: filepath.Join(dir, "tandem.yml"), extraYAML: extraYAML, basePath: p.basePath}
	s.tandem, err = kratosext.NewClient(kratosext.Options{PublicURL: k.PublicURL, AdminURL: k.AdminURL})
	if err != nil {
		k.Close()
		mail.Close()
		return nil, err
	}
	if err := s.startTandem(e2eCookieSecret); err != nil {
		k.Close()
		mail.Close()
		return nil, err
	}
	return s, nil
}

// e2eCookieSecret is the stack's cookie secret until a test rotates it.
const e2eCookieSecret = "e2e-cookie-secret-0123456789abcdef0123"

// startTandem writes the stack's tandem.yml with these cookie secrets (the
// first signs) and runs `tandem serve` in process until it is ready.
func (s *stack) startTandem(cookieSecrets ...string) error {
	cfg := fmt.Sprintf(`dev: true
ui:
  listen: 127.0.0.1:%d
  public_url: %s
  cookie_secret: [%s]
  # Every browser in the suite comes from 127.0.0.1, like a whole office
  # behind one address: the per-address budgets are raised so that the
  # suite's many users do not share one person's allowance (the limits
  # themselves are tested in package ui).
  limits:
    lookups_per_minute: 10000
    reports_per_minute: 10000
    global_per_second: 1000
hooks:
  listen: 127.0.0.1:%d
  api_key: %s
  admin_key: %s
kratos:
  public_url: %s
  admin_url: %s
store:
  dsn: sqlite://%s
log:
  level: warn
`, s.uiPort, s.publicURL(), strings.Join(cookieSecrets, ", "), s.hooksPort, devHookKey, adminKey, s.kratos.PublicURL, s.kratos.AdminURL,
		filepath.Join(s.dir, "tandem.db")) + s.extraYAML
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan error, 1)
	go func() {
		s.done <- run(ctx, []string{"serve", "--config", s.cfgPath}, func(string) string { return "" }, s.out, s.out)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.uiURL + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("tandem exited: %v\n%s", err, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			return fmt.Errorf("tandem not ready:\n%s", s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publicURL is ui.public_url: under a base path, with its trailing slash
// (https://example.com/account/), as an operator writes it.
func (s *stack) publicURL() string {
	if s.basePath != "" {
		return s.uiURL + "/"
	}
	return s.uiURL
}

// basePathOverlay points Kratos' UI URLs and return URLs at Tandem under
// its path. WebAuthn origins and CORS stay the origin (Options.UIURL).
func basePathOverlay(uiURL string) map[string]any {
	flow := func(page string) map[string]any { return map[string]any{"ui_url": uiURL + page} }
	after := func(page, ret string) map[string]any {
		m := flow(page)
		m["after"] = map[string]any{"default_browser_return_url": uiURL + ret}
		return m
	}
	return map[string]any{"selfservice": map[string]any{
		"default_browser_return_url": uiURL + "/welcome",
		"flows": map[string]any{
			"error":        flow("/error"),
			"login":        after("/login", "/continue"),
			"registration": after("/registration", "/continue"),
			"settings":     flow("/settings"),
			"recovery":     flow("/recovery"),
			"verification": after("/verification", "/welcome"),
			"logout":       map[string]any{"after": map[string]any{"default_browser_return_url": uiURL + "/login"}},
		},
	}}
}

// mergeOverlay merges b into a (maps key by key), as kratostest merges an
// overlay into kratos.yml.
func mergeOverlay(a, b map[string]any) map[string]any {
	if a == nil {
		a = map[string]any{}
	}
	for k, v := range b {
		am, aok := a[k].(map[string]any)
		bm, bok := v.(map[string]any)
		if aok && bok {
			a[k] = mergeOverlay(am, bm)
		} else {
			a[k] = v
		}
	}
	return a
}

// restartTandem stops the stack's Tandem and starts it again, on the same
// addresses and store, with other cookie secrets.
func (s *stack) restartTandem(t *testing.T, cookieSecrets ...string) {
	t.Helper()
	s.stop()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("tandem stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("tandem did not stop")
	}
	if err := s.startTandem(cookieSecrets...); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) close() {
	s.stop()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
	}
	s.kratos.Close()
	s.mail.Close()
	os.RemoveAll(s.dir)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// identityInfo is what Tandem's admin API knows of an identity.
type identityInfo struct {
	Credentials []devices.Credential   `json:"credentials"`
	Devices     []devices.LinkedDevice `json:"devices"`
	Events      []devices.Event        `json:"events"`
}

// recorded asks Tandem's admin API what it recorded for an identity.
func (s *stack) recorded(t *testing.T, identityID string) identityInfo {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.hooksURL+"/admin/identities/"+identityID, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin API: %d", resp.StatusCode)
	}
	var info identityInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info
}

// chrome is one fresh Chromium profile with WebAuthn emulation on.
type chrome struct {
	t     *testing.T
	s     *stack
	ctx   context.Context
	shot  int
	width int
}

type browserOptions struct {
	// width and height of the window; zero means a desktop 1280×900.
	width, height int
	// phone makes the browser a phone: a mobile Chrome User-Agent with
	// client hints (Sec-CH-UA-Mobile: ?1, platform Android).
	phone bool
}

func newBrowser(t *testing.T, s *stack, o browserOptions) *chrome {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	if o.width == 0 {
		o.width, o.height = 1280, 900
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(o.width, o.height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelB := chromedp.NewContext(alloc)
	t.Cleanup(cancelB)
	b := &chrome{t: t, s: s, ctx: bctx, width: o.width}
	// The first action starts the browser and ties its life to the context
	// it runs with: that must be bctx, not a shorter-lived child.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Chrome's windows have a minimum width; a phone's viewport must be
	// emulated to be narrower than that.
	if o.width < 600 {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(int64(o.width), int64(o.height), chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
			t.Fatalf("emulate viewport: %v", err)
		}
	}
	if o.phone {
		b.becomePhone()
	}
	if _, err := chromedp.Call(bctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("webauthn.Enable: %v", err)
	}
	return b
}

// becomePhone makes the browser a phone from its next request on: a
// mobile Chrome User-Agent with client hints (Sec-CH-UA-Mobile: ?1,
// platform Android).
func (b *chrome) becomePhone() {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36",
		UserAgentMetadata: &emulation.UserAgentMetadata{
			Brands:          []*emulation.UserAgentBrandVersion{{Brand: "Chromium", Version: "156"}},
			Platform:        "Android",
			PlatformVersion: "14.0.0",
			Architecture:    "",
			Model:           "Pixel 8",
			Mobile:          true,
		},
	}); err != nil {
		b.t.Fatalf("emulate a phone: %v", err)
	}
}

func (b *chrome) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("browser: %v", err)
	}
}

// fail ends the test with the page as it was, to see what went wrong.
func (b *chrome) fail(format string, args ...any) {
	b.t.Helper()
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf(format+"\n  at %s\n  page text: %.600s%s", append(args, loc, body, b.serverSide(loc))...)
}

// serverSide is what the servers said about a failed step: Kratos' error
// behind an /error page, and the last lines of Kratos' and Tandem's logs.
func (b *chrome) serverSide(loc string) string {
	if b.s == nil || b.s.kratos == nil {
		return ""
	}
	var out strings.Builder
	if u, err := url.Parse(loc); err == nil && strings.HasSuffix(u.Path, "/error") && u.Query().Get("id") != "" {
		if resp, err := http.Get(b.s.kratos.PublicURL + "/self-service/errors?id=" + url.QueryEscape(u.Query().Get("id"))); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
			resp.Body.Close()
			fmt.Fprintf(&out, "\n  Kratos' error: %s", body)
		}
	}
	fmt.Fprintf(&out, "\n  Kratos' log (tail):\n%s", b.s.kratos.LogTail(15))
	if b.s.out != nil {
		lines := strings.Split(strings.TrimRight(b.s.out.String(), "\n"), "\n")
		fmt.Fprintf(&out, "\n  Tandem's log (tail):\n%s", strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
	return out.String()
}

// addAuthenticator adds a CTAP2 virtual authenticator with resident keys
// and user verification. internal = "this computer", cable = "a phone over
// hybrid".
func (b *chrome) addAuthenticator(transport webauthn.AuthenticatorTransport) webauthn.AuthenticatorID {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   transport,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.t.Fatalf("add %s authenticator: %v", transport, err)
	}
	return res.AuthenticatorID
}

// credentials lists what an authenticator holds.
func (b *chrome) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatalf("get credentials: %v", err)
	}
	return res.Credentials
}

// onNewDocument runs script before any page script, on every navigation,
// until the returned function removes it.
func (b *chrome) onNewDocument(script string) func() {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
	if err != nil {
		b.t.Fatalf("add script: %v", err)
	}
	return func() {
		if _, err := chromedp.Call(b.ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: res.Identifier}); err != nil {
			b.t.Fatalf("remove script: %v", err)
		}
	}
}

// noConditionalUI makes isConditionalMediationAvailable() answer false, so
// that autofill cannot sign in before a button is pressed.
const noConditionalUI = `Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable',
  {value: () => Promise.resolve(false), configurable: true});`

// open navigates to a UI path and waits for the page to load.
func (b *chrome) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.s.uiURL + path))
}

// waitPath waits until the page's path is path (query ignored).
func (b *chrome) waitPath(path string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, err := chromedp.Run(b.ctx, chromedp.Location())
		if err == nil {
			if i := strings.Index(loc, "://"); i >= 0 {
				rest := loc[i+3:]
				if j := strings.IndexByte(rest, '/'); j >= 0 {
					p := rest[j:]
					if k := strings.IndexAny(p, "?#"); k >= 0 {
						p = p[:k]
					}
					if p == path {
						// And the document has finished loading.
						state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState`))
						if state == "complete" || state == "interactive" {
							return
						}
					}
				}
			}
		}
		if time.Now().After(deadline) {
			b.fail("timed out waiting for %s", path)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// click clicks the first element matching a CSS selector, once visible.
func (b *chrome) click(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// fill sets an input's value, as typing would.
func (b *chrome) fill(sel, value string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// text returns an element's text.
func (b *chrome) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of %s: %v", sel, err)
	}
	return s
}

// session returns the Kratos session the browser's cookies carry, or nil.
func (b *chrome) session() *kratosext.Session {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.s.kratos.PublicURL + "/"}})
	if err != nil {
		b.t.Fatalf("get cookies: %v", err)
	}
	var parts []string
	for _, c := range res.Cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	sess, err := b.s.tandem.Whoami(b.ctx, strings.Join(parts, "; "))
	if errors.Is(err, kratosext.ErrNoSession) {
		return nil
	}
	if err != nil {
		b.t.Fatalf("whoami: %v", err)
	}
	return sess
}

// requireSession asserts who is signed in and with which method.
func (b *chrome) requireSession(email, method string) *kratosext.Session {
	b.t.Helper()
	s := b.session()
	if s == nil {
		b.fail("no session; want %s signed in with %s", email, method)
	}
	if got := s.Identity.Email(); got != email {
		b.t.Fatalf("signed in as %q, want %q", got, email)
	}
	if got := s.LastMethod(); got != method {
		b.t.Fatalf("signed in with %q, want %q", got, method)
	}
	return s
}

// screenshot saves the page when -screenshots is set.
func (b *chrome) screenshot(name string) {
	b.t.Helper()
	if *screenshots == "" {
		return
	}
	b.shot++
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100 = PNG; less is JPEG
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(*screenshots, strings.ReplaceAll(b.t.Name(), "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, fmt.Sprintf("%02d-%s-%dpx.png", b.shot, name, b.width))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// signOut follows the welcome page's sign-out link and checks the session
// is gone. Kratos then shows /login, where autofill would sign a browser
// with an internal authenticator straight back in: it is off meanwhile.
func (b *chrome) signOut() {
	b.t.Helper()
	restore := b.onNewDocument(noConditionalUI)
	defer restore()
	b.open("/welcome")
	b.click(`[data-testid=logout]`)
	b.waitPath("/login")
	if s := b.session(); s != nil {
		b.t.Fatalf("still signed in as %s after signing out", s.Identity.Email())
	}
}

// path is the page's path, without query.
func (b *chrome) path() string {
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	if i := strings.Index(loc, "://"); i >= 0 {
		loc = loc[i+3:]
		if j := strings.IndexByte(loc, '/'); j >= 0 {
			loc = loc[j:]
		}
	}
	if k := strings.IndexAny(loc, "?#"); k >= 0 {
		loc = loc[:k]
	}
	return loc
}

// waitSignedIn waits until a sign-in has landed on /welcome, answering
// "Not now" to any prompt /continue shows on the way. It returns the
// prompts it declined.
func (b *chrome) waitSignedIn() []string {
	b.t.Helper()
	var declined []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		switch b.path() {
		case "/welcome":
			b.waitPath("/welcome")
			return declined
		case "/continue":
			prompt, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector("form[data-prompt]")||{}).dataset?.prompt || ""`))
			if err == nil && prompt != "" {
				declined = append(declined, prompt)
				b.click(`form[data-prompt] button[name=action][value=later]`)
				b.waitPath("/welcome")
				return declined
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.fail("never signed in")
	return nil
}

// signInWithPasskey signs in on the login page the way a person would on
// a desktop: the e-mail, then the passkey button; with choice
// "this_computer", then "Use this computer's passkey".
func (b *chrome) signInWithPasskey(email, choice string) {
	b.t.Helper()
	b.open("/login")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`button[data-ceremony=passkey_login]:not([data-choice])`)
	if choice != "" {
		b.click(`button[data-ceremony=passkey_login][data-choice=` + choice + `]`)
	}
}

// passwordSignUp signs up with a password: no prompt follows (the
// person just chose a password over a passkey).
func passwordSignUp(b *chrome, email, password string) {
	b.t.Helper()
	b.open("/registration")
	b.waitPath("/registration")
	b.fill(`input[name="traits.email"]`, email)
	b.click(`button[name=method][value=profile]`)
	b.waitPath("/registration")
	b.click(`details[data-another] > summary`)
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
	b.waitPath("/welcome")
	b.requireSession(email, "password")
}

// passwordSignIn signs in with a password and leaves the browser
// wherever /continue sends it.
func passwordSignIn(b *chrome, email, password string) {
	b.t.Helper()
	b.open("/login")
	b.waitPath("/login")
	b.fill(`input[name=identifier]`, email)
	b.click(`details[data-another] > summary`)
	b.fill(`input[name=password]`, password)
	b.click(`button[name=method][value=password]`)
}

// uniqueEmail gives each scenario its own identity.
func uniqueEmail(t *testing.T) string {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	e := fmt.Sprintf("%s-%d@example.com", name, time.Now().UnixNano()%1e9)
	usedEmails.add(e)
	return e
}
