package ui

// buildVerification words the e-mail verification page: an address, then
// the code Kratos sent to it.
func (s *Server) buildVerification(in flowInput) (flowPage, error) {
	p, err := s.assemble(in, arrangement{})
	if err != nil {
		return p, err
	}
	l := in.l
	p.Heading, p.Lead = l.T("verification.heading"), l.T("verification.lead")
	p.Links = []link{{l.T("common.back_to_account"), s.path("/welcome")}}
	return p, nil
}
