// Package dashboard is the adoption dashboard: one HTML page for product
// owners, drawn on the server as SVG from the device store's daily tallies
// and adoption snapshots. It has no script at all and sends its own
// Content Security Policy (a nonce for its one stylesheet). It reads at
// most devices.MaxReportDays days of totals per request, never the events.
package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/tandemauth/tandem/devices"
)

//go:embed templates/*.html
var templates embed.FS

// Options are the dashboard's dependencies.
type Options struct {
	Store  devices.Store
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Path is where the page is mounted; default /dashboard.
	Path string
}

// Dashboard is an http.Handler for GET Path.
type Dashboard struct {
	store  devices.Store
	logger *slog.Logger
	now    func() time.Time
	path   string
	page   *template.Template
}

// DefaultDays is the range shown without a query: the last 30 days.
const DefaultDays = 30

// New parses the page's template.
func New(o Options) (*Dashboard, error) {
	if o.Store == nil {
		return nil, errors.New("dashboard: a store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Path == "" {
		o.Path = "/dashboard"
	}
	page, err := template.New("page.html").Funcs(template.FuncMap{
		"pct":  func(v float64) string { return fmt.Sprintf("%.0f %%", v*100) },
		"addf": func(a, b float64) float64 { return a + b },
		"half": func(v int) int { return v / 2 },
	}).ParseFS(templates, "templates/page.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse template: %w", err)
	}
	return &Dashboard{store: o.Store, logger: o.Logger.With("component", "dashboard"), now: o.Now, path: o.Path, page: page}, nil
}

// rangeError is a range the page refuses, with what to do instead.
type rangeError struct{ msg string }

func (e *rangeError) Error() string { return e.msg }

// parseRange reads ?from=&to= (YYYY-MM-DD, UTC days, both inclusive).
// Missing values mean the last DefaultDays days; a to after today is
// clamped to today (there is nothing to show yet); a malformed, reversed or
// longer than devices.MaxReportDays range is refused.
func parseRange(q map[string][]string, today time.Time) (from, to time.Time, note string, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	to = today
	if v := get("to"); v != "" {
		if to, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, "", &rangeError{fmt.Sprintf("“to” must be a date like %s.", today.Format(time.DateOnly))}
		}
	}
	if to.After(today) {
		to, note = today, "The range ended in the future; it now ends today."
	}
	from = to.AddDate(0, 0, -(DefaultDays - 1))
	if v := get("from"); v != "" {
		if from, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, "", &rangeError{fmt.Sprintf("“from” must be a date like %s.", today.AddDate(0, 0, -DefaultDays+1).Format(time.DateOnly))}
		}
	}
	if from.After(to) {
		return from, to, "", &rangeError{"“from” is after “to”: swap them."}
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > devices.MaxReportDays {
		return from, to, "", &rangeError{fmt.Sprintf("The range spans %d days; choose at most %d.", days, devices.MaxReportDays)}
	}
	return from, to, note, nil
}

// ServeHTTP answers GET and HEAD on the dashboard's path.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != d.path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only: use GET", http.StatusMethodNotAllowed)
		return
	}
	nonce := newNonce()
	today := devices.Day(d.now())
	from, to, note, err := parseRange(r.URL.Query(), today)
	view := &pageView{Nonce: nonce, Path: d.path, Today: today.Format(time.DateOnly), Note: note,
		From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to")}
	status := http.StatusOK
	if err != nil {
		view.Error = err.Error()
		status = http.StatusBadRequest
	} else {
		view.From, view.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := d.fill(ctx, view, from, to, today); err != nil {
			d.logger.ErrorContext(ctx, "dashboard", "err", err)
			view.Error = "The device store could not be read; try again."
			status = http.StatusInternalServerError
		}
	}
	var buf bytes.Buffer
	if err := d.page.Execute(&buf, view); err != nil {
		d.logger.ErrorContext(r.Context(), "dashboard: render", "err", err)
		http.Error(w, "the dashboard could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; img-src 'self'; "+
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		_, _ = w.Write(buf.Bytes())
	}
}

func newNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	// URL-safe: html/template would write + as &#43; in the attribute (which
	// browsers decode, but the page is easier to check without it).
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// fill reads the range's figures and lays out the charts.
func (d *Dashboard) fill(ctx context.Context, v *pageView, from, to, today time.Time) error {
	counts, err := d.store.DailyCounts(ctx, from, to)
	if err != nil {
		return err
	}
	hist, err := d.store.AdoptionHistory(ctx, from, to)
	if err != nil {
		return err
	}
	now, err := d.store.Adoption(ctx)
	if err != nil {
		return err
	}
	days := dayList(from, to)
	layoutAdoption(v, days, hist, now, today)
	layoutCounts(v, days, counts)
	return nil
}

func dayList(from, to time.Time) []time.Time {
	var out []time.Time
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}
