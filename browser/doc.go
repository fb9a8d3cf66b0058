// Package browser holds what Tandem knows about the browser on the other
// end of a request, shared by the UI and the web hooks: the signed cookie
// that names a browser profile (a "device"), the classification of its
// User-Agent and client hints, and the report tandem.js sends after a
// WebAuthn ceremony.
//
// It sits between the domain (devices, which does no I/O and knows no
// HTTP) and the two servers (ui, hooks), which both need the same answers:
// the UI sets the cookie and reads the report first-hand, the hooks get
// both back through Kratos.
package browser
