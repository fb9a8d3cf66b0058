package ui

// buildRecovery words the account recovery page: an e-mail address, then
// the code Kratos sent to it.
func (s *Server) buildRecovery(in flowInput) (flowPage, error) {
	p, err := s.assemble(in, arrangement{})
	if err != nil {
		return p, err
	}
	l := in.l
	p.Heading, p.Lead = l.T("recovery.heading"), l.T("recovery.lead")
	p.Links = []link{{l.T("common.back_to_sign_in"), s.path("/login")}}
	return p, nil
}
