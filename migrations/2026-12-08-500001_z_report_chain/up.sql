-- A Z report covers everything since the previous one (period_start = the previous
-- report's period_end) and is chained like the audit log: prev_hash is the previous
-- report's hash (64 zeros for number 1), hash = SHA-256(prev_hash || canonical content),
-- computed by pos-domain::z_report::chain_hash. The table stays append-only (trigger).
ALTER TABLE z_reports
    ADD COLUMN period_start timestamptz NOT NULL,
    ADD COLUMN period_end   timestamptz NOT NULL,
    ADD COLUMN prev_hash    text        NOT NULL,
    ADD COLUMN hash         text        NOT NULL,
    ADD CONSTRAINT z_reports_period_check CHECK (period_end >= period_start),
    ADD CONSTRAINT z_reports_hash_check CHECK (hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$');
CREATE UNIQUE INDEX z_reports_hash_key ON z_reports (hash);
