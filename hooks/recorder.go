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
	// TrustRecorded is how long after Kratos last listed a credential
	// (devices.Credential.VerifiedAt) a login hook trusts Tandem's own
	// record of it instead of asking Kratos' admin API; see Recorder for
	// why that is safe. Zero asks Kratos at every login that names a
	// credential.
	TrustRecorded time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Recorder is Tandem's hook Func: it records what happened in the devices
// store.
//
// # Which credential a login used, and whom to ask
//
// Kratos never says which credential a login used: the browser's report
// names it, and the after-login hook runs only after Kratos has verified
// the assertion and accepted the login. The hook cannot let anyone in;
// what it decides is what to record (the credential's last use, how it
// answered, whether this device holds a passkey) and, for identities a
// policy rule applies to, whether to refuse the login.
//
// Asking Kratos' admin API proves one thing about the named credential:
// the identity owns it now. It does not prove the login used it (the
// browser could name any credential of its own account). Tandem's record
// proves nearly the same: every credential row came from Kratos' admin API
// (a registration, a settings change or a login whose hook asked it), for
// this identity, and VerifiedAt says when Kratos last listed it. So a
// login naming a credential Tandem recorded for this identity, not marked
// removed and verified within TrustRecorded, is recorded without asking
// Kratos: at production traffic, where an identity rarely signs in twice
// within a cache's minute, that is what keeps every sign-in from waiting
// on Kratos' admin API. Kratos is asked when:
//   - the credential is unknown to Tandem, another identity's, marked
//     removed, or last verified longer ago than TrustRecorded;
//   - a policy rule applies to the identity: a refusal is an access
//     decision, and it needs Kratos' backup flags as they are now, so it
//     bypasses the cache as well;
//   - at every registration and settings change (they reconcile Tandem's
//     record with Kratos').
//
// What trusting the record risks: a credential removed in Kratos whose
// removal Tandem missed (the after-settings hook failed all three of
// Kratos' attempts — Kratos has saved the change regardless — or an
// operator deleted it through Kratos' admin API, which runs no hook).
// Kratos would never accept an assertion from it, so a login naming it
// used another credential and the browser's report is wrong (a bug, or the
// account's own user tampering). The harm is confined to that account's
// metadata: a use counted on a credential Kratos no longer has, and this
// device marked as holding a local passkey. No other identity's record
// can be touched (the identity must match), a removed row is never
// trusted nor revived (devices.Login.Verified), and no access decision
// rests on it. It is bounded in time: once TrustRecorded has passed since
// Kratos last listed the credential, the next login naming it asks Kratos,
// and when Kratos no longer lists it the hook reconciles the identity's
// credentials, marking it removed. Any settings change reconciles sooner.
type Recorder struct {
	store   devices.Store
	creds   *credentialCache
	cookies *browser.CookieCodec
	policy  *Policy
	logger  *slog.Logger
	trust   time.Duration
	now     func() time.Time
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
		trust:   max(o.TrustRecorded, 0),
		now:     o.Now,
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

// claimedID is the credential the browser's report names, in the admin
// API's encoding and canonically; "" when it names none.
func claimedID(rep *browser.Report) (string, devices.CredentialID) {
	if rep == nil || rep.CredentialID == "" {
		return "", ""
	}
	id, err := devices.CredentialIDFromBrowser(rep.CredentialID)
	if err != nil {
		return "", "" // DecodeReport checked it; unreachable
	}
	raw, _ := id.Bytes()
	return base64.StdEncoding.EncodeToString(raw), id
}

// verified finds the reported credential among the identity's Kratos
// credentials, fetched afresh (fresh) or through the cache. It returns nil
// when the browser named none, or one the identity does not own (logged: a
// forged or confused report).
func (r *Recorder) verified(ctx context.Context, p *kratosext.HookPayload, rep *browser.Report, fresh bool) (*kratosext.WebAuthnCredential, []kratosext.WebAuthnCredential, error) {
	want, _ := claimedID(rep)
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

// trusted reports whether Tandem's record of a credential stands in for
// Kratos' word at a login of identityID (see Recorder).
func (r *Recorder) trusted(c devices.Credential, identityID string) bool {
	return r.trust > 0 && c.IdentityID == identityID && !c.Removed() &&
		!c.VerifiedAt.IsZero() && r.now().Sub(c.VerifiedAt) < r.trust
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
	var (
		k        *kratosext.WebAuthnCredential // what Kratos listed, when asked
		record   *devices.Credential           // Tandem's record, when trusted instead
		stored   devices.Credential            // Tandem's record, if any
		known    bool
		unsure   bool // Kratos did not answer in time
		guarded  = r.policy.Applies(p)
		_, claim = claimedID(rep)
	)
	if claim != "" {
		// Only a claimed credential needs checking. A password or code
		// login (or a browser that reported nothing) records without
		// asking, so it neither waits for Kratos' admin API nor fails when
		// it is down.
		var err error
		stored, err = r.store.GetCredential(ctx, claim)
		known = err == nil
		if err != nil && !errors.Is(err, devices.ErrNotFound) {
			r.logger.WarnContext(ctx, "hook: read credential; asking Kratos", "flow_id", p.FlowID, "err", err)
		}
		if known && !guarded && r.trusted(stored, p.IdentityID) {
			record = &stored
		} else if k, unsure, err = r.ask(ctx, p, rep, guarded, stored, known); err != nil {
			return Result{}, err
		}
	}
	if guarded {
		msg := r.policy.Check(p, method, k)
		if unsure {
			msg = r.policy.Unchecked(p)
		}
		if msg != nil {
			r.logger.InfoContext(ctx, "hook: policy refused a login", "flow_id", p.FlowID, "identity_id", p.IdentityID,
				"method", method, "unchecked", unsure)
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
	switch {
	case record != nil:
		l.Credential = *record
		l.Via = via(stored, known, rep.Attachment)
	case k != nil:
		c, err := credential(p.IdentityID, k, rep)
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		// A login reports only the attachment; transports come from the
		// registration Tandem recorded.
		c.Transports = nil
		l.Credential, l.Verified = c, true
		l.Via = via(stored, known, rep.Attachment)
	}
	res, err := r.store.RecordLogin(ctx, l)
	if err != nil {
		return Result{}, r.storeErr("record login", err)
	}
	r.logger.DebugContext(ctx, "hook: login recorded", "flow_id", p.FlowID, "identity_id", p.IdentityID,
		"method", method, "via", l.Via, "report", source, "trusted_record", record != nil, "duplicate", res.Duplicate)
	return Result{}, nil
}

// ask checks a login's claimed credential with Kratos' admin API, within
// half of what is left of the delivery's deadline: the rest is the
// store's. When Kratos does not answer in that time, the login is
// recorded without the credential (unsure) rather than holding the
// sign-in; a policy then refuses it, failing closed. When Kratos no
// longer lists a credential Tandem still holds live for the identity,
// Tandem's record is reconciled with Kratos' list.
func (r *Recorder) ask(ctx context.Context, p *kratosext.HookPayload, rep *browser.Report, fresh bool, stored devices.Credential, known bool) (k *kratosext.WebAuthnCredential, unsure bool, err error) {
	kctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		kctx, cancel = context.WithTimeout(ctx, time.Until(dl)/2)
		defer cancel()
	}
	k, creds, err := r.verified(kctx, p, rep, fresh)
	switch {
	case err == nil:
	case errors.Is(err, kratosext.ErrTimeout) && ctx.Err() == nil:
		r.logger.WarnContext(ctx, "hook: Kratos' admin API did not answer in time; recording the login without its credential",
			"flow_id", p.FlowID, "identity_id", p.IdentityID, "err", err)
		return nil, true, nil
	default:
		return nil, false, err
	}
	if k == nil && known && stored.IdentityID == p.IdentityID && !stored.Removed() {
		current := make([]devices.CredentialID, 0, len(creds))
		for _, c := range creds {
			if id, err := devices.CredentialIDFromAdmin(c.ID); err == nil {
				current = append(current, id)
			}
		}
		removed, err := r.store.ReconcileCredentials(ctx, p.IdentityID, current)
		if err != nil {
			r.logger.WarnContext(ctx, "hook: reconcile credentials", "flow_id", p.FlowID, "identity_id", p.IdentityID, "err", err)
		} else if len(removed) > 0 {
			r.logger.InfoContext(ctx, "hook: credentials removed in Kratos", "identity_id", p.IdentityID, "count", len(removed))
		}
	}
	return k, false, nil
}

// via decides how a credential answered a login, given Tandem's record of
// it (known: there is one, for this identity). A platform answer is this
// device. A cross-platform one is a phone over hybrid, unless Tandem knows
// the credential is not phone-held (a security key plugged into this
// computer).
func via(stored devices.Credential, known bool, attachment devices.Attachment) devices.Via {
	if attachment == devices.AttachmentPlatform {
		return devices.ViaLocal
	}
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
