package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui/locale"
)

// This file is the top of /settings: "Your passkeys" and "Where you're
// signed in". Kratos is the truth: a row is a credential Kratos lists for
// the identity, described with what Tandem's store knows of it (where it
// lives, how it was last used, its nickname); one Tandem never saw is
// shown from what Kratos reports. Removal goes through Kratos' own
// settings flow (the passkey_remove / webauthn_remove nodes), sessions
// through Kratos' session API.

// account is what the settings page reads about the signed-in identity,
// besides the flow: fetched at once, joined by buildAccount.
type account struct {
	kratos   []kratosext.WebAuthnCredential
	kratosOK error
	stored   []devices.Credential
	events   []devices.Event
	devices  []devices.LinkedDevice
	storeErr error
	current  *kratosext.Session
	others   []kratosext.SessionSummary
	sessErr  error
}

// loadAccount asks Kratos for the identity's credentials and the store
// for what it knows of them at once: the page waits for the slower, not
// the sum. With sessions, it asks Kratos for this session and the others
// too (the sessions page; bench-ui showed the two session calls tripled
// Kratos' work for the settings page).
func (s *Server) loadAccount(ctx context.Context, identityID, cookie string, sessions bool) *account {
	a := &account{}
	var wg sync.WaitGroup
	wg.Go(func() {
		a.kratos, a.kratosOK = s.kratos.IdentityCredentials(ctx, identityID)
		if errors.Is(a.kratosOK, kratosext.ErrIdentityNotFound) {
			// Deleted since the flow was fetched: nothing to list.
			a.kratos, a.kratosOK = nil, nil
		}
	})
	wg.Go(func() {
		if !sessions {
			return
		}
		var err error
		if a.current, err = s.kratos.Whoami(ctx, cookie); err == nil {
			a.others, err = s.kratos.OtherSessions(ctx, cookie)
		}
		if errors.Is(err, kratosext.ErrNoSession) {
			// Signed out since the flow was fetched: no sessions to list,
			// and Kratos will ask for a sign-in at the next submit.
			a.current, a.others, err = nil, nil, nil
		}
		a.sessErr = err
	})
	wg.Go(func() {
		a.stored, a.storeErr = s.store.ListCredentials(ctx, identityID, devices.CredentialFilter{IncludeRemoved: true})
		if a.storeErr == nil {
			a.events, a.storeErr = s.store.ListEvents(ctx, devices.EventFilter{IdentityID: identityID,
				Kinds: []devices.EventKind{devices.EventLogin, devices.EventRegistration}})
		}
		if a.storeErr == nil {
			a.devices, a.storeErr = s.store.ListDevices(ctx, identityID)
		}
	})
	wg.Wait()
	return a
}

// unavailable is the page when Kratos cannot list what the page is about:
// nothing half-rendered.
func unavailable(err error) error {
	return &httpError{Status: http.StatusServiceUnavailable, Heading: "passkeys.unavailable.title",
		Message: "passkeys.unavailable.message", Err: err}
}

// passkeyRow is one passkey or security key on the list.
type passkeyRow struct {
	// Hex is the id as Kratos' remove node carries it; Group is that
	// node's group (passkey or webauthn).
	Hex, Group string
	// BrowserID is the id as the browser knows it (Signal API).
	BrowserID string
	Name      string
	// Provider is shown under a nickname.
	Provider string
	// Kind picks the icon: phone, computer, key or unknown.
	Kind      string
	KindLabel string
	Where     string
	Sync      string
	Created   string
	LastUsed  string
	Uses      string
	PhoneHeld bool
	// RemoveHref asks for the confirmation; RenameError and RenameValue
	// are a refused rename's field error and what was typed.
	RemoveHref  string
	RenameError string
	RenameValue string
}

// passkeysSection is "Your passkeys".
type passkeysSection struct {
	Rows []passkeyRow
	// Notice says the store could not add its details.
	Notice string
	FlowID string
}

