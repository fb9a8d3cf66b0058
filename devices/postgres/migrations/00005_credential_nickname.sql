-- The nickname a person gives a passkey on the passkeys page. Tandem's
-- own: Kratos' display_name is the provider's name at registration and a
-- settings flow cannot change it.

-- +goose Up
ALTER TABLE credentials ADD COLUMN nickname text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE credentials DROP COLUMN nickname;
