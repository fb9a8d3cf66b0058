package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/hydraext/hydratest"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// doctorSetup is a Tandem configuration for doctor, against a Kratos.
type doctorSetup struct {
	uiURL, hooksListen    string
	kratosPublic, admin   string
	cookieSecret, hookKey string
	adminKey, storeDSN    string
	kratosConfig          string
	// hydraAdmin and hydraPublic configure Hydra; empty: none.
	hydraAdmin, hydraPublic string
}

func (s doctorSetup) write(t *testing.T) string {
	t.Helper()
	cfg := fmt.Sprintf(`ui: {public_url: %q, cookie_secret: %q}
hooks: {listen: %q, api_key: %q, admin_key: %q}
kratos: {public_url: %q, admin_url: %q, timeout: 3s}
store: {dsn: %q}
`, s.uiURL, s.cookieSecret, s.hooksListen, s.hookKey, s.adminKey, s.kratosPublic, s.admin, s.storeDSN)
	if s.hydraAdmin != "" {
		cfg += fmt.Sprintf("hydra: {admin_url: %q, public_url: %q}\n", s.hydraAdmin, s.hydraPublic)
	}
	path := filepath.Join(t.TempDir(), "tandem.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runDoctor runs `tandem doctor --json` and returns the failing checks
// and the text output of a second, plain run.
func runDoctor(t *testing.T, s doctorSetup) (failed []string, text string, err error) {
	t.Helper()
	cfg := s.write(t)
	args := []string{"doctor", "--config", cfg}
	if s.kratosConfig != "" {
		args = append(args, "--kratos-config", s.kratosConfig)
	}
	var out, errOut bytes.Buffer
	jsonErr := run(context.Background(), append(args, "--json"), func(string) string { return "" }, &out, &errOut)
	var report struct {
		OK       bool      `json:"ok"`
		Findings []finding `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("doctor --json printed %q: %v", out.String(), err)
	}
	for _, f := range report.Findings {
		if f.Status == statusFail {
			failed = append(failed, f.Check)
			if f.Fix == "" {
				t.Errorf("FAIL %s without a fix", f.Check)
			}
		}
	}
	slices.Sort(failed)
	failed = slices.Compact(failed)
	if report.OK != (len(failed) == 0) || (jsonErr != nil) != (len(failed) > 0) {
		t.Errorf("ok=%v, error %v, with failing checks %v", report.OK, jsonErr, failed)
	}
	out.Reset()
	err = run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	if strings.Contains(out.String()+errOut.String(), "goroutine ") || strings.Contains(out.String(), "panic") {
		t.Errorf("doctor printed a stack trace:\n%s%s", out.String(), errOut.String())
	}
	return failed, out.String(), err
}

func migratedStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	return "sqlite://" + path
}

// goodSetup is a correct configuration for Kratos k, started with UI
// uiURL and hooks at hooksListen.
func goodSetup(t *testing.T, k *kratostest.Kratos, uiURL, hooksListen string) doctorSetup {
	return doctorSetup{uiURL: uiURL, hooksListen: hooksListen, kratosPublic: k.PublicURL, admin: k.AdminURL,
		cookieSecret: "doctor-cookie-secret-0123456789abcdef", hookKey: devHookKey, adminKey: adminKey,
		storeDSN: migratedStore(t), kratosConfig: k.ConfigFile}
}

func TestDoctorGoodSetup(t *testing.T) {
	s := requireStack(t)
	setup := goodSetup(t, s.kratos, s.uiURL, strings.TrimPrefix(s.hooksURL, "http://"))
	failed, text, err := runDoctor(t, setup)
	t.Logf("tandem doctor on a good setup:\n%s", text)
	if len(failed) > 0 || err != nil {
		t.Fatalf("failing checks %v (%v)", failed, err)
	}
	if strings.Contains(text, "\nWARN") || !strings.Contains(text, "accepts the key kratos.yml sends") {
		t.Errorf("warnings on a good setup:\n%s", text)
	}
}

func TestDoctorKratosDown(t *testing.T) {
	if testing.Short() {
		t.Skip("doctor: skipped with -short")
	}
	p1, _ := kratostest.FreePort()
	p2, _ := kratostest.FreePort()
	setup := doctorSetup{uiURL: "http://localhost:4455", hooksListen: "127.0.0.1:4460",
		kratosPublic: "http://localhost:" + strconv.Itoa(p1), admin: "http://127.0.0.1:" + strconv.Itoa(p2),
		cookieSecret: "doctor-cookie-secret-0123456789abcdef", hookKey: devHookKey, adminKey: adminKey, storeDSN: migratedStore(t)}
	failed, text, err := runDoctor(t, setup)
	t.Logf("tandem doctor with Kratos down:\n%s", text)
	if !errors.Is(err, errDoctorFailed) {
		t.Fatalf("error %v, want errDoctorFailed", err)
	}
	want := []string{"kratos.admin", "kratos.cookies", "kratos.flows", "kratos.public", "kratos.rp_id"}
	if !slices.Equal(failed, want) {
		t.Errorf("failing checks %v, want %v", failed, want)
	}
	if !strings.Contains(text, "connection refused") {
		t.Errorf("the output does not say why:\n%s", text)
	}
}

// TestDoctorNamesEachBreak breaks one thing at a time, in a real Kratos
// configuration or in Tandem's, and checks doctor names it (and nothing
// else).
func TestDoctorNamesEachBreak(t *testing.T) {
	s := requireStack(t)
	hooksListen := strings.TrimPrefix(s.hooksURL, "http://")
	// Kratos configurations broken in one place each, every one a Kratos
	// of its own.
	for _, tc := range []struct {
		name    string
		replace map[string]string
		want    []string
		says    string
	}{
		{"login ui_url elsewhere", map[string]string{"ui_url: http://localhost:4455/login": "ui_url: http://localhost:4455/signin"},
			[]string{"kratos.flows"}, "login flows go to"},
		{"rp.id of another site", map[string]string{"id: localhost": "id: example.com"},
			[]string{"kratos.rp_id"}, "rp.id example.com is neither"},
		{"rp.origins without the UI", map[string]string{"origins:\n            - http://localhost:4455": "origins:\n            - https://login.example.com"},
			[]string{"kratos.rp_origins"}, "lack the UI's origin"},
		{"cookies for another domain", map[string]string{"\nsession:\n": "\ncookies:\n  domain: example.com\nsession:\n"},
			[]string{"kratos.cookies"}, "the domain example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			uiPort, _ := kratostest.FreePort()
			uiURL := "http://localhost:" + strconv.Itoa(uiPort)
			k := kratostest.Require(t, kratostest.Options{UIURL: uiURL, HooksURL: "http://" + hooksListen, Replace: tc.replace})
			failed, text, err := runDoctor(t, goodSetup(t, k, uiURL, hooksListen))
			t.Logf("tandem doctor, %s:\n%s", tc.name, text)
			if !errors.Is(err, errDoctorFailed) || !slices.Equal(failed, tc.want) || !strings.Contains(text, tc.says) {
				t.Errorf("failing checks %v (%v), want %v saying %q", failed, err, tc.want, tc.says)
			}
		})
	}

	// Tandem's side broken, against the shared (correct) Kratos.
	kratosYML, err := os.ReadFile(s.kratos.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	withFile := func(t *testing.T, from, to string) string {
		t.Helper()
		if !strings.Contains(string(kratosYML), from) {
			t.Fatalf("kratos.yml has no %q", from)
		}
		p := filepath.Join(t.TempDir(), "kratos.yml")
		if err := os.WriteFile(p, []byte(strings.Replace(string(kratosYML), from, to, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, d *doctorSetup)
		want   []string
		says   string
	}{
		{"short secrets", func(t *testing.T, d *doctorSetup) { d.cookieSecret, d.hookKey = "short", "short-key" },
			[]string{"kratos.hooks", "secrets.cookie", "secrets.hook_key"}, "needs at least 32"},
		{"localhost and 127.0.0.1 mixed", func(t *testing.T, d *doctorSetup) {
			d.kratosPublic = strings.Replace(d.kratosPublic, "localhost", "127.0.0.1", 1)
		}, []string{"hosts", "kratos.cookies"}, "both localhost (ui.public_url, Kratos' redirects and rp.id) and 127.0.0.1 (kratos.public_url)"},
		{"hook key differs", func(t *testing.T, d *doctorSetup) {
			d.kratosConfig = withFile(t, "value: Bearer "+devHookKey, "value: Bearer another-key-0123456789")
		}, []string{"kratos.hooks"}, "a key other than hooks.api_key"},
		{"a key the running Tandem refuses", func(t *testing.T, d *doctorSetup) {
			// kratos.yml and this configuration agree, but the Tandem
			// listening runs with another key.
			d.hookKey = "rotated-key-0123456789abcdef"
			d.kratosConfig = withFile(t, "value: Bearer "+devHookKey, "value: Bearer rotated-key-0123456789abcdef")
		}, []string{"kratos.hooks"}, "refuses the key kratos.yml sends in Authorization (401)"},
		{"hooks at another port", func(t *testing.T, d *doctorSetup) { d.hooksListen = "127.0.0.1:1" },
			[]string{"kratos.hooks"}, "but Tandem listens on 127.0.0.1:1"},
		{"a body that is not Tandem's", func(t *testing.T, d *doctorSetup) {
			d.kratosConfig = withFile(t, "body: file://", "body: base64://ZnVuY3Rpb24oY3R4KSBjdHg= # file://")
		}, []string{"kratos.hooks"}, "not Tandem's hooks/body.jsonnet"},
		{"the store's schema is old", func(t *testing.T, d *doctorSetup) {
			p := filepath.Join(t.TempDir(), "old.db")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			d.storeDSN = "sqlite://" + p
		}, []string{"store"}, "run tandem migrate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := goodSetup(t, s.kratos, s.uiURL, hooksListen)
			tc.break_(t, &d)
			failed, text, err := runDoctor(t, d)
			t.Logf("tandem doctor, %s:\n%s", tc.name, text)
			if !errors.Is(err, errDoctorFailed) || !slices.Equal(failed, tc.want) || !strings.Contains(text, tc.says) {
				t.Errorf("failing checks %v (%v), want %v saying %q", failed, err, tc.want, tc.says)
			}
		})
	}
	// The legacy header still works during the transition, with a warning:
	// Kratos writes it to its log.
	t.Run("the key in the legacy header", func(t *testing.T) {
		d := goodSetup(t, s.kratos, s.uiURL, hooksListen)
		d.kratosConfig = withFile(t, "name: Authorization\n                    value: Bearer "+devHookKey,
			"name: X-Tandem-Hook-Key\n                    value: "+devHookKey)
		failed, text, err := runDoctor(t, d)
		t.Logf("tandem doctor, the key in the legacy header:\n%s", text)
		if err != nil || len(failed) != 0 || !strings.Contains(text, "which Kratos writes to its log on every delivery") {
			t.Errorf("failing checks %v (%v), want none and a warning about Kratos' log", failed, err)
		}
	})
}

// TestDoctorHydra: with Hydra configured, doctor checks it (and Kratos'
// oauth2_provider); without, it says nothing about Hydra.
func TestDoctorHydra(t *testing.T) {
	s := requireStack(t)
	h := hydratest.Require(t, hydratest.Options{UIURL: s.uiURL})
	hooksListen := strings.TrimPrefix(s.hooksURL, "http://")
	kratosYML, err := os.ReadFile(s.kratos.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	const provider = "oauth2_provider:\n  url: http://127.0.0.1:4445"
	if !strings.Contains(string(kratosYML), provider) {
		t.Fatalf("kratos.yml has no %q", provider)
	}
	withProvider := filepath.Join(t.TempDir(), "kratos.yml")
	if err := os.WriteFile(withProvider, []byte(strings.Replace(string(kratosYML), provider, "oauth2_provider:\n  url: "+h.AdminURL, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	good := goodSetup(t, s.kratos, s.uiURL, hooksListen)
	good.kratosConfig, good.hydraAdmin, good.hydraPublic = withProvider, h.AdminURL, h.PublicURL
	failed, text, err := runDoctor(t, good)
	t.Logf("tandem doctor with Hydra:\n%s", text)
	if len(failed) > 0 || err != nil || !strings.Contains(text, "OK  hydra.issuer") || !strings.Contains(text, "OK  kratos.oauth2_provider") {
		t.Fatalf("failing checks %v (%v)", failed, err)
	}

	down := good
	p, _ := kratostest.FreePort()
	down.hydraAdmin = "http://127.0.0.1:" + strconv.Itoa(p)
	failed, text, err = runDoctor(t, down)
	t.Logf("tandem doctor, Hydra's admin API down:\n%s", text)
	if !errors.Is(err, errDoctorFailed) || !slices.Equal(failed, []string{"hydra.admin", "kratos.oauth2_provider"}) {
		t.Errorf("failing checks %v (%v)", failed, err)
	}

	none := goodSetup(t, s.kratos, s.uiURL, hooksListen)
	_, text, _ = runDoctor(t, none)
	if strings.Contains(text, "hydra") || strings.Contains(text, "oauth2_provider") {
		t.Errorf("doctor checks Hydra where none is configured:\n%s", text)
	}
}