// passkeyRows joins Kratos' credentials with the store's, phone-held
// first, then oldest first.
func (s *Server) passkeyRows(l *locale.Locale, a *account, deviceID string, now time.Time) []passkeyRow {
	stored := make(map[devices.CredentialID]devices.Credential, len(a.stored))
	for _, c := range a.stored {
		stored[c.ID] = c
	}
	usedOn := lastUsedOn(l, a)
	rows := make([]passkeyRow, 0, len(a.kratos))
	for _, k := range a.kratos {
		id, err := devices.CredentialIDFromAdmin(k.ID)
		if err != nil {
			continue
		}
		c, known := stored[id]
		if !known || c.Removed() {
			// What Kratos reports: the store adds nothing (or is down).
			c = devices.Credential{ID: id, Type: devices.CredentialType(k.Type), AAGUID: k.AAGUID,
				ProviderName: devices.ProviderName(k.AAGUID), CreatedAt: k.AddedAt}
			known = false
		}
		c.BackupEligible, c.BackupState = k.BackupEligible, k.BackupState
		r := s.passkeyRow(l, c, k, known, deviceID, now)
		r.LastUsed = lastUsed(l, c, deviceID, usedOn[c.ID], now)
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(x, y passkeyRow) int {
		if x.PhoneHeld != y.PhoneHeld {
			if x.PhoneHeld {
				return -1
			}
			return 1
		}
		return 0
	})
	return rows
}

func (s *Server) passkeyRow(l *locale.Locale, c devices.Credential, k kratosext.WebAuthnCredential, known bool, deviceID string, now time.Time) passkeyRow {
	r := passkeyRow{Hex: c.ID.RemoveValue(), Group: k.Type, BrowserID: string(c.ID), Name: c.Name(), PhoneHeld: c.PhoneHeld}
	if c.Nickname != "" {
		r.Provider = l.Format("passkeys.provider", map[string]any{"Name": c.ProviderName})
	}
	r.Kind, r.Where = where(l, c, known, deviceID)
	r.KindLabel = l.T("passkeys.kind." + r.Kind)
	switch {
	case c.BackupState:
		r.Sync = l.T("passkeys.sync.synced")
	case c.BackupEligible:
		r.Sync = l.T("passkeys.sync.can_sync")
	default:
		r.Sync = l.T("passkeys.sync.bound")
	}
	date := l.Date(c.CreatedAt)
	if known && c.CreatedOnBrowser != "" && c.CreatedOnOS != "" {
		r.Created = l.Format("passkeys.created_on", map[string]any{"Date": date,
			"Device": l.Format("passkeys.browser_on_os", map[string]any{"Browser": c.CreatedOnBrowser, "OS": c.CreatedOnOS})})
	} else {
		r.Created = l.Format("passkeys.created", map[string]any{"Date": date})
	}
	if c.UseCount > 0 {
		r.Uses = l.Plural("passkeys.uses", int(c.UseCount), nil)
	}
	return r
}

// lastUsed says when and how a credential last signed in: through the
// phone (from which browser), on this computer, or on another device.
func lastUsed(l *locale.Locale, c devices.Credential, deviceID, usedOn string, now time.Time) string {
	if c.LastUsedAt.IsZero() {
		return l.T("passkeys.used.never")
	}
	words := map[string]any{"Ago": l.Ago(c.LastUsedAt, now), "Device": usedOn}
	switch {
	case c.LastUsedVia == devices.ViaHybrid && usedOn != "":
		return l.Format("passkeys.used.phone_from", words)
	case c.LastUsedVia == devices.ViaHybrid:
		return l.Format("passkeys.used.phone", words)
	case c.LastUsedVia == devices.ViaLocal && c.CreatedDeviceID == deviceID && deviceID != "":
		return l.Format("passkeys.used.here", words)
	case usedOn != "":
		return l.Format("passkeys.used.on", words)
	}
	return l.Format("passkeys.used.there", words)
}

// lastUsedOn names, for each credential, the browser of its latest
// sign-in in Tandem's record ("Chrome on Windows"): the login events,
// newest first, joined with the identity's devices.
func lastUsedOn(l *locale.Locale, a *account) map[devices.CredentialID]string {
	names := make(map[string]string, len(a.devices))
	for _, d := range a.devices {
		if d.Device.Browser != "" && d.Device.OS != "" {
			names[d.Device.ID] = l.Format("passkeys.browser_on_os", map[string]any{"Browser": d.Device.Browser, "OS": d.Device.OS})
		}
	}
	out := map[devices.CredentialID]string{}
	for _, e := range a.events {
		if e.Kind != devices.EventLogin || e.CredentialID == "" {
			continue
		}
		if _, seen := out[e.CredentialID]; !seen {
			out[e.CredentialID] = names[e.DeviceID]
		}
	}
	return out
}

