-- Devices that never signed in are deleted after a while
-- (Store.DeleteUnusedDevices): find them by last sight, and let the
-- foreign-key check on events find a device's events without a scan.
-- +goose Up
CREATE INDEX devices_last_seen ON devices (last_seen_at);
CREATE INDEX events_device ON events (device_id);

-- +goose Down
DROP INDEX events_device;
DROP INDEX devices_last_seen;
