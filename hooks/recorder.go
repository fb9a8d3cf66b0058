package hooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// RecorderOptions are a Recorder's dependencies.
type RecorderOptions struct {
	Store devices.Store
	// Credentials is Kratos' admin API (or anything that answers the same).
	Credentials CredentialSource
	// Cookies verifies the device cookie Kratos forwards.
	Cookies *browser.CookieCodec
	// Policy, if set, may refuse logins (after-login only).
	Policy *Policy
	Logger *slog.Logger
	// CacheTTL keeps Kratos' credential lists for login hooks: zero means
	// DefaultCacheTTL, a negative value turns the cache off. CacheSize
	// bounds it (default 10,000 identities).
	CacheTTL  time.Duration
	CacheSize int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Recorder is Tandem's hook Func: it records what happened in the devices
// store.
type Recorder struct {
	store   devices.Store
	creds   *credentialCache
	cookies *browser.CookieCodec
	policy  *Policy
	logger  *slog.Logger
}

// NewRecorder returns a Recorder.
func NewRecorder(o RecorderOptions) (*Recorder, error) {
	if o.Store == nil || o.Credentials == nil || o.Cookies == nil {
		return nil, errors.New("hooks: a store, a credential source and a cookie codec are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10_000
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	return &Recorder{
		store:   o.Store,
		creds:   newCredentialCache(o.Credentials, o.CacheTTL, o.CacheSize, o.Now),
		cookies: o.Cookies,
		policy:  o.Policy,
		logger:  o.Logger,
	}, nil
}

// DefaultCacheTTL is how long a login hook trusts the credential list it
// fetched from Kratos for an identity. A credential the browser names that
// is not in the kept list makes the hook ask again, so a new passkey is
// never refused; a removed one is trusted at most this long.
const DefaultCacheTTL = time.Minute

// TransientKey is the member of Kratos' transient_payload that carries
// Tandem's report: {"tandem": {…}}.
const TransientKey = "tandem"

// Handle records one delivery. It answers an error (so Kratos retries) only
// when the store failed or Kratos could not be asked; a report it cannot
// trust is dropped and the delivery recorded without it.
func (r *Recorder) Handle(ctx context.Context, d Delivery) (Result, error) {
	p := d.Payload
	deviceID := ""
	if p.DeviceCookie != "" {
		id, err := r.cookies.Decode(p.DeviceCookie)
		if err != nil {
			r.logger.WarnContext(ctx, "hook: device cookie does not verify; ignoring it", "flow_id", p.FlowID, "identity_id", p.IdentityID)
		} else {
			deviceID = id
		}
	}
	report, source := r.report(ctx, p, deviceID)
	method := d.Method
	if method == "" {
		method = p.Active
	}

	switch d.Point {
	case kratosext.AfterLogin:
		return r.login(ctx, p, deviceID, method, report, source)
	case kratosext.AfterRegistration:
		return Result{}, r.registration(ctx, p, deviceID, method, report)
	case kratosext.AfterSettings:
		return Result{}, r.settings(ctx, p, deviceID, method, report)
	}
	return Result{}, fmt.Errorf("%w: unknown hook point %q", ErrRejected, d.Point)
}

// report finds what the browser said about this flow: the observation the
// page posted to the UI (keyed by flow and device), else the copy in
// transient_payload. Either is only the browser's word.
func (r *Recorder) report(ctx context.Context, p *kratosext.HookPayload, deviceID string) (*browser.Report, string) {
	if deviceID != "" {
		o, err := r.store.GetObservation(ctx, p.FlowID, deviceID)
		if err == nil {
			if rep, err := browser.DecodeReport(o.Data); err == nil {
				return &rep, "observation"
			}
			r.logger.WarnContext(ctx, "hook: stored observation does not decode", "flow_id", p.FlowID)
		} else if !errors.Is(err, devices.ErrNotFound) {
			r.logger.WarnContext(ctx, "hook: read observation", "flow_id", p.FlowID, "err", err)
		}
	}
	if len(p.TransientPayload) > 0 && !bytes.Equal(p.TransientPayload, []byte("null")) {
		var tp map[string]json.RawMessage
		if json.Unmarshal(p.TransientPayload, &tp) == nil && len(tp[TransientKey]) > 0 {
			if rep, err := browser.DecodeReport(tp[TransientKey]); err == nil {
				return &rep, "transient_payload"
			}
			r.logger.WarnContext(ctx, "hook: transient_payload report does not decode", "flow_id", p.FlowID)
		}
	}
	return nil, ""
}

// device builds the device record from the cookie, the request headers
// Kratos forwarded and the capabilities the page probed.
func device(id string, p *kratosext.HookPayload, rep *browser.Report) devices.Device {
	class, os, browser := browser.Classify(p.UserAgent, p.CHMobile, p.CHPlatform)
	d := devices.Device{ID: id, Class: class, OS: os, Browser: browser}
	if rep != nil {
		d.Capabilities = rep.Capabilities
	}
	return d
}

// verified finds the reported credential among the identity's Kratos
// credentials. It returns nil when the browser named none, or one the
// identity does not own (logged: a forged or confused report).
func (r *Recorder) verified(ctx context.Context, p *kratosext.HookPayload, rep *browser.Report, fresh bool) (*kratosext.WebAuthnCredential, []kratosext.WebAuthnCredential, error) {
	var want string
	if rep != nil && rep.CredentialID != "" {
		id, err := devices.CredentialIDFromBrowser(rep.CredentialID)
		if err != nil {
			return nil, nil, nil // DecodeReport checked it; unreachable
		}
		raw, _ := id.Bytes()
		want = base64.StdEncoding.EncodeToString(raw)
	}
	var creds []kratosext.WebAuthnCredential
	var err error
	if fresh {
		creds, err = r.creds.refresh(ctx, p.IdentityID)
	} else {
		creds, err = r.creds.lookup(ctx, p.IdentityID, want)
	}
	if errors.Is(err, kratosext.ErrIdentityNotFound) {
		return nil, nil, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if err != nil {
		return nil, nil, err
	}
	if want == "" {
		return nil, creds, nil
	}
	for i := range creds {
		if creds[i].ID == want {
			return &creds[i], creds, nil
		}
	}
	r.logger.WarnContext(ctx, "hook: the browser reported a credential the identity does not own; ignoring it",
		"flow_id", p.FlowID, "identity_id", p.IdentityID)
	return nil, creds, nil
}

// credential merges what Kratos verified with what the browser reported.
func credential(identityID string, k *kratosext.WebAuthnCredential, rep *browser.Report) (devices.Credential, error) {
	id, err := devices.CredentialIDFromAdmin(k.ID)
	if err != nil {
		return devices.Credential{}, err
	}
	c := devices.Credential{
		ID:             id,
		IdentityID:     identityID,
		Type:           devices.CredentialType(k.Type),
		BackupEligible: k.BackupEligible,
		BackupState:    k.BackupState,
	}
	if a, err := devices.ParseAAGUID(k.AAGUID); err == nil {
		c.AAGUID = a
	}
	if rep != nil {
		c.Attachment = rep.Attachment
		c.Transports = rep.Transports
	}
	return c, nil
}

func (r *Recorder) login(ctx context.Context, p *kratosext.HookPayload, deviceID, method string, rep *browser.Report, source string) (Result, error) {
	var k *kratosext.WebAuthnCredential
	if rep != nil && rep.CredentialID != "" {
		// Only a claimed credential needs Kratos' word. A password or code
		// login (or a browser that reported nothing) records without
		// asking, so it neither waits for Kratos' admin API nor fails when
		// it is down.
		var err error
		if k, _, err = r.verified(ctx, p, rep, false); err != nil {
			return Result{}, err
		}
	}
	if r.policy != nil {
		if msg := r.policy.Check(p, method, k); msg != nil {
			r.logger.InfoContext(ctx, "hook: policy refused a login", "flow_id", p.FlowID, "identity_id", p.IdentityID, "method", method)
			return Result{Interrupt: msg}, nil
		}
	}
	if deviceID == "" {
		// An API flow, or a browser that never loaded Tandem's pages:
		// there is no device to record against.
		r.logger.DebugContext(ctx, "hook: login without a device cookie; nothing to record", "flow_id", p.FlowID)
		return Result{}, nil
	}
	l := devices.Login{
		Key:        devices.EventKey{Point: string(kratosext.AfterLogin), FlowID: p.FlowID},
		IdentityID: p.IdentityID,
		Method:     method,
		Device:     device(deviceID, p, rep),
	}
	// The row of the desktop table this sign-in started from, for the
	// funnel: the device as the page probed it, and whether it held a
	// passkey of the identity before this login (which the login is about
	// to record).
	link, err := r.store.GetLink(ctx, deviceID, p.IdentityID)
	if err != nil && !errors.Is(err, devices.ErrNotFound) {
		return Result{}, r.storeErr("read link", err)
	}
	l.Row = devices.LoginRow(l.Device, link.LocalPasskey)
	if k != nil {
		c, err := credential(p.IdentityID, k, rep)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		// A login reports only the attachment; transports come from the
		// registration Tandem recorded.
		c.Transports = nil
		l.Credential = c
		l.Via = r.via(ctx, c.ID, rep.Attachment)
	}
	res, err := r.store.RecordLogin(ctx, l)
	if err != nil {
		return Result{}, r.storeErr("record login", err)
	}
	r.logger.DebugContext(ctx, "hook: login recorded", "flow_id", p.FlowID, "identity_id", p.IdentityID,
		"method", method, "via", l.Via, "report", source, "duplicate", res.Duplicate)
	return Result{}, nil
}

// via decides how a credential answered a login. A platform answer is this
// device. A cross-platform one is a phone over hybrid, unless Tandem knows
// the credential is not phone-held (a security key plugged into this
// computer).
func (r *Recorder) via(ctx context.Context, id devices.CredentialID, attachment devices.Attachment) devices.Via {
	if attachment == devices.AttachmentPlatform {
		return devices.ViaLocal
	}
	stored, err := r.store.GetCredential(ctx, id)
	known := err == nil
	switch {
	case attachment == devices.AttachmentCrossPlatform && known && !stored.PhoneHeld:
		return devices.ViaLocal
	case attachment == devices.AttachmentCrossPlatform:
		return devices.ViaHybrid
	case known && stored.PhoneHeld:
		return devices.ViaHybrid
	}
	return devices.ViaLocal
}

func (r *Recorder) registration(ctx context.Context, p *kratosext.HookPayload, deviceID, method string, rep *browser.Report) error {
	if deviceID == "" {
		r.logger.DebugContext(ctx, "hook: registration without a device cookie; nothing to record", "flow_id", p.FlowID)
		return nil
	}
	key := devices.EventKey{Point: string(kratosext.AfterRegistration), FlowID: p.FlowID}
	if method != "passkey" && method != "webauthn" {
		// A sign-up with a password or a code: no credential to keep, but
		// Kratos signs the new identity in on this device, which later
		// prompts need to know.
		_, err := r.store.RecordLogin(ctx, devices.Login{Key: key, IdentityID: p.IdentityID, Method: method, Device: device(deviceID, p, rep), SignUp: true})
		return r.storeErr("record sign-up", err)
	}
	k, creds, err := r.verified(ctx, p, rep, true)
	if err != nil {
		return err
	}
	if k == nil {
		// No report (no JavaScript, or it was dropped): a new identity has
		// exactly the one credential it signed up with.
		for i := range creds {
			if creds[i].Type == method {
				k = &creds[i]
			}
		}
		rep = nil
	}
	if k == nil {
		r.logger.WarnContext(ctx, "hook: Kratos lists no credential for a WebAuthn sign-up", "flow_id", p.FlowID, "identity_id", p.IdentityID)
		return nil
	}
	c, err := credential(p.IdentityID, k, rep)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	_, err = r.store.RecordRegistration(ctx, devices.Registration{Key: key, Method: method, Credential: c, Device: device(deviceID, p, rep)})
	return r.storeErr("record registration", err)
}

func (r *Recorder) settings(ctx context.Context, p *kratosext.HookPayload, deviceID, method string, rep *browser.Report) error {
	_, creds, err := r.verified(ctx, p, nil, true)
	if err != nil {
		return err
	}
	current := make([]devices.CredentialID, 0, len(creds))
	for _, k := range creds {
		id, err := devices.CredentialIDFromAdmin(k.ID)
		if err != nil {
			continue
		}
		current = append(current, id)
	}
	removed, err := r.store.ReconcileCredentials(ctx, p.IdentityID, current)
	if err != nil {
		return r.storeErr("reconcile credentials", err)
	}
	if len(removed) > 0 {
		r.logger.InfoContext(ctx, "hook: credentials removed in Kratos", "identity_id", p.IdentityID, "count", len(removed))
	}
	if rep == nil || deviceID == "" || rep.CredentialID == "" ||
		(rep.Ceremony != kratosext.PasskeySettings && rep.Ceremony != kratosext.SecurityKeyRegistration) {
		return nil
	}
	key := devices.EventKey{Point: string(kratosext.AfterSettings), FlowID: p.FlowID, Nonce: rep.Nonce}
	if rep.Nonce == "" || key.Check() != nil {
		// The browser's nonce keys the event; without a usable one it
		// could not be recorded idempotently. Kratos' side (the
		// reconciliation above) is done either way.
		r.logger.WarnContext(ctx, "hook: settings report without a usable nonce; not recorded", "flow_id", p.FlowID)
		return nil
	}
	want, _ := devices.CredentialIDFromBrowser(rep.CredentialID)
	i := slices.IndexFunc(current, func(id devices.CredentialID) bool { return id == want })
	if i < 0 {
		r.logger.WarnContext(ctx, "hook: the browser reported a credential the identity does not own; ignoring it",
			"flow_id", p.FlowID, "identity_id", p.IdentityID)
		return nil
	}
	c, err := credential(p.IdentityID, &creds[i], rep)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	_, err = r.store.RecordRegistration(ctx, devices.Registration{
		Key:    key,
		Kind:   devices.EventSettings,
		Method: method, Credential: c, Device: device(deviceID, p, rep),
	})
	if errors.Is(err, devices.ErrConflict) {
		// Already recorded under another key (say, the page was submitted
		// twice): the credential is known, which is all that matters.
		return nil
	}
	return r.storeErr("record added credential", err)
}

// storeErr keeps invalid input from being retried forever: Kratos retries
// 5xx, and the same bad input would fail the same way.
func (r *Recorder) storeErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, devices.ErrInvalid):
		return fmt.Errorf("%w: %s: %w", ErrRejected, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
