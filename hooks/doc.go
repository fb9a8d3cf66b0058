// Package hooks receives Ory Kratos web hooks.
//
// Receiver is the reusable part: an http.Handler for POST /hooks/{point}
// that authenticates Kratos' API key in constant time (in Authorization:
// Bearer, the one header Kratos keeps out of its log), answers within a
// deadline shorter than Kratos' own, accepts only bounded JSON bodies,
// decodes the payload hooks/body.jsonnet produces (kratosext.HookPayload)
// and hands each delivery to a Func. Any Go service that consumes Kratos
// hooks can mount it; see the example.
//
// Recorder is Tandem's Func: it joins what the browser reported about a
// WebAuthn ceremony with what Kratos verified and records credentials,
// devices and events in the devices store, idempotently, because Kratos
// retries deliveries. A sign-in naming a credential Tandem recorded for
// the identity, and Kratos listed recently, is recorded without asking
// Kratos' admin API again; Recorder's doc says why that is safe. New
// assembles Tandem's whole listener: the receiver with the recorder, and
// the admin JSON API under /admin/.
package hooks
