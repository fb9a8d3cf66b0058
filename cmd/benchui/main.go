// Command benchui measures Tandem's login page against Kratos' own flow
// endpoint on loopback: the same flow, the same cookie, closed-loop load
// from the same number of workers, phases alternated so that both see the
// same machine. With -consent (the default) it also measures Tandem's
// consent page for Ory Hydra (one real consent challenge for a real
// identity) against Hydra's own admin endpoint for that challenge. It
// prints rates, p50/p99, their ratios and Tandem's peak RSS. Run it with
// `make bench-ui`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tandemauth/tandem/hydraext/hydratest"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchui:", err)
		os.Exit(1)
	}
}

type target struct {
	name string
	url  string
	lat  []time.Duration
	n    int
	errs int
	took time.Duration
	// cpu is the CPU time each process spent during this target's phases.
	cpu map[string]time.Duration
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchui", flag.ContinueOnError)
	workers := fs.Int("c", 16, "concurrent workers")
	phase := fs.Duration("phase", 4*time.Second, "length of one measured phase")
	rounds := fs.Int("rounds", 3, "phases per target, alternated")
	tandemBin := fs.String("tandem", ".bin/tandem", "tandem binary")
	tandemEnv := fs.String("tandem-env", "", "extra environment for tandem only, comma-separated (e.g. GOGC=100,GOMEMLIMIT=32MiB)")
	withConsent := fs.Bool("consent", true, "also measure the consent page against Hydra (needs .bin/hydra)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	uiPort, err := kratostest.FreePort()
	if err != nil {
		return err
	}
	uiURL := "http://localhost:" + strconv.Itoa(uiPort)
	var hydra *hydratest.Hydra
	ko := kratostest.Options{UIURL: uiURL}
	if *withConsent {
		hydraDir := filepath.Join(dir, "hydra")
		if err := os.MkdirAll(hydraDir, 0o700); err != nil {
			return err
		}
		hydra, err = hydratest.Start(hydraDir, hydratest.Options{UIURL: uiURL})
		if err != nil {
			return fmt.Errorf("hydra: %w", err)
		}
		defer hydra.Close()
		ko.Replace = map[string]string{"http://127.0.0.1:4445": hydra.AdminURL, "http://localhost:4444": hydra.PublicURL}
	}
	k, err := kratostest.Start(dir, ko)
	if err != nil {
		return err
	}
	defer k.Close()

	tandem := exec.CommandContext(ctx, *tandemBin, "serve", "--dev",
		"--ui-listen", "127.0.0.1:"+strconv.Itoa(uiPort), "--ui-public-url", uiURL,
		"--kratos-public-url", k.PublicURL, "--kratos-admin-url", k.AdminURL,
		"--store-dsn", "sqlite://"+filepath.Join(dir, "tandem.db"))
	tandem.Env = append(os.Environ(), "TANDEM_LOG_LEVEL=warn", "TANDEM_HOOKS_LISTEN=127.0.0.1:0")
	if hydra != nil {
		tandem.Env = append(tandem.Env, "TANDEM_HYDRA_ADMIN_URL="+hydra.AdminURL, "TANDEM_HYDRA_PUBLIC_URL="+hydra.PublicURL)
	}
	if *tandemEnv != "" {
		tandem.Env = append(tandem.Env, strings.Split(*tandemEnv, ",")...)
	}
	tandem.Stdout, tandem.Stderr = io.Discard, os.Stderr
	if err := tandem.Start(); err != nil {
		return fmt.Errorf("start tandem: %w", err)
	}
	defer func() { _ = tandem.Process.Signal(syscall.SIGTERM); _ = tandem.Wait() }()
	if err := waitOK(ctx, uiURL+"/health/ready"); err != nil {
		return fmt.Errorf("tandem: %w", err)
	}

	// One browser login flow and its CSRF cookie, as a browser would get.
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: *workers * 2, MaxIdleConns: *workers * 4, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Get(k.PublicURL + "/self-service/login/browser")
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	i := strings.Index(loc, "flow=")
	if i < 0 {
		return fmt.Errorf("no flow in %q", loc)
	}
	flowID := loc[i+5:]
	var cookies []string
	for _, c := range resp.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	cookie := strings.Join(cookies, "; ")

	// A browser keeps the device cookie Tandem sets on its first page;
	// without it every request would be a new device.
	req, _ := http.NewRequest(http.MethodGet, uiURL+"/login?flow="+flowID, nil)
	req.Header.Set("Cookie", cookie)
	resp, err = client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "tandem_device" {
			cookie += "; " + c.Name + "=" + c.Value
		}
	}

	kratosT := &target{name: "kratos GET /self-service/login/flows", url: k.PublicURL + "/self-service/login/flows?id=" + flowID}
	tandemT := &target{name: "tandem GET /login?flow=", url: uiURL + "/login?flow=" + flowID}
	targets := []*target{kratosT, tandemT}
	var hydraT, consentT *target
	if hydra != nil {
		challenge, err := consentChallenge(ctx, k, hydra)
		if err != nil {
			return fmt.Errorf("consent challenge: %w", err)
		}
		hydraT = &target{name: "hydra GET /admin/…/consent", url: hydra.AdminURL + "/admin/oauth2/auth/requests/consent?consent_challenge=" + challenge}
		consentT = &target{name: "tandem GET /consent?consent_challenge=", url: uiURL + "/consent?consent_challenge=" + challenge}
		targets = append(targets, hydraT, consentT)
	}
	for _, t := range targets {
		if err := check(client, t.url, cookie); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}

	fmt.Printf("benchui: %d workers, %d alternating phases of %v per target, loopback, %d CPUs\n",
		*workers, *rounds, *phase, numCPU())
	// Warm both up (connections, caches, JIT-free but page faults).
	for _, t := range targets {
		load(ctx, client, &target{url: t.url}, cookie, *workers, time.Second)
	}
	procs := map[string]int{"kratos": k.PID(), "tandem": tandem.Process.Pid, "loadgen": os.Getpid()}
	if hydra != nil {
		procs["hydra"] = hydra.PID()
	}
	for r := 0; r < *rounds; r++ {
		for _, t := range targets {
			if err := ctx.Err(); err != nil {
				return err
			}
			before := cpuTimes(procs)
			load(ctx, client, t, cookie, *workers, *phase)
			after := cpuTimes(procs)
			if t.cpu == nil {
				t.cpu = map[string]time.Duration{}
			}
			for name := range procs {
				t.cpu[name] += after[name] - before[name]
			}
		}
	}
	rss, err := peakRSS(tandem.Process.Pid)
	if err != nil {
		return err
	}
	anon, file := rssSplit(tandem.Process.Pid)

	report := func(t *target) (rate float64, p50, p99 time.Duration) {
		slices.Sort(t.lat)
		rate = float64(t.n) / t.took.Seconds()
		p50, p99 = pct(t.lat, 0.50), pct(t.lat, 0.99)
		fmt.Printf("  %-40s %8.0f req/s   p50 %-9v p99 %-9v errors %d\n", t.name, rate, p50.Round(time.Microsecond), p99.Round(time.Microsecond), t.errs)
		if t.n > 0 {
			fmt.Printf("  %-40s CPU per request: kratos %v, tandem %v, hydra %v, load generator %v\n", "",
				(t.cpu["kratos"] / time.Duration(t.n)).Round(time.Microsecond),
				(t.cpu["tandem"] / time.Duration(t.n)).Round(time.Microsecond),
				(t.cpu["hydra"] / time.Duration(t.n)).Round(time.Microsecond),
				(t.cpu["loadgen"] / time.Duration(t.n)).Round(time.Microsecond))
		}
		return
	}
	kr, k50, k99 := report(kratosT)
	tr, t50, t99 := report(tandemT)
	fmt.Printf("  ratio tandem/kratos: rate %.2fx (goal ≥ 0.75)   p50 %.2fx   p99 %.2fx (goal ≤ 1.5)\n",
		tr/kr, float64(t50)/float64(k50), float64(t99)/float64(k99))
	errs := kratosT.errs + tandemT.errs
	if hydra != nil {
		hr, h50, h99 := report(hydraT)
		cr, c50, c99 := report(consentT)
		fmt.Printf("  ratio consent/hydra: rate %.2fx   p50 %.2fx   p99 %.2fx;   consent/login page: rate %.2fx\n",
			cr/hr, float64(c50)/float64(h50), float64(c99)/float64(h99), cr/tr)
		errs += hydraT.errs + consentT.errs
	}
	fmt.Printf("  tandem peak RSS: %.1f MB (goal ≤ 40); now %.1f MB anonymous + %.1f MB mapped from the binary\n",
		float64(rss)/1e6, float64(anon)/1e6, float64(file)/1e6)
	if errs > 0 {
		return errors.New("requests failed")
	}
	return nil
}

