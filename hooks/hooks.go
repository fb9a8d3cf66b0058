package hooks

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// Options assemble Tandem's hook listener.
type Options struct {
	Store       devices.Store
	Credentials CredentialSource
	Cookies     *browser.CookieCodec
	// APIKeys authenticate Kratos (ReceiverOptions.APIKeys); AdminKeys the
	// admin API (none: off). Any key of a list verifies; the two lists
	// must not share a key.
	APIKeys   []string
	AdminKeys []string
	// AcceptLegacyHeader is ReceiverOptions.AcceptLegacyHeader.
	AcceptLegacyHeader bool
	// Deadline is ReceiverOptions.Deadline.
	Deadline time.Duration
	MaxBody  int64
	Rules    []Rule
	Logger   *slog.Logger
	// CacheTTL is RecorderOptions.CacheTTL.
	CacheTTL time.Duration
	// TrustRecorded is RecorderOptions.TrustRecorded.
	TrustRecorded time.Duration
	Now           func() time.Time
	// Observe is ReceiverOptions.Observe.
	Observe func(Outcome)
}

// New returns the handler for Tandem's hook listener: Kratos' hooks under
// /hooks/, the admin API under /admin/, and /health/alive.
func New(o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	logger := o.Logger.With("component", "hooks")
	var adminKeys keySet
	if len(o.AdminKeys) > 0 {
		var err error
		if adminKeys, err = newKeySet("admin key", o.AdminKeys); err != nil {
			return nil, err
		}
	}
	policy, err := NewPolicy(o.Rules)
	if err != nil {
		return nil, err
	}
	rec, err := NewRecorder(RecorderOptions{
		Store: o.Store, Credentials: o.Credentials, Cookies: o.Cookies, Policy: policy,
		Logger: logger, CacheTTL: o.CacheTTL, TrustRecorded: o.TrustRecorded, Now: o.Now,
	})
	if err != nil {
		return nil, err
	}
	recv, err := NewReceiver(ReceiverOptions{APIKeys: o.APIKeys, AcceptLegacyHeader: o.AcceptLegacyHeader,
		Deadline: o.Deadline, MaxBody: o.MaxBody, Logger: logger, Observe: o.Observe}, rec.Handle)
	if err != nil {
		return nil, err
	}
	if adminKeys.overlaps(recv.keys) {
		return nil, errors.New("hooks: the admin keys must differ from the hook keys")
	}
	mux := http.NewServeMux()
	mux.Handle("/hooks/", recv)
	mux.Handle("/admin/", newAdminAPI(o.Store, adminKeys, logger))
	mux.HandleFunc("GET /health/alive", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found: hooks are under /hooks/, the admin API under /admin/")
	})
	return mux, nil
}

// Route names the route of a request to the hook listener for metrics: a
// fixed set of names, never the raw path (which holds identity ids). It
// returns "" for paths that are not the listener's.
func Route(path string) string {
	switch {
	case strings.HasPrefix(path, "/hooks/"):
		if p := kratosext.HookPoint(strings.TrimPrefix(path, "/hooks/")); p.Valid() {
			return path
		}
		return "/hooks/unknown"
	case path == "/health/alive":
		return path
	case strings.HasPrefix(path, "/admin/identities/"):
		rest := strings.TrimPrefix(path, "/admin/identities/")
		if _, sub, ok := strings.Cut(rest, "/"); ok {
			switch sub {
			case "credentials", "devices", "events":
				return "/admin/identities/{id}/" + sub
			}
			return "/admin/unknown"
		}
		return "/admin/identities/{id}"
	case strings.HasPrefix(path, "/admin/"):
		return "/admin/unknown"
	}
	return ""
}
