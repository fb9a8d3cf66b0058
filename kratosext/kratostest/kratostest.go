// Package kratostest runs a real Ory Kratos process for tests: the binary
// scripts/install-kratos.sh builds, the repository's kratos.yml with its
// addresses moved to free ports, a fresh SQLite database, and a readiness
// wait. Nothing is mocked.
package kratostest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tandemauth/tandem/internal/servertest"
)

// Options say how to run Kratos.
type Options struct {
	// UIURL is the Tandem UI origin the browser will use, such as
	// http://localhost:41234. It replaces http://localhost:4455 throughout
	// kratos.yml: ui_urls, return URLs, WebAuthn origins and CORS.
	UIURL string
	// HooksURL replaces Tandem's hook listener, http://127.0.0.1:4460.
	HooksURL string
	// SMTPURL replaces the courier's connection URI (a Mailpit's
	// SMTPURL).
	SMTPURL string
	// Replace holds further literal replacements applied to kratos.yml.
	Replace map[string]string
	// Overlay is merged into kratos.yml after the replacements: maps merge
	// key by key, anything else replaces what was there. A test that needs
	// a method enabled (say, oidc with a provider) overlays
	// {"selfservice": {"methods": {"oidc": {...}}}}.
	Overlay map[string]any
	// DSN is Kratos' database; empty means a fresh SQLite file in the
	// directory. A PostgreSQL DSN must name a database of its own: Start
	// migrates it.
	DSN string
	// LogLevel is Kratos' log level; empty means warning. At info, Kratos
	// logs every web-hook request it sends ("Dispatching webhook").
	LogLevel string
}

// Kratos is a running Kratos process.
type Kratos struct {
	// PublicURL is the public API as the browser sees it (localhost).
	PublicURL string
	// AdminURL is the admin API (127.0.0.1).
	AdminURL string
	// ConfigFile is the rewritten kratos.yml it runs with.
	ConfigFile string

	// Process is the running server: Close, PID, Alive, Log, LogTail.
	*servertest.Process
}

// courierURI is the courier's connection URI in the repository's
// kratos.yml: make run's Mailpit.
const courierURI = "smtp://127.0.0.1:1025/?disable_starttls=true"

// ErrNoBinary means the Kratos binary is not installed.
var ErrNoBinary = errors.New("kratos binary not found: run scripts/install-kratos.sh (make test does)")

// RepoRoot finds the repository root: the nearest parent with a go.mod.
func RepoRoot() (string, error) { return servertest.RepoRoot() }

// Binary returns the path of the Kratos binary: $KRATOS_BIN, or the
// repository's .bin/kratos.
func Binary() (string, error) { return servertest.Binary("kratos", "KRATOS_BIN", ErrNoBinary) }

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) { return servertest.FreePort() }

