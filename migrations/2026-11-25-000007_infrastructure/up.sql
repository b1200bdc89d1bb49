-- Plumbing every feature leans on: idempotency, the event log, print jobs, backups.

-- Spec §4. The row is inserted (status_code NULL = in progress) in the same transaction as
-- the effect and completed with the response before commit; a concurrent duplicate blocks
-- on the primary key and then replays or answers 409.
CREATE TABLE idempotency_records (
    staff_id      uuid        NOT NULL REFERENCES staff (id),
    key           text        NOT NULL,
    fingerprint   text        NOT NULL,
    status_code   integer,
    response_body bytea,
    content_type  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    PRIMARY KEY (staff_id, key),
    CONSTRAINT idempotency_records_key_check CHECK (length(key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_records_status_code_check CHECK (status_code BETWEEN 100 AND 599)
);
-- Purging keys older than the retention window.
CREATE INDEX idempotency_records_created_at_idx ON idempotency_records (created_at);

-- The append-only log: its id is the SSE `id:` a client resumes from. The id sequence must
-- keep CACHE 1 (the default): readers rely on ids being drawn in time order (see
-- pos-postgres EventFollower).
CREATE TABLE events (
    id          bigserial   PRIMARY KEY,
    event_type  text        NOT NULL,
    topic       text        NOT NULL,
    station     text,
    payload     jsonb       NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_type_check CHECK (length(event_type) BETWEEN 1 AND 100),
    CONSTRAINT events_topic_check CHECK (length(topic) BETWEEN 1 AND 50),
    CONSTRAINT events_station_check CHECK (station IN ('kitchen', 'bar'))
);
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION pos_refuse_mutation();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION pos_refuse_mutation();

CREATE TABLE print_jobs (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind           text        NOT NULL,
    printer        text        NOT NULL,
    order_id       uuid        REFERENCES orders (id),
    shift_id       uuid        REFERENCES shifts (id),
    paper          text        NOT NULL DEFAULT '80mm',
    status         text        NOT NULL DEFAULT 'queued',
    attempts       integer     NOT NULL DEFAULT 0,
    payload_text   text        NOT NULL,
    payload_escpos bytea       NOT NULL,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    claimed_at     timestamptz,
    printed_at     timestamptz,
    CONSTRAINT print_jobs_kind_check CHECK (
        kind IN ('receipt', 'kitchen_ticket', 'bar_ticket', 'shift_report', 'z_report')
    ),
    CONSTRAINT print_jobs_printer_check CHECK (length(btrim(printer)) BETWEEN 1 AND 80),
    CONSTRAINT print_jobs_paper_check CHECK (paper IN ('58mm', '80mm')),
    CONSTRAINT print_jobs_status_check CHECK (status IN ('queued', 'printing', 'printed', 'failed')),
    CONSTRAINT print_jobs_attempts_check CHECK (attempts >= 0),
    CONSTRAINT print_jobs_printed_check CHECK (status <> 'printed' OR printed_at IS NOT NULL)
);
-- What a print agent polls: its printer's unfinished jobs, oldest first.
CREATE INDEX print_jobs_pending_idx ON print_jobs (printer, created_at)
    WHERE status IN ('queued', 'printing');
CREATE INDEX print_jobs_order_idx ON print_jobs (order_id);
CREATE TRIGGER print_jobs_set_updated_at BEFORE UPDATE ON print_jobs
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE backups (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL,
    size_bytes bigint      NOT NULL,
    sha256     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- NULL when made by `pos backup` or the schedule rather than by a person.
    created_by uuid        REFERENCES staff (id),
    CONSTRAINT backups_name_key UNIQUE (name),
    CONSTRAINT backups_name_check CHECK (name ~ '^[A-Za-z0-9._-]{1,200}$'),
    CONSTRAINT backups_size_bytes_check CHECK (size_bytes >= 0),
    CONSTRAINT backups_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$')
);
