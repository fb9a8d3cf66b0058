// Package devices is Tandem's memory of what Kratos does not record: which
// passkey lives on which device, how each was last used (across devices over
// WebAuthn hybrid, or locally), which browser profile already holds a local
// passkey, and who dismissed which prompt.
//
// The package holds the vocabulary and nothing that does I/O or knows HTTP:
//
//   - the domain types: [Credential], [Device], [Link] (a device–identity
//     pair with its prompt state), [Event] and [Observation];
//   - the [Store] interface, implemented by devices/sqlite (the embedded
//     default) and devices/postgres (for several replicas), both checked by
//     the one contract suite in devices/storetest;
//   - [CredentialID], the canonical encoding of Kratos credential ids, with
//     parsers for the three encodings Kratos uses;
//   - the CDA-first policy: [PlanSignUp], [PlanLogin], [DecidePostCDAPrompt]
//     and [DecideUpgradePrompt], pure functions the UI calls to decide what
//     to offer on this device;
//   - [ProviderName], the AAGUID → passkey-provider table.
//
// How a browser is recognised (its signed cookie, its User-Agent, what its
// page reports) is package browser's.
//
// Kratos stays the source of truth for identities and credentials; Tandem
// only stores metadata about credentials Kratos has verified, never a secret.
package devices
