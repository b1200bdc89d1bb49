-- Back-office editing (issue 11 item 1): KDS timer thresholds in the settings, a record of
-- every stock count and adjustment, and an index to find a category's products.

ALTER TABLE settings
    ADD COLUMN kds_warning_minutes integer NOT NULL DEFAULT 10,
    ADD COLUMN kds_late_minutes    integer NOT NULL DEFAULT 20,
    ADD CONSTRAINT settings_kds_warning_minutes_check CHECK (kds_warning_minutes BETWEEN 1 AND 240),
    ADD CONSTRAINT settings_kds_late_minutes_check
        CHECK (kds_late_minutes BETWEEN 1 AND 480 AND kds_late_minutes > kds_warning_minutes);

-- One row per stock count (`count`), adjustment (`adjust`) or end of tracking (`untrack`)
-- made in the back office; sends move stock through the order units and their events.
CREATE TABLE stock_movements (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id  uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    kind        text        NOT NULL,
    delta       integer     NOT NULL,
    stock_after integer,
    reason      text        NOT NULL,
    staff_id    uuid        REFERENCES staff (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_movements_kind_check CHECK (kind IN ('count', 'adjust', 'untrack')),
    CONSTRAINT stock_movements_reason_check CHECK (length(btrim(reason)) BETWEEN 1 AND 200),
    CONSTRAINT stock_movements_stock_after_check CHECK (stock_after >= 0)
);
CREATE INDEX stock_movements_product_idx ON stock_movements (product_id, created_at DESC);

-- "Which products use this category?" when one is deleted (retired products too).
CREATE INDEX products_category_idx ON products (category_id);
