package hooks

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tandemauth/tandem/devices"
)

// adminAPI serves device metadata as JSON under /admin/, to operators and
// other services holding the admin key (Authorization: Bearer <key>).
type adminAPI struct {
	store devices.Store
	// keys are the admin keys; none turns the API off.
	keys   keySet
	logger *slog.Logger
	mux    *http.ServeMux
}

func newAdminAPI(store devices.Store, keys keySet, logger *slog.Logger) *adminAPI {
	a := &adminAPI{store: store, keys: keys, logger: logger, mux: http.NewServeMux()}
	for path, h := range map[string]http.HandlerFunc{
		"/admin/identities/{id}":             a.identity,
		"/admin/identities/{id}/credentials": a.credentials,
		"/admin/identities/{id}/devices":     a.devices,
		"/admin/identities/{id}/events":      a.events,
	} {
		a.mux.HandleFunc("GET "+path, h)
		a.mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "the admin API is read-only: use GET")
		})
	}
	// Without this, ServeMux answers unknown paths in plain text.
	a.mux.HandleFunc("/admin/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "unknown admin path; see /admin/identities/{id}[/credentials|/devices|/events]")
	})
	return a
}

func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(a.keys) == 0 {
		writeError(w, http.StatusNotFound, "the admin API is off: set hooks.admin_key to turn it on")
		return
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok || !a.keys.match(token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tandem-admin"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong admin key (Authorization: Bearer …)")
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *adminAPI) identityID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if err := devices.CheckIdentityID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return id, true
}

func (a *adminAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, devices.ErrInvalid) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	a.logger.ErrorContext(r.Context(), "admin API", "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "the device store failed; try again")
}

// identity answers everything Tandem knows about an identity at once.
func (a *adminAPI) identity(w http.ResponseWriter, r *http.Request) {
	id, ok := a.identityID(w, r)
	if !ok {
		return
	}
	creds, err := a.store.ListCredentials(r.Context(), id, devices.CredentialFilter{IncludeRemoved: true})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	devs, err := a.store.ListDevices(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	events, err := a.store.ListEvents(r.Context(), devices.EventFilter{IdentityID: id, Limit: 20})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"identity_id": id, "credentials": nonNil(creds), "devices": nonNil(devs), "events": nonNil(events),
	})
}

func (a *adminAPI) credentials(w http.ResponseWriter, r *http.Request) {
	id, ok := a.identityID(w, r)
	if !ok {
		return
	}
	creds, err := a.store.ListCredentials(r.Context(), id, devices.CredentialFilter{IncludeRemoved: r.URL.Query().Get("include_removed") == "true"})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity_id": id, "credentials": nonNil(creds)})
}

func (a *adminAPI) devices(w http.ResponseWriter, r *http.Request) {
	id, ok := a.identityID(w, r)
	if !ok {
		return
	}
	devs, err := a.store.ListDevices(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity_id": id, "devices": nonNil(devs)})
}

func (a *adminAPI) events(w http.ResponseWriter, r *http.Request) {
	id, ok := a.identityID(w, r)
	if !ok {
		return
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > devices.MaxEventLimit {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(devices.MaxEventLimit))
			return
		}
		limit = n
	}
	events, err := a.store.ListEvents(r.Context(), devices.EventFilter{IdentityID: id, Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"identity_id": id, "events": nonNil(events)})
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
