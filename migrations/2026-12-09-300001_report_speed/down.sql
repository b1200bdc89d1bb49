DROP INDEX refunds_shift_idx;
DROP INDEX order_items_discounted_idx;
DROP TABLE item_sales_hourly;
