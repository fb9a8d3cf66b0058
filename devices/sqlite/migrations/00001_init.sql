-- Tandem device metadata, SQLite dialect. Times are Unix microseconds (UTC);
-- capabilities are NULL (unknown), 1 (yes) or 0 (no). STRICT makes SQLite
-- enforce the column types.

-- +goose Up
CREATE TABLE devices (
    id              TEXT    NOT NULL PRIMARY KEY,
    class           TEXT    NOT NULL,
    os              TEXT    NOT NULL,
    browser         TEXT    NOT NULL,
    cap_webauthn    INTEGER,
    cap_platform    INTEGER,
    cap_conditional INTEGER,
    cap_hybrid      INTEGER,
    first_seen_at   INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE credentials (
    id                 TEXT    NOT NULL PRIMARY KEY, -- base64url, no padding
    identity_id        TEXT    NOT NULL,
    type               TEXT    NOT NULL,
    aaguid             TEXT    NOT NULL,
    provider_name      TEXT    NOT NULL,
    attachment         TEXT    NOT NULL,
    transports         TEXT    NOT NULL,             -- space-separated tokens
    backup_eligible    INTEGER NOT NULL,
    backup_state       INTEGER NOT NULL,
    created_device_id  TEXT    REFERENCES devices (id),
    created_on_class   TEXT    NOT NULL,
    created_on_os      TEXT    NOT NULL,
    created_on_browser TEXT    NOT NULL,
    phone_held         INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    last_used_via      TEXT    NOT NULL DEFAULT '',
    use_count          INTEGER NOT NULL DEFAULT 0,
    removed_at         INTEGER
) STRICT;
CREATE INDEX credentials_identity ON credentials (identity_id, created_at);
CREATE INDEX credentials_created_device ON credentials (created_device_id);

-- One row per device and identity: the link, with both prompts' state.
CREATE TABLE device_identities (
    device_id              TEXT    NOT NULL REFERENCES devices (id),
    identity_id            TEXT    NOT NULL,
    local_passkey          INTEGER NOT NULL DEFAULT 0,
    first_seen_at          INTEGER NOT NULL,
    last_seen_at           INTEGER NOT NULL,
    post_cda_shown_count   INTEGER NOT NULL DEFAULT 0,
    post_cda_last_shown_at INTEGER,
    post_cda_snoozed_until INTEGER,
    post_cda_never         INTEGER NOT NULL DEFAULT 0,
    post_cda_accepted_at   INTEGER,
    upgrade_shown_count    INTEGER NOT NULL DEFAULT 0,
    upgrade_last_shown_at  INTEGER,
    upgrade_snoozed_until  INTEGER,
    upgrade_never          INTEGER NOT NULL DEFAULT 0,
    upgrade_accepted_at    INTEGER,
    PRIMARY KEY (device_id, identity_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX device_identities_identity ON device_identities (identity_id, last_seen_at);

-- Events are idempotent per key; events the store writes itself
-- (credential_removed) have a NULL key, which UNIQUE never matches.
CREATE TABLE events (
    id            INTEGER NOT NULL PRIMARY KEY,
    key_point     TEXT,
    key_flow_id   TEXT,
    key_nonce     TEXT,
    kind          TEXT    NOT NULL,
    identity_id   TEXT    NOT NULL,
    device_id     TEXT    REFERENCES devices (id),
    credential_id TEXT    REFERENCES credentials (id),
    method        TEXT    NOT NULL DEFAULT '',
    via           TEXT    NOT NULL DEFAULT '',
    prompt        TEXT    NOT NULL DEFAULT '',
    at            INTEGER NOT NULL,
    UNIQUE (key_point, key_flow_id, key_nonce)
) STRICT;
CREATE INDEX events_identity ON events (identity_id, at);

CREATE TABLE observations (
    flow_id    TEXT    NOT NULL,
    device_id  TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (flow_id, device_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX observations_expiry ON observations (expires_at);

-- +goose Down
DROP TABLE observations;
DROP TABLE events;
DROP TABLE device_identities;
DROP TABLE credentials;
DROP TABLE devices;
