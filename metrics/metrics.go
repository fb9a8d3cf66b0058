// Package metrics exposes Tandem's Prometheus metrics: request rate,
// errors and latency per route (a middleware for gin and one for
// net/http), Kratos calls (an http.RoundTripper), store operations and the
// CDA funnel (a devices.Store that counts what the store it wraps
// records), hook deliveries, and the adoption gauges read from the store's
// maintained counts.
//
// Nothing here is global: New builds a registry of its own, and Handler
// serves it. Every label comes from a fixed set (routes, methods, the
// devices package's funnel vocabulary): no identity ids, no e-mail
// addresses, no User-Agents. Names lists every metric Tandem exports.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandemauth/tandem/devices"
)

// Options configure Metrics.
type Options struct {
	// Store, if set, feeds the adoption gauges (devices.Store.Adoption,
	// read at each scrape).
	Store devices.Store
	// AdoptionTimeout bounds that read; default 2 s.
	AdoptionTimeout time.Duration
}

// Metrics holds Tandem's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight *prometheus.GaugeVec

	kratosRequests *prometheus.CounterVec
	kratosDuration *prometheus.HistogramVec

	storeOps      *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec

	hookDeliveries *prometheus.CounterVec
	hookDuration   *prometheus.HistogramVec

	signups         *prometheus.CounterVec
	signins         *prometheus.CounterVec
	prompts         *prometheus.CounterVec
	passkeysAdded   *prometheus.CounterVec
	passkeysRemoved prometheus.Counter
}

// The metric names, for dashboards and the test that checks them.
const (
	NameHTTPRequests        = "tandem_http_requests_total"
	NameHTTPDuration        = "tandem_http_request_duration_seconds"
	NameHTTPInFlight        = "tandem_http_requests_in_flight"
	NameKratosRequests      = "tandem_kratos_requests_total"
	NameKratosDuration      = "tandem_kratos_request_duration_seconds"
	NameStoreOperations     = "tandem_store_operations_total"
	NameStoreDuration       = "tandem_store_operation_duration_seconds"
	NameHookDeliveries      = "tandem_hook_deliveries_total"
	NameHookDuration        = "tandem_hook_delivery_duration_seconds"
	NameSignUps             = "tandem_signups_total"
	NameSignIns             = "tandem_signins_total"
	NamePrompts             = "tandem_prompts_total"
	NamePasskeysAdded       = "tandem_passkeys_added_total"
	NamePasskeysRemoved     = "tandem_passkeys_removed_total"
	NameIdentities          = "tandem_identities"
	NameAdoptionReadErrors  = "tandem_adoption_read_errors_total"
	NameAdoptionReadSeconds = "tandem_adoption_read_duration_seconds"
)

// latency buckets, in seconds: from a cached page (sub-millisecond) to a
// hook Kratos gives up on (30 s).
var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New builds the collectors and registers them, with the Go runtime's and
// the process's.
func New(o Options) (*Metrics, error) {
	if o.AdoptionTimeout <= 0 {
		o.AdoptionTimeout = 2 * time.Second
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameHTTPRequests,
			Help: "HTTP requests answered, by listener (ui, internal), route pattern, method and status code."},
			[]string{"listener", "route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameHTTPDuration,
			Help: "Time to answer an HTTP request, by listener, route pattern and method.", Buckets: buckets},
			[]string{"listener", "route", "method"}),
		httpInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameHTTPInFlight,
			Help: "HTTP requests being answered now, by listener."}, []string{"listener"}),
		kratosRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameKratosRequests,
			Help: "Calls to Kratos, by call and outcome (ok, client_error, server_error, unavailable)."},
			[]string{"call", "outcome"}),
		kratosDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameKratosDuration,
			Help: "Time Kratos took to answer a call, by call.", Buckets: buckets}, []string{"call"}),
		storeOps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameStoreOperations,
			Help: "Device store operations, by operation and outcome (ok, not_found, conflict, invalid, error)."},
			[]string{"op", "outcome"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameStoreDuration,
			Help: "Time a device store operation took, by operation.", Buckets: buckets}, []string{"op"}),
		hookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameHookDeliveries,
			Help: "Kratos web-hook deliveries, by hook point, Kratos method and outcome (recorded, interrupted, unauthorized, rejected, failed)."},
			[]string{"point", "method", "outcome"}),
		hookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameHookDuration,
			Help: "Time to answer a web-hook delivery, by hook point.", Buckets: buckets}, []string{"point"}),
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameSignUps,
			Help: "Sign-ups, by where the first passkey was created (phone, this_device, security_key, unknown, none) and Kratos method."},
			[]string{"passkey", "method"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameSignIns,
			Help: "Sign-ins, by the row of the CDA desktop table they started from and how they happened."},
			[]string{"row", "way"}),
		prompts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NamePrompts,
			Help: "Prompts shown and answered, by prompt (post_cda, upgrade) and answer (shown, accepted, snoozed, refused)."},
			[]string{"prompt", "answer"}),
		passkeysAdded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: NamePasskeysAdded,
			Help: "Passkeys recorded at sign-up or added in settings, by where they were created."}, []string{"place"}),
		passkeysRemoved: prometheus.NewCounter(prometheus.CounterOpts{Name: NamePasskeysRemoved,
			Help: "Passkeys found removed in Kratos."}),
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.httpInFlight, m.kratosRequests, m.kratosDuration,
		m.storeOps, m.storeDuration, m.hookDeliveries, m.hookDuration,
		m.signups, m.signins, m.prompts, m.passkeysAdded, m.passkeysRemoved,
	}
	if o.Store != nil {
		cs = append(cs, newAdoptionCollector(o.Store, o.AdoptionTimeout))
	}
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Series that exist from the start, so that rates and ratios are
	// defined before the first event of each kind.
	for _, row := range devices.PlanRows() {
		for _, way := range devices.Ways() {
			m.signins.WithLabelValues(string(row), string(way))
		}
	}
	for _, p := range []devices.PromptKind{devices.PromptPostCDA, devices.PromptUpgrade} {
		for _, a := range devices.Answers() {
			m.prompts.WithLabelValues(string(p), string(a))
		}
	}
	for _, p := range devices.Places() {
		methods := []string{"passkey", "webauthn"}
		if p == devices.PlaceNone {
			methods = []string{"password", "code"}
		} else {
			m.passkeysAdded.WithLabelValues(string(p))
		}
		for _, method := range methods {
			m.signups.WithLabelValues(string(p), method)
		}
	}
	return m, nil
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the registry, for tests and for services that embed Tandem's
// packages and want its metrics among theirs.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Names lists the names of every metric Tandem itself defines (not the
// go_* and process_* ones the client library adds). A histogram's series
// are Name_bucket, Name_sum and Name_count.
func Names() []string {
	return []string{NameHTTPRequests, NameHTTPDuration, NameHTTPInFlight, NameKratosRequests, NameKratosDuration,
		NameStoreOperations, NameStoreDuration, NameHookDeliveries, NameHookDuration, NameSignUps, NameSignIns,
		NamePrompts, NamePasskeysAdded, NamePasskeysRemoved, NameIdentities, NameAdoptionReadErrors, NameAdoptionReadSeconds}
}

