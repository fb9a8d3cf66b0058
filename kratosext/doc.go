// Package kratosext is Tandem's side of the Kratos API: a client that fetches
// self-service flows with the browser's cookies forwarded, the flow and UI
// node types Tandem renders, CDA-first ordering of those nodes, the WebAuthn
// ceremonies Kratos embeds in them (as go-webauthn protocol types, so they
// can be rewritten), and the web-hook wire types.
//
// Two ways of calling Kratos live side by side, each where it pays:
//
//   - Lean decoding (client.go, admin.go) for the calls on a hot path: a
//     flow, whoami and an error on every page render (make bench-ui), and
//     an identity's credentials in the after-login web hook (make
//     bench-hooks). One decode into Tandem's own types, with the v2 JSON
//     decoder; kratos-client-go parses each flow three times.
//   - kratos-client-go (sdk.go) for everything else: finding an identity
//     by identifier, listing and revoking sessions, logout flows and the
//     courier. Its types follow Kratos' API, and none of these calls is
//     made more than once per user action.
//
// Both report failures the same way: *APIError for an answer Kratos gave,
// wrapping ErrNoSession, ErrFlowGone or ErrUnavailable, and ErrTimeout or
// ErrUnavailable when it gave none. No error carries a query string: the
// URL a transport error names is redacted, because the admin look-up by
// identifier puts the e-mail address there, and errors end up in logs.
//
// It imports only the Kratos SDK and go-webauthn: nothing of Tandem's.
package kratosext
