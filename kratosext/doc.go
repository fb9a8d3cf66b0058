// Package kratosext is Tandem's side of the Kratos API: a client that fetches
// self-service flows with the browser's cookies forwarded, the flow and UI
// node types Tandem renders, CDA-first ordering of those nodes, the WebAuthn
// ceremonies Kratos embeds in them (as go-webauthn protocol types, so they
// can be rewritten), and the web-hook wire types.
//
// It imports only the Kratos SDK and go-webauthn: nothing of Tandem's.
package kratosext
