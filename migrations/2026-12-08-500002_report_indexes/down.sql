DROP INDEX shifts_closed_at_idx;
DROP INDEX order_items_voided_at_idx;
DROP INDEX orders_voided_at_idx;
DROP INDEX payments_completed_at_idx;
DROP INDEX orders_discounted_closed_at_idx;
DROP INDEX orders_closed_at_idx;
