package hooks

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tandemauth/tandem/kratosext"
)

// DefaultKeyHeader is the header Kratos sends the API key in (kratos.yml:
// auth.type api_key, config.in header).
const DefaultKeyHeader = "X-Tandem-Hook-Key"

// DefaultMaxBody caps a hook body: a payload is a few KiB.
const DefaultMaxBody = 1 << 20

// Delivery is one authenticated, decoded web-hook call.
type Delivery struct {
	Point kratosext.HookPoint
	// Method is the ?method= of the hook URL: Kratos' per-method hook lists
	// name the method there, since the payload does not always carry it.
	Method  string
	Payload *kratosext.HookPayload
}

// Result tells Kratos what to do with the flow. The zero Result lets it
// continue (204 No Content).
type Result struct {
	// Interrupt stops the flow with messages for the user (403). Kratos
	// shows them only for hooks configured with response.parse: true.
	Interrupt *kratosext.HookMessages
}

// Func handles a delivery. A returned error is answered with 500, which
// Kratos retries: return one only when the work did not happen and may
// succeed later. Wrap ErrRejected for deliveries that can never succeed
// (answered 422).
type Func func(ctx context.Context, d Delivery) (Result, error)

// ErrRejected marks a delivery a Func refuses for good.
var ErrRejected = errors.New("hook rejected")

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// APIKey is the secret Kratos sends; required.
	APIKey string
	// KeyHeader is where Kratos sends it; default DefaultKeyHeader.
	KeyHeader string
	// MaxBody caps a body in bytes; default DefaultMaxBody.
	MaxBody int64
	Logger  *slog.Logger
	// Observe, if set, is told how each request ended (for metrics).
	Observe func(Outcome)
}

// Outcome is how the receiver answered one request. Point and Method are
// from fixed sets ("unknown" when the request named something else), so
// they can label metrics.
type Outcome struct {
	Point  string
	Method string
	Status int
	Took   time.Duration
}

// Result names the outcome: recorded (2xx), interrupted (the login policy
// refused, 403), unauthorized (401), rejected (another 4xx: a request
// Kratos should not send, or a delivery that can never succeed) or failed
// (5xx, which Kratos retries).
func (o Outcome) Result() string {
	switch {
	case o.Status < 300:
		return "recorded"
	case o.Status == http.StatusForbidden:
		return "interrupted"
	case o.Status == http.StatusUnauthorized:
		return "unauthorized"
	case o.Status < 500:
		return "rejected"
	}
	return "failed"
}

// Receiver is an http.Handler for Kratos' web hooks at POST
// /hooks/{after-registration,after-login,after-settings}?method=…
type Receiver struct {
	keyHash   [32]byte
	keyHeader string
	maxBody   int64
	logger    *slog.Logger
	observe   func(Outcome)
	fn        Func
}

// NewReceiver returns a Receiver that hands deliveries to fn.
func NewReceiver(o ReceiverOptions, fn Func) (*Receiver, error) {
	if len(o.APIKey) < 16 {
		return nil, errors.New("hooks: the API key must be at least 16 characters")
	}
	if fn == nil {
		return nil, errors.New("hooks: a Func is required")
	}
	if o.KeyHeader == "" {
		o.KeyHeader = DefaultKeyHeader
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{
		keyHash:   sha256.Sum256([]byte(o.APIKey)),
		keyHeader: o.KeyHeader,
		maxBody:   o.MaxBody,
		logger:    o.Logger,
		observe:   o.Observe,
		fn:        fn,
	}, nil
}

// methods are the Kratos methods a hook URL may name.
var methods = map[string]bool{
	"": true, "password": true, "passkey": true, "webauthn": true, "code": true, "oidc": true, "saml": true,
	"totp": true, "lookup_secret": true, "profile": true, "link": true,
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rc.observe == nil {
		rc.serve(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rc.serve(sw, r)
	o := Outcome{Point: "unknown", Method: "unknown", Status: sw.status, Took: time.Since(start)}
	if p := kratosext.HookPoint(strings.TrimPrefix(r.URL.Path, "/hooks/")); p.Valid() {
		o.Point = string(p)
	}
	if m := r.URL.Query().Get("method"); methods[m] {
		o.Method = m
		if m == "" {
			o.Method = "any"
		}
	}
	rc.observe(o)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	point := kratosext.HookPoint(strings.TrimPrefix(r.URL.Path, "/hooks/"))
	if !strings.HasPrefix(r.URL.Path, "/hooks/") || !point.Valid() {
		writeError(w, http.StatusNotFound, "unknown hook point; use /hooks/after-registration, /hooks/after-login or /hooks/after-settings")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "hooks accept POST only")
		return
	}
	if !rc.authorized(r) {
		writeError(w, http.StatusUnauthorized, "missing or wrong API key in the "+rc.keyHeader+" header")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return
	}
	method := r.URL.Query().Get("method")
	if !methods[method] {
		writeError(w, http.StatusBadRequest, "unknown method "+quote(method))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", rc.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "could not read the body")
		return
	}
	p, err := kratosext.DecodeHookPayload(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d := Delivery{Point: point, Method: method, Payload: p}
	res, err := rc.fn(r.Context(), d)
	switch {
	case errors.Is(err, ErrRejected):
		rc.logger.WarnContext(r.Context(), "hook rejected", "point", point, "flow_id", p.FlowID, "identity_id", p.IdentityID, "err", err)
		writeError(w, http.StatusUnprocessableEntity, "the delivery was rejected")
	case err != nil:
		// Kratos retries 5xx: right for a write that did not happen.
		rc.logger.ErrorContext(r.Context(), "hook failed", "point", point, "flow_id", p.FlowID, "identity_id", p.IdentityID, "err", err)
		writeError(w, http.StatusInternalServerError, "the hook could not be processed; retry")
	case res.Interrupt != nil:
		writeJSON(w, http.StatusForbidden, res.Interrupt)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// authorized compares the key in constant time. Hashing first makes the
// comparison's time independent of the key's length as well.
func (rc *Receiver) authorized(r *http.Request) bool {
	got := r.Header.Get(rc.keyHeader)
	if got == "" {
		return false
	}
	h := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(h[:], rc.keyHash[:]) == 1
}

// errorBody is every error answer's shape.
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Status, b.Error.Message = status, http.StatusText(status), msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}
