package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// The settings page's own forms: rename a passkey, sign out another
// session or all others. Each accepts only a post from this UI's pages
// (sameOriginForm), acts for the identity of the session the cookie
// carries, and sends the browser back to the page it came from.

// renameReasons are the field errors a refused rename shows: the
// devices.CheckNickname reasons, and two of the page's own.
var renameReasons = []string{devices.NicknameEmpty, devices.NicknameTooLong, devices.NicknameControl, devices.NicknameMarkup,
	"unknown", "store"}

// maxAccountForm bounds the forms' bodies: a few short fields.
const maxAccountForm = 4 << 10

// accountForm checks and parses one of the page's posts, and returns the
// session behind it. A cross-site post is refused before anything is
// read; without a session the browser goes to sign in (nil session).
func (s *Server) accountForm(c *gin.Context) (url.Values, *kratosext.Session, error) {
	form, err := s.ownForm(c, "settings form", maxAccountForm)
	if err != nil {
		return nil, nil, err
	}
	sess, err := s.kratos.Whoami(c.Request.Context(), c.GetHeader("Cookie"))
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		s.redirect(c, s.path("/login"))
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return form, sess, nil
}

// backToSettings is the settings page of the flow the form came from, or
// a new one.
func (s *Server) backToSettings(form url.Values, extra url.Values) string {
	if id := form.Get("flow"); flowID.MatchString(id) {
		q := url.Values{"flow": {id}}
		for k, v := range extra {
			q[k] = v
		}
		return s.path("/settings") + "?" + q.Encode()
	}
	return s.path("/settings")
}

// handleRename sets a passkey's nickname. The credential must be one
// Kratos lists for the signed-in identity (else 404, nothing written); a
// bad name comes back as the field's error.
func (s *Server) handleRename(c *gin.Context) error {
	form, sess, err := s.accountForm(c)
	if err != nil || sess == nil {
		return err
	}
	ctx := c.Request.Context()
	id, err := devices.CredentialIDFromRemoveValue(form.Get("credential"))
	if err != nil {
		return notFound(fmt.Errorf("rename: malformed credential id: %w", err))
	}
	creds, err := s.kratos.IdentityCredentials(ctx, sess.Identity.ID)
	if err != nil {
		return unavailable(err)
	}
	if !slices.ContainsFunc(creds, func(k kratosext.WebAuthnCredential) bool {
		kid, err := devices.CredentialIDFromAdmin(k.ID)
		return err == nil && kid == id
	}) {
		return notFound(fmt.Errorf("rename: no credential %s on identity %s", id, sess.Identity.ID))
	}
	fieldError := func(reason string) error {
		s.redirect(c, s.backToSettings(form, url.Values{"rename": {id.RemoveValue()}, "error": {reason}})+"#passkey-"+id.RemoveValue())
		return nil
	}
	nick, err := devices.CheckNickname(form.Get("nickname"))
	var inv *devices.InvalidError
	if errors.As(err, &inv) {
		return fieldError(inv.Reason)
	}
	_, err = s.store.NameCredential(ctx, devices.Naming{Key: devices.EventKey{Point: "ui-rename", FlowID: uuid.NewString()},
		IdentityID: sess.Identity.ID, CredentialID: id, DeviceID: deviceFrom(c), Nickname: nick})
	switch {
	case errors.Is(err, devices.ErrNotFound):
		// Kratos has it, Tandem never saw it: nothing to hang a name on.
		return fieldError("unknown")
	case err != nil:
		s.logger.WarnContext(ctx, "rename: store refused", "identity_id", sess.Identity.ID, "err", err)
		return fieldError("store")
	}
	s.redirect(c, s.backToSettings(form, nil)+"#passkey-"+id.RemoveValue())
	return nil
}

// handleRevokeSession signs out one of the identity's other sessions.
// Kratos refuses a session that is not the identity's (404 here).
func (s *Server) handleRevokeSession(c *gin.Context) error {
	form, sess, err := s.accountForm(c)
	if err != nil || sess == nil {
		return err
	}
	target := form.Get("session")
	if _, perr := uuid.Parse(target); perr != nil || target == sess.ID {
		return notFound(fmt.Errorf("revoke: not another session: %q", clipForLog(target)))
	}
	if err := s.kratos.RevokeSession(c.Request.Context(), c.GetHeader("Cookie"), target); err != nil {
		var apiErr *kratosext.APIError
		if errors.As(err, &apiErr) && apiErr.Status < 500 {
			return notFound(err)
		}
		return err
	}
	s.recordRevocation(c, sess, devices.EventKey{Point: "ui-revoke", FlowID: uuid.NewString(), Nonce: target}, false)
	s.redirect(c, s.path("/settings/sessions"))
	return nil
}

// handleRevokeOthers signs out every other session.
func (s *Server) handleRevokeOthers(c *gin.Context) error {
	_, sess, err := s.accountForm(c)
	if err != nil || sess == nil {
		return err
	}
	if _, err := s.kratos.RevokeOtherSessions(c.Request.Context(), c.GetHeader("Cookie")); err != nil {
		return err
	}
	s.recordRevocation(c, sess, devices.EventKey{Point: "ui-revoke-others", FlowID: uuid.NewString()}, true)
	s.redirect(c, s.path("/settings/sessions"))
	return nil
}

// recordRevocation records it; Kratos has already ended the sessions, so
// a store failure is logged, not shown.
func (s *Server) recordRevocation(c *gin.Context, sess *kratosext.Session, key devices.EventKey, all bool) {
	_, err := s.store.RecordRevocation(c.Request.Context(), devices.Revocation{Key: key, IdentityID: sess.Identity.ID,
		DeviceID: deviceFrom(c), All: all})
	if err != nil {
		s.logger.WarnContext(c.Request.Context(), "revoke: cannot record it", "identity_id", sess.Identity.ID, "err", err)
	}
}

func notFound(err error) error {
	return &httpError{Status: http.StatusNotFound, Heading: "error.not_found.title", Message: "error.not_found.message", Err: err}
}

// handleSessions is "Where you're signed in": this session and the
// identity's others, from Kratos, each with how it signed in from
// Tandem's record.
func (s *Server) handleSessions(c *gin.Context) error {
	ctx := c.Request.Context()
	sess, err := s.kratos.Whoami(ctx, c.GetHeader("Cookie"))
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		s.redirect(c, s.kratos.BrowserFlowURL(kratosext.Login, url.Values{"return_to": {s.abs("/settings/sessions")}}))
		return nil
	case err != nil:
		return unavailable(err)
	}
	a := &account{current: sess}
	if a.others, err = s.kratos.OtherSessions(ctx, c.GetHeader("Cookie")); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("list sessions: %w", ctx.Err())
		}
		return unavailable(err)
	}
	a.events, err = s.store.ListEvents(ctx, devices.EventFilter{IdentityID: sess.Identity.ID,
		Kinds: []devices.EventKind{devices.EventLogin, devices.EventRegistration}})
	if err != nil {
		// The sessions are Kratos'; only how each signed in is lost.
		s.logger.WarnContext(ctx, "sessions: the store cannot say how each signed in", "identity_id", sess.Identity.ID, "err", err)
	}
	l := s.localeOf(c)
	page := s.sessionRows(l, a, s.device(c))
	return s.render(c, http.StatusOK, "sessions", l.T("sessions.heading"), page)
}
