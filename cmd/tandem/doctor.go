package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/tandemauth/tandem/config"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/postgres"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/kratosext"
)

// A finding's status.
const (
	statusOK   = "OK"
	statusWarn = "WARN"
	statusFail = "FAIL"
)

// finding is one line of `tandem doctor`: a check, its status, what it
// saw and, unless OK, the one thing to do about it.
type finding struct {
	Check   string `json:"check"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// errDoctorFailed makes `tandem doctor` exit non-zero.
var errDoctorFailed = errors.New("doctor found problems")

func newDoctorCmd(c *cli) *cobra.Command {
	var kratosConfig string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check Tandem's configuration against the live Kratos and the store",
		Long: "doctor checks that Kratos and Tandem are wired for each other: Kratos answers, its browser flows\n" +
			"send browsers to Tandem's pages, the passkey and WebAuthn rp.id and origins fit the UI, Kratos'\n" +
			"cookies reach the UI's host, one host name throughout, kratos.yml's web hooks reach Tandem with its\n" +
			"body and key (with --kratos-config), Tandem's secrets, and the store. Each check prints OK, WARN or\n" +
			"FAIL with a one-line fix; the exit status is non-zero if any check fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.readConfig()
			if err != nil {
				return err
			}
			d := &doctor{cfg: cfg, kratosConfig: kratosConfig, timeout: timeout}
			fs := d.run(cmd.Context())
			if asJSON {
				if err := writeDoctorJSON(c.stdout, fs); err != nil {
					return err
				}
			} else {
				writeDoctorText(c.stdout, fs)
			}
			for _, f := range fs {
				if f.Status == statusFail {
					return errDoctorFailed
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kratosConfig, "kratos-config", "", "Kratos' configuration file, to check its web hooks and rp.origins")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "bound on each call to Kratos and the store")
	return cmd
}

func writeDoctorText(w io.Writer, fs []finding) {
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Status]++
	}
	fmt.Fprintf(w, "tandem doctor: %d OK, %d WARN, %d FAIL\n", counts[statusOK], counts[statusWarn], counts[statusFail])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Status, f.Check, f.Message)
		if f.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", f.Fix)
		}
	}
	tw.Flush()
}

func writeDoctorJSON(w io.Writer, fs []finding) error {
	out := struct {
		OK       bool      `json:"ok"`
		Findings []finding `json:"findings"`
	}{OK: true, Findings: fs}
	for _, f := range fs {
		if f.Status == statusFail {
			out.OK = false
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// doctor runs the checks.
type doctor struct {
	cfg          *config.Config
	kratosConfig string
	timeout      time.Duration
	out          []finding
	// rps are the live rp.ids, for comparing with --kratos-config.
	rps kratosext.RelyingParties
	// legacyHeader: kratos.yml sends the hook key in the legacy header.
	legacyHeader bool
}

func (d *doctor) add(check, status, msg, fix string) {
	d.out = append(d.out, finding{Check: check, Status: status, Message: msg, Fix: fix})
}

func (d *doctor) ok(check, msg string)        { d.add(check, statusOK, msg, "") }
func (d *doctor) warn(check, msg, fix string) { d.add(check, statusWarn, msg, fix) }
func (d *doctor) fail(check, msg, fix string) { d.add(check, statusFail, msg, fix) }
func (d *doctor) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d.timeout)
}

func (d *doctor) run(ctx context.Context) []finding {
	d.checkConfig()
	d.checkSecrets()
	d.checkStore(ctx)
	d.checkKratos(ctx)
	if d.cfg.Hydra.Enabled() {
		d.checkHydra(ctx)
	}
	if d.kratosConfig != "" {
		d.checkKratosFile()
	}
	return d.out
}

// checkHydra runs only when Hydra is configured (hydra.admin_url): its
// admin API answers, and its public API names the issuer Tandem expects.
func (d *doctor) checkHydra(parent context.Context) {
	h, err := hydraext.NewClient(hydraext.Options{AdminURL: d.cfg.Hydra.AdminURL, PublicURL: d.cfg.Hydra.PublicURL, Timeout: d.timeout})
	if err != nil {
		d.fail("hydra.admin", err.Error(), "set hydra.admin_url and hydra.public_url to absolute URLs")
		return
	}
	ctx, cancel := d.ctx(parent)
	defer cancel()
	if err := h.Ready(ctx); err != nil {
		d.fail("hydra.admin", fmt.Sprintf("Hydra's admin API does not answer at %s: %v", d.cfg.Hydra.AdminURL, err),
			"start Hydra, or set hydra.admin_url to its admin address (or unset it to turn OAuth2 off)")
	} else {
		d.ok("hydra.admin", "Hydra's admin API answers at "+d.cfg.Hydra.AdminURL)
	}
	want := strings.TrimSuffix(d.cfg.Hydra.PublicURL, "/") + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(d.cfg.Hydra.PublicURL, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		d.fail("hydra.issuer", err.Error(), "set hydra.public_url to Hydra's public URL as browsers see it")
		return
	}
	resp, err := (&http.Client{Timeout: d.timeout}).Do(req)
	if err != nil {
		d.warn("hydra.issuer", fmt.Sprintf("Hydra's public API does not answer here at %s: %v", d.cfg.Hydra.PublicURL, err),
			"check that browsers reach hydra.public_url (doctor may run where they cannot)")
		return
	}
	defer resp.Body.Close()
	var disc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&disc); err != nil || resp.StatusCode != http.StatusOK {
		d.fail("hydra.issuer", fmt.Sprintf("%s/.well-known/openid-configuration answered %d, not Hydra's discovery document", strings.TrimSuffix(d.cfg.Hydra.PublicURL, "/"), resp.StatusCode),
			"set hydra.public_url to Hydra's public URL")
		return
	}
	if strings.TrimSuffix(disc.Issuer, "/")+"/" != want {
		d.fail("hydra.issuer", fmt.Sprintf("Hydra's issuer is %s, but hydra.public_url is %s: tokens would name another issuer than the one apps were given", disc.Issuer, d.cfg.Hydra.PublicURL),
			"set hydra.public_url to the issuer, or Hydra's urls.self.issuer to hydra.public_url")
		return
	}
	d.ok("hydra.issuer", "Hydra's issuer is "+disc.Issuer)
}

// checkConfig reports invalid settings other than the secrets (which
// checkSecrets words on its own).
func (d *doctor) checkConfig() {
	var bad []string
	var verr *config.ValidationError
	for _, err := range unjoin(d.cfg.Validate()) {
		if errors.As(err, &verr) && (verr.Field == "ui.cookie_secret" || verr.Field == "hooks.api_key" || verr.Field == "hooks.admin_key") {
			continue
		}
		bad = append(bad, err.Error())
	}
	switch {
	case len(bad) > 0:
		for _, b := range bad {
			field, _, _ := strings.Cut(b, ":")
			d.fail("config", b, "set "+field+" (tandem.yml, "+config.EnvName(field)+" or its flag); README lists every key")
		}
	case d.cfg.Dev:
		d.warn("config", "dev is on: missing secrets are generated at every start", "turn dev off outside local development")
	default:
		d.ok("config", "every setting is valid")
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (d *doctor) checkSecrets() {
	const gen = "openssl rand -base64 48"
	// short names the first element of a secret list shorter than min, as
	// the configuration names it ("ui.cookie_secret[1]" in a list of more).
	short := func(key string, list []string, min int) (string, int) {
		for i, v := range list {
			if len(v) < min {
				if len(list) > 1 {
					return fmt.Sprintf("%s[%d]", key, i), len(v)
				}
				return key, len(v)
			}
		}
		return "", 0
	}
	set := func(list []string) string {
		if len(list) == 1 {
			return fmt.Sprintf("set (%d characters)", len(list[0]))
		}
		return fmt.Sprintf("set (%d, the first one current)", len(list))
	}
	cookie, api, admin := d.cfg.UI.CookieSecret, d.cfg.Hooks.APIKey, d.cfg.Hooks.AdminKey
	if name, n := short("ui.cookie_secret", cookie, 32); len(cookie) == 0 {
		d.fail("secrets.cookie", "ui.cookie_secret is not set: the device cookie cannot be signed", "set TANDEM_UI_COOKIE_SECRET to a random value ("+gen+")")
	} else if name != "" {
		d.fail("secrets.cookie", fmt.Sprintf("%s is %d characters; it needs at least 32", name, n), "set TANDEM_UI_COOKIE_SECRET to a longer random value ("+gen+")")
	} else {
		d.ok("secrets.cookie", "ui.cookie_secret is "+set(cookie))
	}
	if name, n := short("hooks.api_key", api, 16); len(api) == 0 {
		d.fail("secrets.hook_key", "hooks.api_key is not set: every web hook would be refused", "set TANDEM_HOOKS_API_KEY, and the same value in kratos.yml's web-hook auth")
	} else if name != "" {
		d.fail("secrets.hook_key", fmt.Sprintf("%s is %d characters; it needs at least 16", name, n), "set TANDEM_HOOKS_API_KEY to a longer random value, and the same in kratos.yml")
	} else {
		d.ok("secrets.hook_key", "hooks.api_key is "+set(api))
	}
	name, n := short("hooks.admin_key", admin, 16)
	switch {
	case len(admin) == 0:
		d.warn("secrets.admin_key", "hooks.admin_key is not set: the admin API is off, and /metrics and the dashboard are open to whoever reaches hooks.listen",
			"set TANDEM_HOOKS_ADMIN_KEY to a random value ("+gen+")")
	case name != "":
		d.fail("secrets.admin_key", fmt.Sprintf("%s is %d characters; it needs at least 16", name, n), "set TANDEM_HOOKS_ADMIN_KEY to a longer random value")
	case slices.ContainsFunc(admin, func(k string) bool { return slices.Contains(api, k) }):
		d.fail("secrets.admin_key", "a hooks.admin_key equals a hooks.api_key: Kratos could read the admin API", "give hooks.admin_key a value of its own")
	default:
		d.ok("secrets.admin_key", "hooks.admin_key is "+set(admin))
	}
}

// checkStore opens the store without migrating it.
func (d *doctor) checkStore(parent context.Context) {
	const check = "store"
	t, err := parseStoreDSN(d.cfg.Store.DSN)
	if err != nil {
		d.fail(check, err.Error(), "set store.dsn to sqlite://PATH or postgres://…")
		return
	}
	ctx, cancel := d.ctx(parent)
	defer cancel()
	var s devices.Store
	if t.path != "" {
		if _, err := os.Stat(t.path); errors.Is(err, fs.ErrNotExist) {
			fix := "run tandem migrate (tandem serve does it too, with store.migrate)"
			d.fail(check, t.String()+" does not exist", fix)
			return
		}
		s, err = sqlite.Open(ctx, t.path, sqlite.Options{})
	} else {
		s, err = postgres.Open(ctx, t.dsn, postgres.Options{})
	}
	var sv *devices.SchemaVersionError
	switch {
	case errors.As(err, &sv) && sv.Database > sv.Binary:
		d.fail(check, fmt.Sprintf("%s: %v", t, sv), "upgrade tandem: a newer version migrated this store")
		return
	case errors.As(err, &sv):
		d.fail(check, fmt.Sprintf("%s: %v", t, sv), "run tandem migrate")
		return
	case err != nil:
		d.fail(check, fmt.Sprintf("cannot open %s: %v", t, err), "check store.dsn and that the database is up")
		return
	}
	defer s.Close()
	if err := storeAnswers(ctx, s); err != nil {
		d.fail(check, fmt.Sprintf("%s does not answer: %v", t, err), "check that the database is up and reachable")
		return
	}
	d.ok(check, t.String()+" answers; its schema is this binary's")
}

// checkKratos runs the checks against the live Kratos.
func (d *doctor) checkKratos(parent context.Context) {
	k, err := kratosext.NewClient(kratosext.Options{PublicURL: d.cfg.Kratos.PublicURL, InternalURL: d.cfg.Kratos.InternalURL,
		AdminURL: d.cfg.Kratos.AdminURL, Timeout: d.timeout})
	if err != nil {
		d.fail("kratos.public", err.Error(), "set kratos.public_url and kratos.admin_url to absolute URLs")
		return
	}
	reach := d.cfg.Kratos.PublicURL
	if d.cfg.Kratos.InternalURL != "" {
		reach = d.cfg.Kratos.InternalURL
	}
	ctx, cancel := d.ctx(parent)
	publicErr := k.Ready(ctx)
	cancel()
	if publicErr != nil {
		d.fail("kratos.public", fmt.Sprintf("Kratos' public API does not answer at %s: %v", reach, publicErr),
			"start Kratos, or set kratos.public_url (and kratos.internal_url if Tandem reaches it at another address)")
	} else {
		d.ok("kratos.public", "Kratos' public API answers at "+reach)
	}
	ctx, cancel = d.ctx(parent)
	err = k.AdminReady(ctx)
	var version string
	if err == nil {
		version, err = k.AdminVersion(ctx)
	}
	cancel()
	switch {
	case err != nil:
		d.fail("kratos.admin", fmt.Sprintf("Kratos' admin API does not answer at %s: %v", d.cfg.Kratos.AdminURL, err),
			"start Kratos, or set kratos.admin_url to its admin address")
	case version != "master" && !strings.HasPrefix(version, "v1.3."):
		d.warn("kratos.admin", fmt.Sprintf("Kratos' admin API answers at %s, version %s; Tandem is built and tested for v1.3.1", d.cfg.Kratos.AdminURL, version),
			"run Kratos v1.3.1")
	default:
		note := ""
		if version == "master" {
			note = " (a build from source; scripts/install-kratos.sh builds v1.3.1, which calls itself master)"
		}
		d.ok("kratos.admin", fmt.Sprintf("Kratos' admin API answers at %s, version %s%s", d.cfg.Kratos.AdminURL, version, note))
	}
	ui, _ := url.Parse(d.cfg.UI.PublicURL)
	uiHost := ""
	if ui != nil {
		uiHost = strings.ToLower(ui.Hostname())
	}
	if publicErr != nil {
		for _, check := range []string{"kratos.flows", "kratos.rp_id", "kratos.cookies"} {
			d.fail(check, "not checked: Kratos' public API does not answer", "start Kratos, then run tandem doctor again")
		}
		d.checkHosts(uiHost, nil)
		return
	}

	// Browser flows: where Kratos sends a browser that starts one.
	var login *kratosext.FlowStart
	var badFlows []string
	hosts := []string{}
	for _, kind := range []kratosext.FlowKind{kratosext.Login, kratosext.Registration, kratosext.Recovery, kratosext.Verification} {
		ctx, cancel := d.ctx(parent)
		start, err := k.StartBrowserFlow(ctx, kind)
		cancel()
		if err != nil {
			badFlows = append(badFlows, fmt.Sprintf("%s: %v", kind, err))
			continue
		}
		if kind == kratosext.Login {
			login = start
		}
		want := strings.TrimSuffix(d.cfg.UI.PublicURL, "/") + "/" + string(kind)
		loc, err := url.Parse(start.Location)
		if err != nil || start.Location == "" {
			badFlows = append(badFlows, fmt.Sprintf("%s: Kratos answered %d without a redirect", kind, start.Status))
			continue
		}
		hosts = append(hosts, loc.Hostname())
		got := loc.Scheme + "://" + loc.Host + loc.Path
		if got != want {
			badFlows = append(badFlows, fmt.Sprintf("%s flows go to %s, not %s", kind, got, want))
		}
	}
	if len(badFlows) > 0 {
		for _, b := range badFlows {
			kind, _, _ := strings.Cut(b, " ")
			kind = strings.TrimSuffix(kind, ":")
			d.fail("kratos.flows", b, fmt.Sprintf("set selfservice.flows.%s.ui_url: %s/%s in kratos.yml", kind, strings.TrimSuffix(d.cfg.UI.PublicURL, "/"), kind))
		}
	} else {
		d.ok("kratos.flows", "Kratos sends browsers to "+strings.TrimSuffix(d.cfg.UI.PublicURL, "/")+"/{login,registration,recovery,verification}")
	}

	// rp.id, from a real registration flow's creation options.
	ctx, cancel = d.ctx(parent)
	rps, err := k.RegistrationRelyingParties(ctx)
	cancel()
	if err != nil {
		d.fail("kratos.rp_id", "cannot read a registration flow's WebAuthn options: "+err.Error(), "check Kratos' log; registration must be enabled")
	} else {
		if rps.Passkey == "" && rps.WebAuthn == "" {
			d.fail("kratos.rp_id", "a registration flow offers neither passkeys nor WebAuthn", "enable selfservice.methods.passkey (and webauthn) in kratos.yml")
		}
		for _, m := range []struct{ method, id string }{{"passkey", rps.Passkey}, {"webauthn", rps.WebAuthn}} {
			switch {
			case m.id == "":
			case net.ParseIP(m.id) != nil:
				d.fail("kratos.rp_id", fmt.Sprintf("%s rp.id is the IP address %s: browsers refuse it", m.method, m.id),
					fmt.Sprintf("set selfservice.methods.%s.config.rp.id: %s in kratos.yml", m.method, uiHost))
			case uiHost == m.id || strings.HasSuffix(uiHost, "."+m.id):
				d.ok("kratos.rp_id", fmt.Sprintf("%s rp.id %s covers the UI's host %s", m.method, m.id, uiHost))
			default:
				d.fail("kratos.rp_id", fmt.Sprintf("%s rp.id %s is neither the UI's host %s nor a suffix of it: every ceremony would fail", m.method, m.id, uiHost),
					fmt.Sprintf("set selfservice.methods.%s.config.rp.id: %s in kratos.yml", m.method, uiHost))
			}
			if m.id != "" {
				hosts = append(hosts, m.id)
			}
		}
		d.rps = rps
	}

	// Cookies: Kratos' CSRF cookie, set on the flow start, must reach the
	// UI's host (Tandem forwards it when it fetches the flow).
	d.checkCookies(login, uiHost, ui)
	d.checkHosts(uiHost, hosts)
}

func (d *doctor) checkCookies(login *kratosext.FlowStart, uiHost string, ui *url.URL) {
	const check = "kratos.cookies"
	if login == nil {
		d.fail(check, "not checked: no login flow could be started", "fix kratos.flows first")
		return
	}
	var csrf *struct{ domain, name string }
	secure := false
	for _, ck := range login.Cookies {
		if strings.HasPrefix(ck.Name, "csrf_token") {
			csrf = &struct{ domain, name string }{strings.TrimPrefix(strings.ToLower(ck.Domain), "."), ck.Name}
			secure = ck.Secure
		}
	}
	if csrf == nil {
		d.fail(check, "Kratos set no CSRF cookie when a login flow started", "check Kratos' cookie settings (cookies, session.cookie)")
		return
	}
	kratosURL, _ := url.Parse(d.cfg.Kratos.PublicURL)
	kratosHost := strings.ToLower(kratosURL.Hostname())
	domain, scope := csrf.domain, "its own host "+kratosHost
	if domain == "" {
		domain = kratosHost
	} else {
		scope = "the domain " + domain
	}
	if uiHost != domain && !(csrf.domain != "" && strings.HasSuffix(uiHost, "."+domain)) {
		d.fail(check, fmt.Sprintf("Kratos sets its cookies for %s; the UI at %s never receives them, so every flow fails its CSRF check", scope, uiHost),
			"serve Kratos and Tandem under one host name, or set cookies.domain and session.cookie.domain in kratos.yml to a domain covering both")
		return
	}
	if secure && ui != nil && ui.Scheme == "http" && uiHost != "localhost" {
		d.fail(check, "Kratos' cookies are Secure but the UI is plain http at "+uiHost+": browsers drop them", "serve the UI over https, or run Kratos with --dev locally")
		return
	}
	d.ok(check, fmt.Sprintf("Kratos sets its cookies for %s, which the UI at %s receives", scope, uiHost))
}

// checkHosts finds localhost mixed with an IP address among the hosts the
// browser sees: cookies are per host, and an IP cannot be an rp.id. seen
// are the hosts Kratos itself sends browsers to (redirects, rp.id).
func (d *doctor) checkHosts(uiHost string, seen []string) {
	const check = "hosts"
	where := map[string][]string{}
	note := func(what, h string) {
		h = strings.ToLower(h)
		if h != "" && !slices.Contains(where[h], what) {
			where[h] = append(where[h], what)
		}
	}
	note("ui.public_url", uiHost)
	if u, err := url.Parse(d.cfg.Kratos.PublicURL); err == nil {
		note("kratos.public_url", u.Hostname())
	}
	if d.cfg.Hydra.Enabled() {
		if u, err := url.Parse(d.cfg.Hydra.PublicURL); err == nil {
			note("hydra.public_url", u.Hostname())
		}
	}
	for _, h := range seen {
		note("Kratos' redirects and rp.id", h)
	}
	var names, ips []string
	for h, ws := range where {
		desc := h + " (" + strings.Join(ws, ", ") + ")"
		switch {
		case net.ParseIP(h) != nil:
			ips = append(ips, desc)
		case h == "localhost":
			names = append(names, desc)
		}
	}
	slices.Sort(names)
	slices.Sort(ips)
	if len(ips) > 0 && len(names) > 0 {
		d.fail(check, "the browser would see both "+strings.Join(names, ", ")+" and "+strings.Join(ips, ", ")+
			": cookies set for one never reach the other", "use localhost everywhere a browser goes: ui.public_url, kratos.public_url, Kratos' serve.public.base_url, ui_urls and rp.id")
		return
	}
	if len(ips) > 0 {
		d.fail(check, "the browser would use an IP address, "+strings.Join(ips, ", ")+": WebAuthn cannot use one as its rp.id",
			"give the UI and Kratos' public API a host name (localhost locally)")
		return
	}
	d.ok(check, "the browser sees host names only, no IP address")
}

// kratosFile is the part of kratos.yml doctor reads.
type kratosFile struct {
	OAuth2Provider struct {
		URL string `yaml:"url"`
	} `yaml:"oauth2_provider"`
	Selfservice struct {
		Methods map[string]struct {
			Enabled bool `yaml:"enabled"`
			Config  struct {
				RP struct {
					ID      string   `yaml:"id"`
					Origin  string   `yaml:"origin"`
					Origins []string `yaml:"origins"`
				} `yaml:"rp"`
			} `yaml:"config"`
		} `yaml:"methods"`
		Flows map[string]struct {
			After map[string]yaml.Node `yaml:"after"`
		} `yaml:"flows"`
	} `yaml:"selfservice"`
}

type kratosHook struct {
	Hook   string `yaml:"hook"`
	Config struct {
		URL    string `yaml:"url"`
		Method string `yaml:"method"`
		Body   string `yaml:"body"`
		Auth   struct {
			Type   string `yaml:"type"`
			Config struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
				In    string `yaml:"in"`
			} `yaml:"config"`
		} `yaml:"auth"`
		Response struct {
			Parse bool `yaml:"parse"`
		} `yaml:"response"`
	} `yaml:"config"`
}

// checkKratosFile reads kratos.yml: rp.origins (Kratos' API never shows
// them) and every web hook's URL, body and key.
func (d *doctor) checkKratosFile() {
	raw, err := os.ReadFile(d.kratosConfig)
	if err != nil {
		d.fail("kratos.config_file", "cannot read "+d.kratosConfig+": "+err.Error(), "pass the file Kratos runs with (kratos serve -c FILE) to --kratos-config")
		return
	}
	var kf kratosFile
	if err := yaml.Unmarshal(raw, &kf); err != nil {
		d.fail("kratos.config_file", "cannot parse "+d.kratosConfig+": "+err.Error(), "pass Kratos' YAML configuration to --kratos-config")
		return
	}
	ui, _ := url.Parse(d.cfg.UI.PublicURL)
	origin := ""
	if ui != nil {
		origin = strings.ToLower(ui.Scheme + "://" + ui.Host)
	}
	for _, method := range []string{"passkey", "webauthn"} {
		m, ok := kf.Selfservice.Methods[method]
		if !ok || !m.Enabled {
			continue
		}
		live := map[string]string{"passkey": d.rps.Passkey, "webauthn": d.rps.WebAuthn}[method]
		if live != "" && m.Config.RP.ID != live {
			d.warn("kratos.config_file", fmt.Sprintf("%s says %s rp.id %s, the running Kratos uses %s: it is not the file Kratos runs with", d.kratosConfig, method, m.Config.RP.ID, live),
				"pass the file Kratos runs with to --kratos-config")
		}
		origins := m.Config.RP.Origins
		if m.Config.RP.Origin != "" {
			origins = append(origins, m.Config.RP.Origin)
		}
		found := false
		for _, o := range origins {
			if strings.TrimSuffix(strings.ToLower(o), "/") == origin {
				found = true
			}
		}
		if found {
			d.ok("kratos.rp_origins", fmt.Sprintf("%s rp.origins contain the UI's origin %s", method, origin))
		} else {
			d.fail("kratos.rp_origins", fmt.Sprintf("%s rp.origins %v lack the UI's origin %s: Kratos refuses every ceremony the UI runs", method, origins, origin),
				fmt.Sprintf("add %s to selfservice.methods.%s.config.rp.origins in kratos.yml", origin, method))
		}
	}
	d.checkHooks(kf)
	if d.cfg.Hydra.Enabled() {
		got, want := strings.TrimSuffix(kf.OAuth2Provider.URL, "/"), strings.TrimSuffix(d.cfg.Hydra.AdminURL, "/")
		if got != want {
			d.fail("kratos.oauth2_provider", fmt.Sprintf("kratos.yml's oauth2_provider.url is %q, not hydra.admin_url %s: Kratos cannot accept Hydra's login challenges", kf.OAuth2Provider.URL, d.cfg.Hydra.AdminURL),
				"set oauth2_provider.url: "+d.cfg.Hydra.AdminURL+" in kratos.yml")
		} else {
			d.ok("kratos.oauth2_provider", "Kratos hands OAuth2 logins to the Hydra at "+d.cfg.Hydra.AdminURL)
		}
	}
}

// checkHooks follows every web hook of the login, registration and
// settings flows.
func (d *doctor) checkHooks(kf kratosFile) {
	const check = "kratos.hooks"
	listenHost, listenPort, _ := net.SplitHostPort(d.cfg.Hooks.Listen)
	var problems []string
	var fixes []string
	counts := map[string]int{}
	// auths are the distinct (header, value) pairs the hooks send.
	var auths [][2]string
	for _, flow := range []string{"login", "registration", "settings"} {
		after := kf.Selfservice.Flows[flow].After
		keys := make([]string, 0, len(after))
		for k := range after {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, key := range keys {
			node := after[key]
			var list []kratosHook
			where := "selfservice.flows." + flow + ".after"
			switch {
			case key == "hooks":
				_ = node.Decode(&list)
			case node.Kind == yaml.MappingNode:
				var m struct {
					Hooks []kratosHook `yaml:"hooks"`
				}
				_ = node.Decode(&m)
				list, where = m.Hooks, where+"."+key
			default:
				continue
			}
			where += ".hooks"
			for i, h := range list {
				if h.Hook != "web_hook" {
					continue
				}
				at := fmt.Sprintf("%s[%d]", where, i)
				u, err := url.Parse(h.Config.URL)
				if err != nil || !strings.HasPrefix(u.Path, "/hooks/") {
					continue // another service's hook
				}
				counts[flow]++
				if p, want := u.Path, "/hooks/after-"+flow; p != want {
					problems = append(problems, fmt.Sprintf("%s: posts to %s, not %s", at, p, want))
					fixes = append(fixes, fmt.Sprintf("set %s.config.url to http://%s%s", at, d.cfg.Hooks.Listen, want))
				}
				if !sameListener(u, listenHost, listenPort) {
					problems = append(problems, fmt.Sprintf("%s: posts to %s, but Tandem listens on %s", at, u.Host, d.cfg.Hooks.Listen))
					fixes = append(fixes, "point kratos.yml's hook URLs at hooks.listen ("+d.cfg.Hooks.Listen+"), or change hooks.listen")
				}
				if msg := d.checkBody(h.Config.Body); msg != "" {
					problems = append(problems, at+": "+msg)
					fixes = append(fixes, "set "+at+".config.body to file://…/hooks/body.jsonnet (Tandem's)")
				}
				if a := h.Config.Auth.Config; !slices.Contains(auths, [2]string{a.Name, a.Value}) {
					auths = append(auths, [2]string{a.Name, a.Value})
				}
				if msg := d.checkAuth(h); msg != "" {
					problems = append(problems, at+": "+msg)
					fixes = append(fixes, "send hooks.api_key in the "+hooks.KeyHeader+" header, which Kratos keeps out of its log (auth: {type: api_key, config: {name: "+hooks.KeyHeader+", value: "+hooks.KeyScheme+" <hooks.api_key>, in: header}})")
				}
				if flow != "login" && h.Config.Response.Parse {
					d.warn(check, at+" has response.parse: true: the hook runs before Kratos saves the identity and is refused",
						"set "+at+".config.response.parse: false")
				}
			}
		}
		if counts[flow] == 0 {
			problems = append(problems, "no web hook of "+flow+" reaches Tandem")
			fixes = append(fixes, "add Tandem's web hook to selfservice.flows."+flow+".after (see README, Wiring Kratos)")
		}
	}
	if d.legacyHeader {
		d.warn(check, "kratos.yml sends the hook key in "+hooks.LegacyKeyHeader+", which Kratos writes to its log on every delivery",
			"send it as "+hooks.KeyHeader+": "+hooks.KeyScheme+" <hooks.api_key> (README, Wiring Kratos), rotate the key, then set hooks.accept_legacy_key_header: false")
	}
	if len(problems) == 0 {
		d.ok(check, fmt.Sprintf("%d login, %d registration and %d settings web hooks reach %s with Tandem's body and key",
			counts["login"], counts["registration"], counts["settings"], d.cfg.Hooks.Listen))
		d.probeHookKeys(auths)
		return
	}
	// One line per kind of problem, naming where it first occurs and how
	// often: a wrong key is wrong in every hook at once.
	type group struct {
		first, fix string
		n          int
	}
	var order []string
	groups := map[string]*group{}
	for i, p := range problems {
		at, what, ok := strings.Cut(p, ": ")
		if !ok || !strings.HasPrefix(at, "selfservice.") {
			at, what = "", p
		}
		g := groups[what]
		if g == nil {
			g = &group{first: at, fix: fixes[i]}
			groups[what] = g
			order = append(order, what)
		}
		g.n++
	}
	for _, what := range order {
		g := groups[what]
		switch {
		case g.first == "":
			d.fail(check, what, g.fix)
		case g.n == 1:
			d.fail(check, g.first+": "+what, g.fix)
		default:
			d.fail(check, fmt.Sprintf("%d web hooks (%s and %d more): %s", g.n, g.first, g.n-1, what), g.fix)
		}
	}
}

// sameListener reports whether a hook URL reaches hooks.listen: the same
// port, and a host that is the listener's (any, when it listens on all
// interfaces; localhost and 127.0.0.1 alike).
func sameListener(u *url.URL, host, port string) bool {
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if p != port {
		return false
	}
	loop := func(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }
	h := u.Hostname()
	return host == "" || host == "0.0.0.0" || host == "::" || h == host || (loop(h) && loop(host))
}

// checkBody reads a hook body reference and checks it is Tandem's.
func (d *doctor) checkBody(ref string) string {
	var content []byte
	switch {
	case ref == "":
		return "has no body: Kratos then sends its whole context, the session cookie included"
	case strings.HasPrefix(ref, "base64://"):
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ref, "base64://"))
		if err != nil {
			return "its base64:// body does not decode"
		}
		content = b
	case strings.HasPrefix(ref, "file://"):
		p := strings.TrimPrefix(ref, "file://")
		candidates := []string{p}
		if !filepath.IsAbs(p) {
			// Kratos resolves it against its working directory; the
			// configuration's directory is the usual one.
			candidates = append(candidates, filepath.Join(filepath.Dir(d.kratosConfig), p))
		}
		for _, c := range candidates {
			if b, err := os.ReadFile(c); err == nil {
				content = b
				break
			}
		}
		if content == nil {
			return "its body " + ref + " is not found"
		}
	default:
		return "its body " + ref + " is neither file:// nor base64://"
	}
	for _, field := range []string{"device_cookie", "transient_payload", "flow_id"} {
		if !strings.Contains(string(content), field) {
			return "its body is not Tandem's hooks/body.jsonnet (no " + field + ")"
		}
	}
	return ""
}

// checkAuth compares the key a hook sends with hooks.api_key: as a bearer
// token in Authorization, or, while hooks.accept_legacy_key_header is on,
// in the X-Tandem-Hook-Key header (which Kratos writes to its log: a
// warning).
func (d *doctor) checkAuth(h kratosHook) string {
	a := h.Config.Auth
	if a.Type != "api_key" {
		return "sends no API key (auth.type is " + strings.TrimSpace(a.Type+" ") + "): Tandem refuses it with 401"
	}
	if a.Config.In != "" && a.Config.In != "header" {
		return "sends its key in the " + a.Config.In + ", not a header"
	}
	switch {
	case strings.EqualFold(a.Config.Name, hooks.LegacyKeyHeader):
		if !d.cfg.Hooks.AcceptLegacyKeyHeader {
			return "sends its key in " + hooks.LegacyKeyHeader + ", which hooks.accept_legacy_key_header: false refuses with 401"
		}
		if !slices.Contains(d.cfg.Hooks.APIKey, a.Config.Value) {
			return "sends a key other than hooks.api_key in " + hooks.LegacyKeyHeader + ": Tandem refuses it with 401"
		}
		d.legacyHeader = true
	case strings.EqualFold(a.Config.Name, hooks.KeyHeader):
		tok, ok := hooks.KeyFromHeaderValue(a.Config.Value)
		switch {
		case !ok:
			return "sends an Authorization header that is not Bearer <hooks.api_key>: Tandem refuses it with 401"
		case !slices.Contains(d.cfg.Hooks.APIKey, tok):
			return "sends a key other than hooks.api_key in Authorization: Tandem refuses it with 401"
		}
	default:
		return "sends its key in the " + a.Config.Name + " header, which Tandem does not read"
	}
	return ""
}

// probeHookKeys asks the running Tandem whether it accepts each key
// kratos.yml sends, in the header kratos.yml sends it in: a POST with an
// empty payload, which Tandem answers 400 once the key is accepted and 401
// before. Nothing is recorded. When no Tandem listens (doctor run before
// serve), the comparison with hooks.api_key above is all there is.
func (d *doctor) probeHookKeys(auths [][2]string) {
	const check = "kratos.hooks"
	host, port, err := net.SplitHostPort(d.cfg.Hooks.Listen)
	if err != nil {
		return
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	target := "http://" + net.JoinHostPort(host, port) + "/hooks/after-login"
	client := &http.Client{Timeout: d.timeout}
	for _, a := range auths {
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader("{}"))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(a[0], a[1])
		resp, err := client.Do(req)
		if err != nil {
			d.warn(check, "no Tandem answers at "+d.cfg.Hooks.Listen+", so the key kratos.yml sends was compared with hooks.api_key only",
				"run tandem doctor again while tandem serve runs")
			return
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusBadRequest:
			d.ok(check, fmt.Sprintf("the Tandem at %s accepts the key kratos.yml sends in %s", d.cfg.Hooks.Listen, a[0]))
		case http.StatusUnauthorized:
			d.fail(check, fmt.Sprintf("the Tandem at %s refuses the key kratos.yml sends in %s (401): it runs with another hooks.api_key, or reads another header", d.cfg.Hooks.Listen, a[0]),
				"restart tandem serve with the hooks.api_key kratos.yml sends (in "+hooks.KeyHeader+": "+hooks.KeyScheme+" <key>)")
		default:
			d.warn(check, fmt.Sprintf("%s answered %d to a hook with an empty payload; expected 400", target, resp.StatusCode),
				"check that hooks.listen is Tandem's hook listener")
		}
	}
}
