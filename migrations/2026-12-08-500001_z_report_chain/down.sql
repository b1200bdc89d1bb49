DROP INDEX z_reports_hash_key;
ALTER TABLE z_reports
    DROP CONSTRAINT z_reports_hash_check,
    DROP CONSTRAINT z_reports_period_check,
    DROP COLUMN hash,
    DROP COLUMN prev_hash,
    DROP COLUMN period_end,
    DROP COLUMN period_start;