// where says in plain words where a credential lives, and which icon
// shows it.
func where(l *locale.Locale, c devices.Credential, known bool, deviceID string) (kind, words string) {
	switch {
	case !known:
		if c.Type == devices.TypeWebAuthn {
			return "key", l.T("passkeys.where.key")
		}
		return "unknown", l.T("passkeys.where.unknown")
	case c.PhoneHeld && c.CreatedOnClass.Mobile() && c.CreatedOnOS != "":
		return "phone", l.Format("passkeys.where.phone_of", map[string]any{"OS": c.CreatedOnOS, "Browser": c.CreatedOnBrowser})
	case c.PhoneHeld:
		return "phone", l.T("passkeys.where.phone")
	case c.Attachment == devices.AttachmentPlatform && deviceID != "" && c.CreatedDeviceID == deviceID:
		return "computer", l.T("passkeys.where.this_computer")
	case c.Attachment == devices.AttachmentPlatform && c.CreatedOnOS != "":
		return "computer", l.Format("passkeys.where.other_computer", map[string]any{"OS": c.CreatedOnOS})
	case c.Attachment == devices.AttachmentPlatform:
		return "computer", l.T("passkeys.where.a_computer")
	case c.Attachment == devices.AttachmentCrossPlatform || c.Type == devices.TypeWebAuthn:
		return "key", l.T("passkeys.where.key")
	}
	return "unknown", l.T("passkeys.where.unknown")
}

// sessionRow is one place the identity is signed in.
type sessionRow struct {
	ID       string
	Device   string
	SignedIn string
	Kind     string
}

// sessionsSection is "Where you're signed in".
type sessionsSection struct {
	Current sessionRow
	Others  []sessionRow
}

// sessionRows words the sessions, joined with Tandem's record of each
// sign-in (a passkey through the phone, or on the device itself): Kratos
// records only "passkey".
func (s *Server) sessionRows(l *locale.Locale, a *account, here devices.Device) sessionsSection {
	out := sessionsSection{}
	cur := a.current
	out.Current = sessionRow{ID: cur.ID, Kind: kindOf(here.Class),
		Device:   l.Format("sessions.this_device", map[string]any{"Device": deviceWords(l, here.Browser, here.OS)}),
		SignedIn: s.signedIn(l, a, cur.AuthenticatedAt, methodOf(cur.AuthenticationMethods))}
	for _, o := range a.others {
		row := sessionRow{ID: o.ID, Kind: "computer", Device: l.T("sessions.unknown_device")}
		if len(o.Devices) > 0 {
			class, os, br := browser.Classify(o.Devices[0].UserAgent, "", "")
			row.Kind, row.Device = kindOf(class), deviceWords(l, br, os)
		}
		row.SignedIn = s.signedIn(l, a, o.AuthenticatedAt, methodOf(o.AuthenticationMethods))
		out.Others = append(out.Others, row)
	}
	return out
}

func kindOf(c devices.DeviceClass) string {
	if c.Mobile() {
		return "phone"
	}
	return "computer"
}

func deviceWords(l *locale.Locale, br, os string) string {
	if br == "" || os == "" {
		return l.T("sessions.unknown_device")
	}
	return l.Format("passkeys.browser_on_os", map[string]any{"Browser": br, "OS": os})
}

func methodOf(ms []kratosext.AuthenticationMethod) string {
	if len(ms) == 0 {
		return ""
	}
	return ms[len(ms)-1].Method
}

// signInSlack is how far apart Kratos' authenticated_at and the web
// hook's record of the same sign-in may be.
const signInSlack = time.Minute

// signedIn says when and how: "a passkey, through your phone" when
// Tandem recorded that sign-in.
func (s *Server) signedIn(l *locale.Locale, a *account, at time.Time, method string) string {
	how := l.T("sessions.how_unknown")
	if k := methodKey(method); method != "" && l.Has(k) {
		how = l.T(k)
	}
	if method == "passkey" || method == "webauthn" {
		for _, e := range a.events {
			if d := e.At.Sub(at); d > -signInSlack && d < signInSlack {
				switch e.Via {
				case devices.ViaHybrid:
					how = l.T("sessions.how.phone")
				case devices.ViaLocal:
					how = l.T("sessions.how.local")
				}
				break
			}
		}
	}
	return l.Format("sessions.signed_in", map[string]any{"When": l.DateTime(at), "How": how})
}

