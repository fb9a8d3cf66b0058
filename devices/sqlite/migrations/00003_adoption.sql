-- Adoption figures without scanning: every identity's adoption class,
-- counts per class kept in the same transactions that change credentials,
-- a daily snapshot of them, and daily tallies of the CDA funnel kept in
-- the transaction that records each event (devices/funnel.go). Days are
-- whole days since the Unix epoch, UTC. The shard column is always 0
-- here (one writer); the PostgreSQL dialect spreads hot rows over shards.

-- +goose Up
CREATE TABLE identities (
    identity_id   TEXT    NOT NULL PRIMARY KEY,
    adoption      TEXT    NOT NULL,
    first_seen_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE adoption_counts (
    class      TEXT    NOT NULL,
    shard      INTEGER NOT NULL,
    identities INTEGER NOT NULL,
    PRIMARY KEY (class, shard)
) STRICT, WITHOUT ROWID;

CREATE TABLE adoption_days (
    day        INTEGER NOT NULL,
    class      TEXT    NOT NULL,
    identities INTEGER NOT NULL,
    PRIMARY KEY (class, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE daily_counts (
    day    INTEGER NOT NULL,
    series TEXT    NOT NULL,
    a      TEXT    NOT NULL,
    b      TEXT    NOT NULL,
    shard  INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (day, series, a, b, shard)
) STRICT, WITHOUT ROWID;

-- Backfill from what the store already holds, once.
INSERT INTO identities (identity_id, adoption, first_seen_at)
SELECT ids.identity_id,
       CASE WHEN c.p AND c.l THEN 'phone_and_local' WHEN c.p THEN 'phone_only' WHEN c.l THEN 'local_only'
            WHEN c.o THEN 'other' ELSE 'none' END,
       ids.first
FROM (SELECT identity_id, min(t) AS first FROM (
        SELECT identity_id, at AS t FROM events
        UNION ALL SELECT identity_id, created_at FROM credentials) GROUP BY identity_id) ids
LEFT JOIN (SELECT identity_id,
        max(removed_at IS NULL AND phone_held = 1) AS p,
        max(removed_at IS NULL AND phone_held = 0 AND attachment = 'platform') AS l,
        max(removed_at IS NULL AND phone_held = 0 AND attachment <> 'platform') AS o
    FROM credentials GROUP BY identity_id) c ON c.identity_id = ids.identity_id;

INSERT INTO adoption_counts (class, shard, identities)
SELECT k.class, 0, (SELECT count(*) FROM identities i WHERE i.adoption = k.class)
FROM (SELECT 'phone_only' AS class UNION ALL SELECT 'phone_and_local' UNION ALL SELECT 'local_only'
      UNION ALL SELECT 'other' UNION ALL SELECT 'none') k;

INSERT INTO adoption_days (day, class, identities)
SELECT CAST(unixepoch('now') / 86400 AS INTEGER), class, identities FROM adoption_counts;

-- Sign-ups with a passkey, and passkeys added (at sign-up and in settings).
INSERT INTO daily_counts (day, series, a, b, shard, n)
SELECT e.at / 86400000000, 'signup',
       CASE WHEN c.phone_held THEN 'phone' WHEN c.attachment = 'platform' THEN 'this_device'
            WHEN c.attachment = 'cross-platform' THEN 'security_key' ELSE 'unknown' END,
       e.method, 0, count(*)
FROM events e JOIN credentials c ON c.id = e.credential_id
WHERE e.kind = 'registration' GROUP BY 1, 2, 3, 4;
INSERT INTO daily_counts (day, series, a, b, shard, n)
SELECT e.at / 86400000000, 'passkey_added',
       CASE WHEN c.phone_held THEN 'phone' WHEN c.attachment = 'platform' THEN 'this_device'
            WHEN c.attachment = 'cross-platform' THEN 'security_key' ELSE 'unknown' END,
       '', 0, count(*)
FROM events e JOIN credentials c ON c.id = e.credential_id
WHERE e.kind IN ('registration', 'settings') GROUP BY 1, 2, 3, 4;
-- Sign-ups without a passkey: the session after a password or code sign-up.
INSERT INTO daily_counts (day, series, a, b, shard, n)
SELECT at / 86400000000, 'signup', 'none', method, 0, count(*)
FROM events WHERE kind = 'login' AND key_point = 'after-registration' GROUP BY 1, 2, 3, 4;
-- Sign-ins: the plan row was not recorded before this migration.
INSERT INTO daily_counts (day, series, a, b, shard, n)
SELECT e.at / 86400000000, 'signin', 'unknown',
       CASE WHEN e.method IN ('passkey', 'webauthn') THEN
                CASE WHEN e.credential_id IS NULL THEN 'passkey' WHEN e.via = 'hybrid' THEN 'phone'
                     WHEN c.attachment = 'cross-platform' THEN 'security_key' ELSE 'this_device' END
            WHEN e.method IN ('password', 'code') THEN e.method
            WHEN e.method IN ('oidc', 'saml') THEN 'social' ELSE 'other' END,
       0, count(*)
FROM events e LEFT JOIN credentials c ON c.id = e.credential_id
WHERE e.kind = 'login' AND (e.key_point IS NULL OR e.key_point <> 'after-registration') GROUP BY 1, 2, 3, 4;
INSERT INTO daily_counts (day, series, a, b, shard, n)
SELECT at / 86400000000, 'prompt', prompt, substr(kind, 8), 0, count(*)
FROM events WHERE kind IN ('prompt_shown', 'prompt_accepted', 'prompt_snoozed', 'prompt_refused') GROUP BY 1, 2, 3, 4;
INSERT INTO daily_counts (day, series, a, b, shard, n)
SELECT at / 86400000000, 'passkey_removed', '', '', 0, count(*)
FROM events WHERE kind = 'credential_removed' GROUP BY 1;

-- +goose Down
DROP TABLE daily_counts;
DROP TABLE adoption_days;
DROP TABLE adoption_counts;
DROP TABLE identities;
