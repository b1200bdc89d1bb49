-- Cash accountability: shifts, their cash movements, and the numbered Z reports that close
-- a business day.

CREATE TABLE shifts (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    staff_id             uuid        NOT NULL REFERENCES staff (id),
    terminal_id          uuid        REFERENCES terminals (id),
    currency             text        NOT NULL,
    opening_float        bigint      NOT NULL,
    counted_cash         bigint,
    -- Fixed at close: float + cash taken - change given + cash in - cash out.
    expected_cash        bigint,
    status               text        NOT NULL DEFAULT 'open',
    opened_at            timestamptz NOT NULL DEFAULT now(),
    closed_at            timestamptz,
    closed_by            uuid        REFERENCES staff (id),
    variance_approved_by uuid        REFERENCES staff (id),
    close_note           text,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shifts_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT shifts_opening_float_check CHECK (opening_float >= 0),
    CONSTRAINT shifts_counted_cash_check CHECK (counted_cash >= 0),
    CONSTRAINT shifts_status_check CHECK (status IN ('open', 'closed')),
    -- A closed shift has all of its closing figures; an open one has none.
    CONSTRAINT shifts_closed_fields_check CHECK (
        (status = 'open' AND closed_at IS NULL AND counted_cash IS NULL AND expected_cash IS NULL)
        OR (status = 'closed' AND closed_at IS NOT NULL AND counted_cash IS NOT NULL AND expected_cash IS NOT NULL)
    ),
    CONSTRAINT shifts_close_note_check CHECK (length(close_note) <= 500),
    CONSTRAINT shifts_closed_after_opened_check CHECK (closed_at >= opened_at)
);
-- A staff member has at most one open shift, whatever the concurrency.
CREATE UNIQUE INDEX shifts_one_open_per_staff ON shifts (staff_id) WHERE status = 'open';
CREATE INDEX shifts_opened_at_idx ON shifts (opened_at);
CREATE TRIGGER shifts_set_updated_at BEFORE UPDATE ON shifts
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE cash_movements (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    shift_id    uuid        NOT NULL REFERENCES shifts (id),
    kind        text        NOT NULL,
    amount      bigint      NOT NULL,
    currency    text        NOT NULL,
    reason      text        NOT NULL,
    staff_id    uuid        NOT NULL REFERENCES staff (id),
    approved_by uuid        REFERENCES staff (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cash_movements_kind_check CHECK (kind IN ('cash_in', 'cash_out')),
    CONSTRAINT cash_movements_amount_check CHECK (amount > 0),
    CONSTRAINT cash_movements_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT cash_movements_reason_check CHECK (length(btrim(reason)) BETWEEN 1 AND 500)
);
CREATE INDEX cash_movements_shift_idx ON cash_movements (shift_id, created_at);

-- Numbered (1, 2, 3 … for the venue, assigned under the unique constraint) and immutable.
CREATE TABLE z_reports (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    number        bigint      NOT NULL,
    business_date date        NOT NULL,
    currency      text        NOT NULL,
    totals        jsonb       NOT NULL,
    created_by    uuid        NOT NULL REFERENCES staff (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT z_reports_number_key UNIQUE (number),
    CONSTRAINT z_reports_business_date_key UNIQUE (business_date),
    CONSTRAINT z_reports_number_check CHECK (number > 0),
    CONSTRAINT z_reports_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT z_reports_totals_check CHECK (jsonb_typeof(totals) = 'object')
);
CREATE TRIGGER z_reports_immutable BEFORE UPDATE OR DELETE ON z_reports
    FOR EACH ROW EXECUTE FUNCTION pos_refuse_mutation();
CREATE TRIGGER z_reports_no_truncate BEFORE TRUNCATE ON z_reports
    FOR EACH STATEMENT EXECUTE FUNCTION pos_refuse_mutation();
