-- Money in and back out.

CREATE TABLE payments (
    id                         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id                   uuid        NOT NULL REFERENCES orders (id),
    method                     text        NOT NULL,
    amount                     bigint      NOT NULL,
    currency                   text        NOT NULL,
    -- Cash only: what the customer handed over and what went back.
    tendered                   bigint,
    change_given               bigint,
    status                     text        NOT NULL DEFAULT 'pending',
    -- Hand-recorded mobile money / card slip reference.
    reference                  text,
    -- Pesapal: its OrderTrackingId (unique: an IPN resolves to exactly one payment).
    provider_tracking_id       text,
    provider_confirmation_code text,
    provider_payment_method    text,
    redirect_url               text,
    failure_reason             text,
    refunded_amount            bigint      NOT NULL DEFAULT 0,
    staff_id                   uuid        NOT NULL REFERENCES staff (id),
    shift_id                   uuid        REFERENCES shifts (id),
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    completed_at               timestamptz,
    failed_at                  timestamptz,
    CONSTRAINT payments_method_check CHECK (method IN ('cash', 'card', 'mtn_momo', 'airtel_money', 'pesapal')),
    CONSTRAINT payments_amount_check CHECK (amount > 0),
    CONSTRAINT payments_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT payments_tendered_check CHECK (tendered IS NULL OR tendered >= amount),
    CONSTRAINT payments_change_check CHECK (
        (tendered IS NULL AND change_given IS NULL) OR change_given = tendered - amount
    ),
    CONSTRAINT payments_status_check CHECK (
        status IN ('pending', 'completed', 'failed', 'partially_refunded', 'refunded')
    ),
    -- Never refunded more than was paid, whatever the concurrency.
    CONSTRAINT payments_refunded_amount_check CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    CONSTRAINT payments_refunded_status_check CHECK (
        (status = 'refunded' AND refunded_amount = amount)
        OR (status = 'partially_refunded' AND refunded_amount > 0 AND refunded_amount < amount)
        OR (status NOT IN ('refunded', 'partially_refunded') AND refunded_amount = 0)
    ),
    CONSTRAINT payments_completed_check CHECK (
        status NOT IN ('completed', 'partially_refunded', 'refunded') OR completed_at IS NOT NULL
    )
);
CREATE UNIQUE INDEX payments_provider_tracking_id_key ON payments (provider_tracking_id)
    WHERE provider_tracking_id IS NOT NULL;
CREATE INDEX payments_order_idx ON payments (order_id);
CREATE INDEX payments_shift_idx ON payments (shift_id);
CREATE INDEX payments_created_at_idx ON payments (created_at);
-- The poller that confirms online payments which never got an IPN.
CREATE INDEX payments_pending_idx ON payments (created_at) WHERE status = 'pending';
CREATE TRIGGER payments_set_updated_at BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE refunds (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    payment_id  uuid        NOT NULL REFERENCES payments (id),
    amount      bigint      NOT NULL,
    currency    text        NOT NULL,
    reason      text        NOT NULL,
    staff_id    uuid        NOT NULL REFERENCES staff (id),
    approved_by uuid        REFERENCES staff (id),
    shift_id    uuid        REFERENCES shifts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_amount_check CHECK (amount > 0),
    CONSTRAINT refunds_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT refunds_reason_check CHECK (length(btrim(reason)) BETWEEN 1 AND 500)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
CREATE INDEX refunds_created_at_idx ON refunds (created_at);
