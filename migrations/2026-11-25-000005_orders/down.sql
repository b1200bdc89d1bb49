DROP TABLE order_items;
DROP TABLE orders;
DROP TABLE order_number_counters;
