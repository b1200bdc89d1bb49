DROP INDEX backups_created_at_idx;
DELETE FROM backups WHERE status <> 'ok';
ALTER TABLE backups
    DROP CONSTRAINT backups_ok_has_checksum_check,
    DROP CONSTRAINT backups_trigger_check,
    DROP CONSTRAINT backups_status_check,
    DROP CONSTRAINT backups_sha256_check,
    ALTER COLUMN sha256 SET NOT NULL,
    ADD CONSTRAINT backups_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    DROP COLUMN trigger,
    DROP COLUMN error,
    DROP COLUMN status;
