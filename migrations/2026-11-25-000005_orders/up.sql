-- Orders and their items.

-- One row per business day; `UPDATE … SET last_number = last_number + 1 RETURNING` (or the
-- INSERT … ON CONFLICT equivalent) hands out numbers under the row lock, so concurrent
-- creates never collide and a rolled-back create leaves no gap.
CREATE TABLE order_number_counters (
    business_date date    PRIMARY KEY,
    last_number   integer NOT NULL,
    CONSTRAINT order_number_counters_last_number_check CHECK (last_number >= 0)
);

CREATE TABLE orders (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    business_date     date        NOT NULL,
    number            integer     NOT NULL,
    order_type        text        NOT NULL,
    table_id          uuid        REFERENCES dining_tables (id),
    staff_id          uuid        NOT NULL REFERENCES staff (id),
    terminal_id       uuid        REFERENCES terminals (id),
    shift_id          uuid        REFERENCES shifts (id),
    status            text        NOT NULL DEFAULT 'open',
    preparation_notes text,
    currency          text        NOT NULL,
    -- Snapshot of the tax and service-charge rules the order was priced with
    -- ({"vat_rate_bp", "prices_include_tax", "service_charge_bp"}): a later settings change
    -- never reprices an open order.
    pricing           jsonb       NOT NULL,
    -- The order-level discount as applied ({"discount", "reason", "by", "approved_by"}).
    applied_discount  jsonb,
    -- Computed by the domain whenever the order changes; stored for lists and reports.
    subtotal          bigint      NOT NULL DEFAULT 0,
    discount          bigint      NOT NULL DEFAULT 0,
    service_charge    bigint      NOT NULL DEFAULT 0,
    tax               bigint      NOT NULL DEFAULT 0,
    total             bigint      NOT NULL DEFAULT 0,
    paid              bigint      NOT NULL DEFAULT 0,
    -- Optimistic concurrency: every edit bumps it; a stale edit is refused with 409.
    version           integer     NOT NULL DEFAULT 1,
    merged_into_id    uuid        REFERENCES orders (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    sent_to_kitchen_at timestamptz,
    sent_to_bar_at    timestamptz,
    ready_at          timestamptz,
    served_at         timestamptz,
    closed_at         timestamptz,
    voided_at         timestamptz,
    void_reason       text,
    voided_by         uuid        REFERENCES staff (id),
    void_approved_by  uuid        REFERENCES staff (id),
    CONSTRAINT orders_business_date_number_key UNIQUE (business_date, number),
    CONSTRAINT orders_number_check CHECK (number > 0),
    CONSTRAINT orders_order_type_check CHECK (order_type IN ('dine_in', 'takeaway')),
    CONSTRAINT orders_dine_in_table_check CHECK (order_type <> 'dine_in' OR table_id IS NOT NULL),
    CONSTRAINT orders_status_check CHECK (
        status IN ('open', 'sent', 'ready', 'served', 'closed', 'voided', 'cancelled')
    ),
    CONSTRAINT orders_preparation_notes_check CHECK (length(preparation_notes) <= 500),
    CONSTRAINT orders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT orders_pricing_check CHECK (
        jsonb_typeof(pricing) = 'object'
        AND pricing ?& ARRAY['vat_rate_bp', 'prices_include_tax', 'service_charge_bp']
        AND (pricing ->> 'vat_rate_bp')::integer BETWEEN 0 AND 10000
        AND (pricing ->> 'service_charge_bp')::integer BETWEEN 0 AND 10000
        AND jsonb_typeof(pricing -> 'prices_include_tax') = 'boolean'
    ),
    CONSTRAINT orders_applied_discount_check CHECK (jsonb_typeof(applied_discount) = 'object'),
    CONSTRAINT orders_money_check CHECK (
        subtotal >= 0 AND discount >= 0 AND service_charge >= 0 AND tax >= 0 AND total >= 0 AND paid >= 0
    ),
    -- Never paid more than the total, whatever the concurrency.
    CONSTRAINT orders_paid_check CHECK (paid <= total),
    CONSTRAINT orders_version_check CHECK (version >= 1),
    CONSTRAINT orders_void_check CHECK (
        status <> 'voided' OR (voided_at IS NOT NULL AND voided_by IS NOT NULL AND void_reason IS NOT NULL)
    ),
    CONSTRAINT orders_closed_check CHECK (status <> 'closed' OR closed_at IS NOT NULL),
    -- Merging cancels the order whose items moved.
    CONSTRAINT orders_merged_check CHECK (merged_into_id IS NULL OR status = 'cancelled'),
    CONSTRAINT orders_not_merged_into_self_check CHECK (merged_into_id <> id)
);
-- Hot queries: open orders (POS, manager dashboard), live state of each table, a shift's
-- orders, a staff member's recent orders.
CREATE INDEX orders_open_idx ON orders (created_at)
    WHERE status IN ('open', 'sent', 'ready', 'served');
CREATE INDEX orders_open_by_table_idx ON orders (table_id)
    WHERE status IN ('open', 'sent', 'ready', 'served');
CREATE INDEX orders_shift_idx ON orders (shift_id);
CREATE INDEX orders_staff_created_idx ON orders (staff_id, created_at);
CREATE INDEX orders_created_at_idx ON orders (created_at);
CREATE TRIGGER orders_set_updated_at BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();

CREATE TABLE order_items (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       uuid        NOT NULL REFERENCES products (id),
    -- Snapshots at order time: later menu edits never change an order.
    name             text        NOT NULL,
    unit_price       bigint      NOT NULL,
    quantity         integer     NOT NULL,
    -- [{"modifier_id": …, "name": …, "price": …}], prices per unit.
    modifiers        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    modifiers_total  bigint      NOT NULL DEFAULT 0,
    -- An item-level discount as applied, like orders.applied_discount.
    applied_discount jsonb,
    line_total       bigint      NOT NULL DEFAULT 0,
    notes            text,
    station          text,
    status           text        NOT NULL DEFAULT 'pending',
    seat             integer,
    course           integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    preparing_at     timestamptz,
    ready_at         timestamptz,
    served_at        timestamptz,
    voided_at        timestamptz,
    void_reason      text,
    voided_by        uuid        REFERENCES staff (id),
    void_approved_by uuid        REFERENCES staff (id),
    CONSTRAINT order_items_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    CONSTRAINT order_items_unit_price_check CHECK (unit_price >= 0),
    CONSTRAINT order_items_quantity_check CHECK (quantity BETWEEN 1 AND 999),
    CONSTRAINT order_items_modifiers_check CHECK (jsonb_typeof(modifiers) = 'array'),
    CONSTRAINT order_items_modifiers_total_check CHECK (modifiers_total >= 0),
    CONSTRAINT order_items_applied_discount_check CHECK (jsonb_typeof(applied_discount) = 'object'),
    CONSTRAINT order_items_line_total_check CHECK (line_total >= 0),
    CONSTRAINT order_items_notes_check CHECK (length(notes) <= 500),
    CONSTRAINT order_items_station_check CHECK (station IN ('kitchen', 'bar')),
    CONSTRAINT order_items_status_check CHECK (
        status IN ('pending', 'sent', 'preparing', 'ready', 'served', 'voided')
    ),
    CONSTRAINT order_items_seat_check CHECK (seat BETWEEN 1 AND 255),
    CONSTRAINT order_items_course_check CHECK (course BETWEEN 1 AND 255),
    CONSTRAINT order_items_void_check CHECK (
        status <> 'voided' OR (voided_at IS NOT NULL AND void_reason IS NOT NULL)
    ),
    CONSTRAINT order_items_sent_check CHECK (status IN ('pending', 'voided') OR sent_at IS NOT NULL)
);
CREATE INDEX order_items_order_idx ON order_items (order_id);
-- Station tickets: what a KDS shows is the live items of its station.
CREATE INDEX order_items_station_tickets_idx ON order_items (station, status, sent_at)
    WHERE status IN ('sent', 'preparing', 'ready');
-- Most popular products over a window.
CREATE INDEX order_items_product_created_idx ON order_items (product_id, created_at);
CREATE TRIGGER order_items_set_updated_at BEFORE UPDATE ON order_items
    FOR EACH ROW EXECUTE FUNCTION pos_set_updated_at();
