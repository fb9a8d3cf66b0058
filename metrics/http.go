package metrics

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Gin returns middleware that counts and times every request of a gin
// engine under listener. The route label is gin's route pattern
// ("/login", "/static/*file"), "unmatched" for a request no route took.
func (m *Metrics) Gin(listener string) gin.HandlerFunc {
	inFlight := m.httpInFlight.WithLabelValues(listener)
	return func(c *gin.Context) {
		start := time.Now()
		inFlight.Inc()
		defer inFlight.Dec()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.observeHTTP(listener, route, c.Request.Method, c.Writer.Status(), time.Since(start))
	}
}

// HTTP wraps a net/http handler: every request is counted and timed under
// listener, with the route label route(r) returns. route must map requests
// onto a fixed set of names (never the raw path, which holds ids).
func (m *Metrics) HTTP(listener string, route func(*http.Request) string, next http.Handler) http.Handler {
	inFlight := m.httpInFlight.WithLabelValues(listener)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inFlight.Inc()
		defer inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		m.observeHTTP(listener, route(r), r.Method, sw.status, time.Since(start))
	})
}

func (m *Metrics) observeHTTP(listener, route, method string, status int, took time.Duration) {
	method = httpMethod(method)
	m.httpRequests.WithLabelValues(listener, route, method, code(status)).Inc()
	m.httpDuration.WithLabelValues(listener, route, method).Observe(took.Seconds())
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Transport wraps an http.RoundTripper to Kratos: every call is counted
// and timed, labelled with call(r), which must map requests onto a fixed
// set of names (kratosext.CallName does).
func (m *Metrics) Transport(base http.RoundTripper, call func(*http.Request) string) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		name := call(r)
		start := time.Now()
		resp, err := base.RoundTrip(r)
		m.kratosDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		outcome := "ok"
		switch {
		case err != nil:
			outcome = "unavailable"
		case resp.StatusCode >= 500:
			outcome = "server_error"
		case resp.StatusCode >= 400:
			// 401 from whoami, 404 for an expired flow: Kratos answering as
			// designed, but worth seeing apart from successes.
			outcome = "client_error"
		}
		m.kratosRequests.WithLabelValues(name, outcome).Inc()
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
