-- Tandem device metadata, PostgreSQL dialect. Capabilities are NULL
-- (unknown), true or false.

-- +goose Up
CREATE TABLE devices (
    id              text        NOT NULL PRIMARY KEY,
    class           text        NOT NULL,
    os              text        NOT NULL,
    browser         text        NOT NULL,
    cap_webauthn    boolean,
    cap_platform    boolean,
    cap_conditional boolean,
    cap_hybrid      boolean,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL
);

CREATE TABLE credentials (
    id                 text        NOT NULL PRIMARY KEY, -- base64url, no padding
    identity_id        text        NOT NULL,
    type               text        NOT NULL,
    aaguid             text        NOT NULL,
    provider_name      text        NOT NULL,
    attachment         text        NOT NULL,
    transports         text[]      NOT NULL,
    backup_eligible    boolean     NOT NULL,
    backup_state       boolean     NOT NULL,
    created_device_id  text        REFERENCES devices (id),
    created_on_class   text        NOT NULL,
    created_on_os      text        NOT NULL,
    created_on_browser text        NOT NULL,
    phone_held         boolean     NOT NULL,
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz,
    last_used_via      text        NOT NULL DEFAULT '',
    use_count          bigint      NOT NULL DEFAULT 0,
    removed_at         timestamptz
);
CREATE INDEX credentials_identity ON credentials (identity_id, created_at);
CREATE INDEX credentials_created_device ON credentials (created_device_id);

-- One row per device and identity: the link, with both prompts' state.
CREATE TABLE device_identities (
    device_id              text        NOT NULL REFERENCES devices (id),
    identity_id            text        NOT NULL,
    local_passkey          boolean     NOT NULL DEFAULT false,
    first_seen_at          timestamptz NOT NULL,
    last_seen_at           timestamptz NOT NULL,
    post_cda_shown_count   integer     NOT NULL DEFAULT 0,
    post_cda_last_shown_at timestamptz,
    post_cda_snoozed_until timestamptz,
    post_cda_never         boolean     NOT NULL DEFAULT false,
    post_cda_accepted_at   timestamptz,
    upgrade_shown_count    integer     NOT NULL DEFAULT 0,
    upgrade_last_shown_at  timestamptz,
    upgrade_snoozed_until  timestamptz,
    upgrade_never          boolean     NOT NULL DEFAULT false,
    upgrade_accepted_at    timestamptz,
    PRIMARY KEY (device_id, identity_id)
);
CREATE INDEX device_identities_identity ON device_identities (identity_id, last_seen_at);

-- Events are idempotent per key; events the store writes itself
-- (credential_removed) have a NULL key, which UNIQUE never matches. The
-- store inserts the event first, so that a concurrent retry waits on the
-- key and then sees the duplicate; the references are therefore checked
-- at commit.
CREATE TABLE events (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_point     text,
    key_flow_id   text,
    key_nonce     text,
    kind          text        NOT NULL,
    identity_id   text        NOT NULL,
    device_id     text        REFERENCES devices (id) DEFERRABLE INITIALLY DEFERRED,
    credential_id text        REFERENCES credentials (id) DEFERRABLE INITIALLY DEFERRED,
    method        text        NOT NULL DEFAULT '',
    via           text        NOT NULL DEFAULT '',
    prompt        text        NOT NULL DEFAULT '',
    at            timestamptz NOT NULL,
    UNIQUE (key_point, key_flow_id, key_nonce)
);
CREATE INDEX events_identity ON events (identity_id, at);

CREATE TABLE observations (
    flow_id    text        NOT NULL,
    device_id  text        NOT NULL,
    data       text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (flow_id, device_id)
);
CREATE INDEX observations_expiry ON observations (expires_at);

-- +goose Down
DROP TABLE observations;
DROP TABLE events;
DROP TABLE device_identities;
DROP TABLE credentials;
DROP TABLE devices;
