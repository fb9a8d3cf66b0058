-- When Kratos last listed a credential for its identity. The web hooks
-- trust a recorded credential without asking Kratos only for a while after
-- it (hooks.trust_recorded_for). Rows recorded before this column existed
-- were verified when they were created.

-- +goose Up
ALTER TABLE credentials ADD COLUMN verified_at INTEGER;
UPDATE credentials SET verified_at = created_at;

-- +goose Down
ALTER TABLE credentials DROP COLUMN verified_at;
