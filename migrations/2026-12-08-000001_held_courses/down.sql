UPDATE order_items SET status = 'pending' WHERE status = 'held';
ALTER TABLE order_items DROP CONSTRAINT order_items_sent_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_sent_check CHECK (
    status IN ('pending', 'voided') OR sent_at IS NOT NULL
);
ALTER TABLE order_items DROP CONSTRAINT order_items_status_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_status_check CHECK (
    status IN ('pending', 'sent', 'preparing', 'ready', 'served', 'voided')
);
