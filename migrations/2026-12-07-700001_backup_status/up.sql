-- A failed backup is recorded too (no file, the reason kept), so an operator sees that the
-- schedule or a click did not produce a backup; only `ok` rows have a file and a checksum.
ALTER TABLE backups
    ADD COLUMN status text NOT NULL DEFAULT 'ok',
    ADD COLUMN error text,
    ADD COLUMN trigger text NOT NULL DEFAULT 'api',
    ALTER COLUMN sha256 DROP NOT NULL,
    DROP CONSTRAINT backups_sha256_check,
    ADD CONSTRAINT backups_sha256_check CHECK (sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT backups_status_check CHECK (status IN ('ok', 'failed')),
    ADD CONSTRAINT backups_trigger_check CHECK (trigger IN ('api', 'cli', 'schedule')),
    ADD CONSTRAINT backups_ok_has_checksum_check CHECK (status <> 'ok' OR sha256 IS NOT NULL);
-- Retention and "age of the last good backup" read by time.
CREATE INDEX backups_created_at_idx ON backups (created_at);