// consentChallenge creates an identity in Kratos and an OAuth2 client in
// Hydra, and returns the consent challenge of an authorization request of
// that client whose login Hydra accepted for the identity: what the
// consent page gets when a person has just signed in for an app.
func consentChallenge(ctx context.Context, k *kratostest.Kratos, h *hydratest.Hydra) (string, error) {
	body := `{"schema_id":"default","traits":{"email":"bench-consent@example.com"}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.AdminURL+"/admin/identities", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var ident struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ident); err != nil || resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create identity: %d %v", resp.StatusCode, err)
	}
	client, err := h.CreateClient(ctx, hydratest.Client{Name: "Bench", LogoURI: "https://bench.example/logo.png",
		RedirectURIs: []string{"http://127.0.0.1:9/callback"}, Scope: "openid email offline_access", TokenEndpointAuthMethod: "none"})
	if err != nil {
		return "", err
	}
	return h.NewAgent().ConsentChallenge(client, ident.ID, "openid email offline_access")
}

func check(c *http.Client, url, cookie string) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return nil
}

// load runs a closed loop from workers goroutines for d.
func load(ctx context.Context, c *http.Client, t *target, cookie string, workers int, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
				req.Header.Set("Cookie", cookie)
				req.Header.Set("Accept", "text/html,application/json")
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			t.lat = append(t.lat, lat...)
			t.n += len(lat)
			t.errs += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.took += time.Since(start)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)]
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

// peakRSS reads the process' high-water resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// rssSplit reads the process' resident memory now: anonymous (heap,
// stacks) and file-backed (the binary's pages).
func rssSplit(pid int) (anon, file int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "RssAnon:":
			anon = kb * 1024
		case "RssFile:":
			file = kb * 1024
		}
	}
	return anon, file
}

// cpuTimes reads each process' user+system CPU time from /proc.
func cpuTimes(procs map[string]int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[name] = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	}
	return out
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
