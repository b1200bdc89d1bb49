-- Reports read by time: a sale by its close, a payment by its completion, a void by when it
-- happened, a shift by its close. Each index carries the columns the sums need, so a year of
-- a busy café is summed from the index alone (see docs/benchmarks.md, `pos bench reports`).
CREATE INDEX orders_closed_at_idx ON orders (closed_at)
    INCLUDE (subtotal, discount, service_charge, tax, total, staff_id, shift_id)
    WHERE status = 'closed';
-- The discounts report: the few discounted orders among the many, read from the index alone.
CREATE INDEX orders_discounted_closed_at_idx ON orders (closed_at)
    INCLUDE (id, number, subtotal, discount, applied_discount)
    WHERE status = 'closed' AND discount > 0;
CREATE INDEX payments_completed_at_idx ON payments (completed_at)
    INCLUDE (method, amount, tip, staff_id, shift_id)
    WHERE status IN ('completed', 'partially_refunded', 'refunded');
CREATE INDEX orders_voided_at_idx ON orders (voided_at) WHERE voided_at IS NOT NULL;
CREATE INDEX order_items_voided_at_idx ON order_items (voided_at) WHERE voided_at IS NOT NULL;
CREATE INDEX shifts_closed_at_idx ON shifts (closed_at) WHERE status = 'closed';
