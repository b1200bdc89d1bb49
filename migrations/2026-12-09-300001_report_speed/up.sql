-- Items sold per product per UTC hour of close: the product and category reports over a
-- year of a busy café read this instead of joining 500,000 orders to a million items.
-- The order store keeps it in the transaction that closes an order
-- (crates/postgres/src/store/reports/rollup.rs); no foreign key, so a deleted product's
-- sales still add up.
CREATE TABLE item_sales_hourly (
    hour timestamptz NOT NULL,
    product_id uuid NOT NULL,
    quantity bigint NOT NULL,
    gross bigint NOT NULL,
    sales bigint NOT NULL,
    PRIMARY KEY (hour, product_id)
);

INSERT INTO item_sales_hourly (hour, product_id, quantity, gross, sales)
SELECT date_trunc('hour', o.closed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', i.product_id,
       sum(i.quantity)::bigint, sum((i.unit_price + i.modifiers_total) * i.quantity)::bigint,
       sum(i.line_total)::bigint
FROM orders o JOIN order_items i ON i.order_id = o.id
WHERE o.status = 'closed' AND i.status <> 'voided'
GROUP BY 1, 2;

-- The discounts report looks up each discounted order's first discounted line: among a
-- year's million lines only those few are in this index.
CREATE INDEX order_items_discounted_idx ON order_items (order_id)
    WHERE applied_discount IS NOT NULL AND status <> 'voided';

-- A shift's drawer (X report, close, the shifts list) sums its refunds by shift.
CREATE INDEX refunds_shift_idx ON refunds (shift_id);
