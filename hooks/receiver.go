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
	"sync"
	"time"

	"github.com/tandemauth/tandem/kratosext"
)

// KeyHeader is the header Kratos sends the hook key in, as
// "Bearer <key>" (KeyHeaderValue). Kratos v1.3.1 writes every header of a
// web-hook request to its log except Authorization, Cookie, Set-Cookie and
// X-Session-Token, so the key travels in Authorization: kratos.yml's
// auth.type api_key with config.name Authorization, config.in header and
// config.value "Bearer <key>".
const KeyHeader = "Authorization"

// KeyScheme is the authorization scheme Kratos must send the key with.
const KeyScheme = "Bearer"

// LegacyKeyHeader is where Tandem before 0.2 expected the key. Kratos logs
// it in clear on every delivery; it is accepted only while
// ReceiverOptions.AcceptLegacyHeader is set (tandem's
// hooks.accept_legacy_key_header, on during the transition, to be turned
// off by default in the next release and removed in the one after).
const LegacyKeyHeader = "X-Tandem-Hook-Key"

// KeyHeaderValue is the KeyHeader value that carries key: what kratos.yml's
// auth.config.value must hold.
func KeyHeaderValue(key string) string { return KeyScheme + " " + key }

// KeyFromHeaderValue returns the key a KeyHeader value carries, and false
// when the value does not have KeyHeaderValue's shape (a check of
// kratos.yml's auth.config.value uses it too).
func KeyFromHeaderValue(v string) (string, bool) { return bearer(v) }

// MinKeyLength is the shortest hook or admin key accepted.
const MinKeyLength = 16

// KratosHookTimeout is how long Kratos v1.3.1 waits for one web-hook
// attempt (not configurable). A receiver's deadline must be shorter, so
// that it answers before Kratos gives up on it.
const KratosHookTimeout = 30 * time.Second

// DefaultDeadline bounds one delivery: the user's sign-in waits for it,
// and Kratos retries a 5xx twice, so a stuck dependency costs at most
// three times this before the user sees an error page.
const DefaultDeadline = 5 * time.Second

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
	// APIKeys are the secrets Kratos may send; at least one, each at least
	// MinKeyLength characters. Any of them verifies, so a key is rotated
	// by listing the new one, changing kratos.yml, then dropping the old.
	APIKeys []string
	// AcceptLegacyHeader also accepts the key in LegacyKeyHeader (which
	// Kratos logs), for deployments whose kratos.yml still sends it there.
	AcceptLegacyHeader bool
	// Deadline bounds the handling of one delivery; zero means
	// DefaultDeadline. It must be shorter than KratosHookTimeout.
	Deadline time.Duration
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
	keys     keySet
	legacy   bool
	deadline time.Duration
	maxBody  int64
	logger   *slog.Logger
	observe  func(Outcome)
	fn       Func
	// warnLegacy logs once that Kratos still sends the legacy header.
	warnLegacy sync.Once
}

// NewReceiver returns a Receiver that hands deliveries to fn.
func NewReceiver(o ReceiverOptions, fn Func) (*Receiver, error) {
	keys, err := newKeySet("API key", o.APIKeys)
	if err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, errors.New("hooks: a Func is required")
	}
	if o.Deadline == 0 {
		o.Deadline = DefaultDeadline
	}
	if o.Deadline < 0 || o.Deadline >= KratosHookTimeout {
		return nil, fmt.Errorf("hooks: the deadline must be positive and shorter than Kratos' %v web-hook timeout, got %v", KratosHookTimeout, o.Deadline)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{
		keys:     keys,
		legacy:   o.AcceptLegacyHeader,
		deadline: o.Deadline,
		maxBody:  o.MaxBody,
		logger:   o.Logger,
		observe:  o.Observe,
		fn:       fn,
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
		writeError(w, http.StatusUnauthorized, "missing or wrong API key ("+KeyHeader+": "+KeyScheme+" …)")
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
	res, err := rc.handle(r.Context(), d)
	switch {
	case errors.Is(err, errDeadline):
		rc.logger.ErrorContext(r.Context(), "hook did not finish within its deadline", "point", point, "flow_id", p.FlowID,
			"identity_id", p.IdentityID, "deadline", rc.deadline, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the hook did not finish within its deadline; retry")
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

// errDeadline marks a delivery the receiver answered at its deadline.
var errDeadline = errors.New("hook deadline passed")

// handle runs the Func under the receiver's deadline and answers by the
// deadline even if the Func does not return: it runs on, its context
// cancelled, and whatever it still writes is recorded under the
// delivery's key, which Kratos' retry then finds. A 5xx never claims a
// write happened, so answering early is safe; a 2xx is only ever the
// Func's own answer.
func (rc *Receiver) handle(ctx context.Context, d Delivery) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, rc.deadline)
	defer cancel()
	type answer struct {
		res Result
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- answer{err: fmt.Errorf("hook panicked: %v", p)}
			}
		}()
		res, err := rc.fn(ctx, d)
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		if a.err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(a.err, ErrRejected) {
			return Result{}, fmt.Errorf("%w after %v: %w", errDeadline, rc.deadline, a.err)
		}
		return a.res, a.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("%w after %v: %w", errDeadline, rc.deadline, ctx.Err())
	}
}

// authorized checks the key Kratos sent: "Authorization: Bearer <key>",
// or, while the transition lasts, the legacy header.
func (rc *Receiver) authorized(r *http.Request) bool {
	key, ok := bearer(r.Header.Get(KeyHeader))
	if !ok && rc.legacy {
		if key = r.Header.Get(LegacyKeyHeader); key != "" {
			ok = true
			rc.warnLegacy.Do(func() {
				rc.logger.WarnContext(r.Context(), "Kratos sends the hook key in "+LegacyKeyHeader+
					", which it writes to its log on every delivery: send it as "+KeyHeader+": "+KeyScheme+
					" <key> (kratos.yml auth.config name/value), then set hooks.accept_legacy_key_header: false")
			})
		}
	}
	return ok && rc.keys.match(key)
}

// bearer returns the token of an "Authorization: Bearer <token>" value.
// The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
func bearer(v string) (string, bool) {
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, KeyScheme) {
		return "", false
	}
	return token, token != ""
}

// keySet holds the SHA-256 of each accepted key. Hashing first makes each
// comparison's time independent of the key's length; every key is
// compared, so the time does not say which one matched either.
type keySet [][32]byte

func newKeySet(what string, keys []string) (keySet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("hooks: an %s is required", what)
	}
	ks := make(keySet, 0, len(keys))
	for i, k := range keys {
		if len(k) < MinKeyLength {
			return nil, fmt.Errorf("hooks: %s %d of %d is shorter than %d characters", what, i+1, len(keys), MinKeyLength)
		}
		ks = append(ks, sha256.Sum256([]byte(k)))
	}
	return ks, nil
}

func (ks keySet) match(key string) bool {
	h := sha256.Sum256([]byte(key))
	ok := 0
	for i := range ks {
		ok |= subtle.ConstantTimeCompare(h[:], ks[i][:])
	}
	return ok == 1
}

// overlaps reports whether any key of other is also in ks.
func (ks keySet) overlaps(other keySet) bool {
	for _, a := range ks {
		for _, b := range other {
			if a == b {
				return true
			}
		}
	}
	return false
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