// ObserveHook counts one web-hook delivery. point and method must come
// from bounded sets (hooks.Outcome does that).
func (m *Metrics) ObserveHook(point, method, outcome string, took time.Duration) {
	m.hookDeliveries.WithLabelValues(point, method, outcome).Inc()
	m.hookDuration.WithLabelValues(point).Observe(took.Seconds())
}

// count adds what a recorded (not duplicate) event tallies.
func (m *Metrics) count(ts []devices.Tally) {
	for _, t := range ts {
		switch t.Series {
		case devices.SeriesSignUp:
			m.signups.WithLabelValues(t.A, kratosMethod(t.B)).Inc()
		case devices.SeriesSignIn:
			m.signins.WithLabelValues(t.A, t.B).Inc()
		case devices.SeriesPrompt:
			m.prompts.WithLabelValues(t.A, t.B).Inc()
		case devices.SeriesPasskeyAdded:
			m.passkeysAdded.WithLabelValues(t.A).Inc()
		case devices.SeriesPasskeyRemoved:
			m.passkeysRemoved.Inc()
		}
	}
}

// kratosMethods are the methods Kratos v1.3.1 names; anything else is
// "other", so that a label cannot grow without bound.
var kratosMethods = []string{"password", "passkey", "webauthn", "code", "oidc", "saml", "totp", "lookup_secret", "profile", "link"}

func kratosMethod(m string) string {
	if slices.Contains(kratosMethods, m) {
		return m
	}
	return "other"
}

// httpMethod bounds the method label.
func httpMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func code(status int) string { return strconv.Itoa(status) }

// adoptionCollector reads the adoption counts at each scrape. They are
// counters the store maintains, so the read is a handful of rows however
// many identities there are (BenchmarkScrape measures it).
type adoptionCollector struct {
	store    devices.Store
	timeout  time.Duration
	desc     *prometheus.Desc
	errors   prometheus.Counter
	duration prometheus.Histogram
}

func newAdoptionCollector(s devices.Store, timeout time.Duration) *adoptionCollector {
	return &adoptionCollector{
		store:   s,
		timeout: timeout,
		desc: prometheus.NewDesc(NameIdentities,
			"Identities Tandem knows, by the passkeys they hold (phone_only, phone_and_local, local_only, other, none). "+
				"Every replica reports the same shared totals: aggregate with max, not sum.",
			[]string{"passkeys"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: NameAdoptionReadErrors,
			Help: "Scrapes whose adoption read failed (the gauges are then missing from that scrape)."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: NameAdoptionReadSeconds,
			Help: "Time the adoption read took at a scrape.", Buckets: buckets}),
	}
}

func (c *adoptionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	c.errors.Describe(ch)
	c.duration.Describe(ch)
}

func (c *adoptionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	start := time.Now()
	a, err := c.store.Adoption(ctx)
	c.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.errors.Inc()
	} else {
		for _, class := range devices.AdoptionClasses() {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(a[class]), string(class))
		}
	}
	c.errors.Collect(ch)
	c.duration.Collect(ch)
}
