package ui

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// planRefresh is the CDA plan of a re-authentication (Kratos' login
// ?refresh=true: an OAuth2 client's prompt=login or max_age, or a settings
// change that needs a recent sign-in). The identity is the session's, so
// the plan is the identified one at once: on a desktop, the passkey
// request is narrowed to the passkeys on a phone (the QR code straight
// away), with this computer's own passkey as the second choice; never a
// QR code for someone without a phone passkey. When Tandem knows nothing
// to narrow to, Kratos' own request (every passkey of the identity)
// stands.
func (s *Server) planRefresh(c *gin.Context, dev devices.Device, ceremonies map[kratosext.CeremonyKind]*kratosext.Ceremony) *loginPlan {
	cer := ceremonies[kratosext.PasskeyLogin]
	if cer == nil || dev.Class.Mobile() {
		return nil
	}
	ctx := c.Request.Context()
	sess, err := s.kratos.Whoami(ctx, c.GetHeader("Cookie"))
	if err != nil {
		if !errors.Is(err, kratosext.ErrNoSession) {
			s.logger.WarnContext(ctx, "refresh plan: whoami", "err", err)
		}
		return nil
	}
	creds, err := s.store.ListCredentials(ctx, sess.Identity.ID, devices.CredentialFilter{})
	if err != nil {
		s.logger.WarnContext(ctx, "refresh plan: list credentials", "identity_id", sess.Identity.ID, "err", err)
		return nil
	}
	local := false
	if link, err := s.store.GetLink(ctx, dev.ID, sess.Identity.ID); err == nil {
		local = link.LocalPasskey
	}
	plan := devices.PlanLogin(devices.LoginInput{Device: dev, Identified: true, Credentials: creds, LocalPasskey: local})
	if plan.Passkey == nil {
		return nil
	}
	v := viewLoginPlan(plan)
	// The identity is known: the button asks at once.
	v.Flow = devices.LoginPasskeyButton
	cer.Plan = v.Passkey
	if v.ThisComputer != nil {
		cer.Choices = map[string]*kratosext.Plan{choiceThisComputer: v.ThisComputer}
	}
	return v
}
