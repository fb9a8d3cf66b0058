package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/tandemauth/tandem/adminauth"
	"github.com/tandemauth/tandem/dashboard"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/metrics"
)

// internalOptions are the parts of the internal listener (hooks.listen):
// Kratos' web hooks and the admin API (package hooks), /metrics and the
// adoption dashboard for operators, and the readiness probe.
type internalOptions struct {
	hooks     http.Handler
	metrics   *metrics.Metrics
	dashboard *dashboard.Dashboard
	guard     *adminauth.Guard
	ready     map[string]func(context.Context) error
	logger    *slog.Logger
}

// internalHandler composes the internal listener. /metrics and the
// dashboard are behind the admin key (when one is set) and refuse other
// origins; the hooks check their own key.
func internalHandler(o internalOptions) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", o.guard.Wrap(o.metrics.Handler()))
	mux.Handle("/dashboard", o.guard.Wrap(o.dashboard))
	mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, body := http.StatusOK, map[string]string{"status": "ok"}
		for name, check := range o.ready {
			if err := check(ctx); err != nil {
				o.logger.WarnContext(ctx, "not ready", "check", name, "err", err)
				status, body = http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "failed": name}
				break
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.Handle("/", o.hooks)
	return o.metrics.HTTP("internal", internalRoute, mux)
}

// internalRoute names a request's route for metrics, from a fixed set.
func internalRoute(r *http.Request) string {
	switch p := r.URL.Path; p {
	case "/metrics", "/dashboard", "/health/ready":
		return p
	default:
		if route := hooks.Route(p); route != "" {
			return route
		}
	}
	return "other"
}