// signalData is what tandem.js tells the browser's passkey provider
// through the WebAuthn Signal API.
type signalData struct {
	RPID   string `json:"rpId"`
	UserID string `json:"userId,omitempty"`
	// Accepted are the ids Kratos still has (signalAllAcceptedCredentials).
	Accepted []string `json:"accepted"`
	// Unknown are ids Tandem saw removed lately (signalUnknownCredential).
	Unknown []string `json:"unknown,omitempty"`
}

// recentlyRemoved bounds which removals a visit signals again: the one
// just made, and others a browser may not have heard of yet.
const recentlyRemoved = 24 * time.Hour

func signals(a *account, rpID string, now time.Time) *signalData {
	if rpID == "" {
		return nil
	}
	sd := &signalData{RPID: rpID, Accepted: []string{}}
	live := map[devices.CredentialID]bool{}
	for _, k := range a.kratos {
		id, err := devices.CredentialIDFromAdmin(k.ID)
		if err != nil {
			continue
		}
		live[id] = true
		if k.Type == "passkey" {
			sd.Accepted = append(sd.Accepted, string(id))
			sd.UserID = cmp.Or(sd.UserID, k.UserHandle)
		}
	}
	for _, c := range a.stored {
		if c.Removed() && !live[c.ID] && now.Sub(c.RemovedAt) < recentlyRemoved {
			sd.Unknown = append(sd.Unknown, string(c.ID))
		}
	}
	return sd
}

// removeConfirm is the question before a removal: which passkey, what it
// means, and the warnings that apply. Its form posts straight to Kratos.
type removeConfirm struct {
	Heading  string
	Lead     string
	Warnings []string
	Action   string
	CSRF     string
	// Node and Value are Kratos' remove button (passkey_remove or
	// webauthn_remove, the hex id).
	Node, Value string
	// Kind and Where say which passkey, as its row did.
	Kind, Where string
	Button      string
	Cancel      string
	Keep        string
}

// confirmRemoval builds the question for the row whose hex id is hex;
// errNoSuchPasskey when the identity has none (a forged id, another
// identity's).
func (s *Server) confirmRemoval(l *locale.Locale, f *kratosext.Flow, rows []passkeyRow, hexID string, otherWays bool) (*removeConfirm, error) {
	i := slices.IndexFunc(rows, func(r passkeyRow) bool { return r.Hex == hexID })
	if i < 0 {
		return nil, &httpError{Status: http.StatusNotFound, Heading: "error.not_found.title", Message: "error.not_found.message",
			Err: fmt.Errorf("remove: no passkey %s on this identity", clipForLog(hexID))}
	}
	r := rows[i]
	c := &removeConfirm{Action: f.UI.Action, Node: r.Group + "_remove", Value: r.Hex, Kind: r.Kind, Where: r.Where,
		Heading: l.Format("passkeys.confirm.heading", map[string]any{"Name": r.Name}),
		Lead:    l.T("passkeys.confirm.lead"),
		Button:  l.T("passkeys.confirm.button"), Keep: l.T("passkeys.confirm.keep"),
		Cancel: s.path("/settings") + "?flow=" + f.ID}
	phones := 0
	for _, o := range rows {
		if o.PhoneHeld {
			phones++
		}
	}
	if r.PhoneHeld && phones == 1 {
		c.Warnings = append(c.Warnings, l.T("passkeys.confirm.last_phone"))
	}
	if !otherWays {
		c.Warnings = append(c.Warnings, l.T("passkeys.confirm.last_way"))
	}
	for _, n := range f.UI.Nodes {
		if n.Attributes.Name == "csrf_token" {
			c.CSRF = n.Attributes.StringValue()
		}
	}
	return c, nil
}

// otherWaysToSignIn reports whether Kratos would let this credential go:
// it disables the remove node of an identity's last way to sign in.
func otherWaysToSignIn(f *kratosext.Flow, hexID string) bool {
	for _, n := range f.UI.Nodes {
		if (n.Attributes.Name == "passkey_remove" || n.Attributes.Name == "webauthn_remove") && n.Attributes.StringValue() == hexID {
			return !n.Attributes.Disabled
		}
	}
	return false
}

// errStoreDown is logged when the list falls back to Kratos' names.
var errStoreDown = errors.New("device store unavailable; listing Kratos' names only")