// Start migrates a fresh SQLite database under dir and starts Kratos with
// the repository's kratos.yml, rewritten for free ports. Call Close.
func Start(dir string, o Options) (*Kratos, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "kratos.yml"))
	if err != nil {
		return nil, err
	}
	pub, err := FreePort()
	if err != nil {
		return nil, err
	}
	adm, err := FreePort()
	if err != nil {
		return nil, err
	}
	k := &Kratos{
		PublicURL: "http://localhost:" + strconv.Itoa(pub),
		AdminURL:  "http://127.0.0.1:" + strconv.Itoa(adm),
	}
	repl := []string{
		"http://localhost:4433", k.PublicURL,
		"http://127.0.0.1:4434", k.AdminURL,
		"port: 4433", "port: " + strconv.Itoa(pub),
		"port: 4434", "port: " + strconv.Itoa(adm),
		"file://identity.schema.json", "file://" + filepath.Join(root, "identity.schema.json"),
		"file://hooks/", "file://" + filepath.Join(root, "hooks") + "/",
	}
	if o.UIURL != "" {
		repl = append(repl, "http://localhost:4455", strings.TrimSuffix(o.UIURL, "/"))
	}
	if o.HooksURL != "" {
		repl = append(repl, "http://127.0.0.1:4460", strings.TrimSuffix(o.HooksURL, "/"))
	}
	if o.SMTPURL != "" {
		repl = append(repl, courierURI, o.SMTPURL)
	}
	for from, to := range o.Replace {
		repl = append(repl, from, to)
	}
	cfg := strings.NewReplacer(repl...).Replace(string(raw))
	if len(o.Overlay) > 0 {
		if cfg, err = overlay(cfg, o.Overlay); err != nil {
			return nil, fmt.Errorf("overlay kratos.yml: %w", err)
		}
	}
	k.ConfigFile = filepath.Join(dir, "kratos.yml")
	if err := os.WriteFile(k.ConfigFile, []byte(cfg), 0o600); err != nil {
		return nil, err
	}

	dsn := o.DSN
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dir, "kratos.sqlite") + "?_fk=true&_journal_mode=WAL"
	}
	level := o.LogLevel
	if level == "" {
		level = "warning"
	}
	env := append(os.Environ(), "DSN="+dsn, "LOG_LEVEL="+level)
	logPath := filepath.Join(dir, "kratos.log")
	if err := servertest.Prepare(servertest.Command{Name: "kratos", Bin: bin,
		Args: []string{"migrate", "sql", "-e", "--yes"}, Env: env, LogPath: logPath}); err != nil {
		return nil, err
	}
	k.Process, err = servertest.Start(servertest.Command{Name: "kratos", Bin: bin,
		Args: []string{"serve", "-c", k.ConfigFile, "--dev", "--watch-courier", "--sqa-opt-out"}, Env: env, LogPath: logPath},
		30*time.Second, k.PublicURL+"/health/ready", k.AdminURL+"/admin/health/ready")
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Message is a courier message as the admin API lists it.
type Message struct {
	ID           string `json:"id"`
	Recipient    string `json:"recipient"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
	TemplateType string `json:"template_type"`
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// Code waits (until ctx ends) for the newest message to recipient of the
// given template type (such as "recovery_code_valid", "login_code_valid")
// and returns the six-digit code in it. Kratos shows bodies only in --dev,
// which Start uses.
func (k *Kratos) Code(ctx context.Context, recipient, templateType string) (string, error) {
	for {
		msgs, err := k.Messages(ctx, recipient)
		if err == nil {
			for _, m := range msgs {
				if m.TemplateType != templateType {
					continue
				}
				if c := sixDigits.FindStringSubmatch(m.Body); c != nil {
					return c[1], nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no %s message to %s: %w", templateType, recipient, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Messages lists the courier messages to recipient, newest first.
func (k *Kratos) Messages(ctx context.Context, recipient string) ([]Message, error) {
	u := k.AdminURL + "/admin/courier/messages?recipient=" + url.QueryEscape(recipient)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("courier messages: %d %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	var msgs []Message
	if err := json.Unmarshal(body, &msgs); err != nil {
		return nil, err
	}
	return msgs, nil
}

// Require returns a running Kratos for the test, or ends the test: it
// skips when the binary is missing locally, and fails when CI=true, where
// a missing dependency must never pass as a skip.
func Require(tb testing.TB, o Options) *Kratos {
	tb.Helper()
	k, err := Start(tb.TempDir(), o)
	if err != nil {
		if errors.Is(err, ErrNoBinary) && os.Getenv("CI") != "true" {
			tb.Skip(err.Error())
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("kratos log (tail):\n%s", k.LogTail(30))
		}
		if err := k.Close(); err != nil {
			tb.Log(err)
		}
	})
	return k
}

// overlay merges extra into the YAML document doc.
func overlay(doc string, extra map[string]any) (string, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		return "", err
	}
	merge(m, extra)
	out, err := yaml.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}
