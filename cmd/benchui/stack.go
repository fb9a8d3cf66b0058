package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tandemauth/tandem/hydraext/hydratest"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// kratosHookKey is the web-hook key the repository's kratos.yml sends.
const kratosHookKey = "tandem-local-dev-hook-key-change-me"

type stackOptions struct {
	tandemBin, tandemEnv string
	consent, settings    bool
	brand                bool
}

// stack is Kratos, optionally Hydra, and a `tandem serve` process, on
// loopback ports of their own.
type stack struct {
	uiURL       string
	hooksListen string
	settings    bool
	kratos      *kratostest.Kratos
	hydra       *hydratest.Hydra
	tandem      *exec.Cmd
	// client never follows redirects: each target is one request.
	client *http.Client
}

func startStack(ctx context.Context, dir string, o stackOptions) (_ *stack, err error) {
	uiPort, err := kratostest.FreePort()
	if err != nil {
		return nil, err
	}
	hooksPort, err := kratostest.FreePort()
	if err != nil {
		return nil, err
	}
	s := &stack{settings: o.settings, uiURL: "http://localhost:" + strconv.Itoa(uiPort), hooksListen: "127.0.0.1:" + strconv.Itoa(hooksPort)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	// Kratos delivers its web hooks to this Tandem, with the key in
	// kratos.yml: the settings page's identity signs in with a password.
	ko := kratostest.Options{UIURL: s.uiURL, HooksURL: "http://" + s.hooksListen}
	if o.consent {
		hydraDir := filepath.Join(dir, "hydra")
		if err := os.MkdirAll(hydraDir, 0o700); err != nil {
			return nil, err
		}
		if s.hydra, err = hydratest.Start(hydraDir, hydratest.Options{UIURL: s.uiURL}); err != nil {
			return nil, fmt.Errorf("hydra: %w", err)
		}
		ko.Replace = map[string]string{"http://127.0.0.1:4445": s.hydra.AdminURL, "http://localhost:4444": s.hydra.PublicURL}
	}
	if s.kratos, err = kratostest.Start(dir, ko); err != nil {
		return nil, err
	}
	env, err := s.tandemEnv(dir, o)
	if err != nil {
		return nil, err
	}
	s.tandem = exec.CommandContext(ctx, o.tandemBin, "serve", "--dev",
		"--ui-listen", "127.0.0.1:"+strconv.Itoa(uiPort), "--ui-public-url", s.uiURL,
		"--kratos-public-url", s.kratos.PublicURL, "--kratos-admin-url", s.kratos.AdminURL,
		"--store-dsn", "sqlite://"+filepath.Join(dir, "tandem.db"))
	s.tandem.Env = env
	s.tandem.Stdout, s.tandem.Stderr = io.Discard, os.Stderr
	if err := s.tandem.Start(); err != nil {
		s.tandem = nil
		return nil, fmt.Errorf("start tandem: %w", err)
	}
	if err := waitOK(ctx, s.uiURL+"/health/ready"); err != nil {
		return nil, fmt.Errorf("tandem: %w", err)
	}
	s.client = &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 128, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s, nil
}

// tandemEnv is Tandem's environment: quiet logs, a hook listener on any
// port, Hydra when there is one, and the custom brand with -brand.
func (s *stack) tandemEnv(dir string, o stackOptions) ([]string, error) {
	env := append(os.Environ(), "TANDEM_LOG_LEVEL=warn", "TANDEM_HOOKS_LISTEN="+s.hooksListen,
		"TANDEM_HOOKS_API_KEY="+kratosHookKey)
	if s.hydra != nil {
		env = append(env, "TANDEM_HYDRA_ADMIN_URL="+s.hydra.AdminURL, "TANDEM_HYDRA_PUBLIC_URL="+s.hydra.PublicURL)
	}
	if o.brand {
		logo := filepath.Join(dir, "logo.svg")
		svg := `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#0b6e4f"/></svg>`
		if err := os.WriteFile(logo, []byte(svg), 0o600); err != nil {
			return nil, err
		}
		env = append(env, "TANDEM_BRAND_NAME=Beispiel Bank", "TANDEM_BRAND_LOGO="+logo, "TANDEM_BRAND_ACCENT=#0b6e4f",
			"TANDEM_BRAND_LINKS_HELP=https://bank.example/hilfe", "TANDEM_BRAND_LINKS_PRIVACY=https://bank.example/datenschutz")
	}
	if o.tandemEnv != "" {
		env = append(env, strings.Split(o.tandemEnv, ",")...)
	}
	return env, nil
}

// procs are the processes whose CPU time each phase records.
func (s *stack) procs() map[string]int {
	p := map[string]int{"kratos": s.kratos.PID(), "tandem": s.tandem.Process.Pid, "loadgen": os.Getpid()}
	if s.hydra != nil {
		p["hydra"] = s.hydra.PID()
	}
	return p
}

func (s *stack) close() {
	if s.tandem != nil && s.tandem.Process != nil {
		_ = s.tandem.Process.Signal(syscall.SIGTERM)
		_ = s.tandem.Wait()
	}
	if s.kratos != nil {
		s.kratos.Close()
	}
	if s.hydra != nil {
		s.hydra.Close()
	}
}

func waitOK(ctx context.Context, url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready", url)
}
