-- Courses: items of a later course are sent with the order but held until the waiter
-- fires their course; a held item is not at a station yet (no sent_at, no stock moved).
ALTER TABLE order_items DROP CONSTRAINT order_items_status_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_status_check CHECK (
    status IN ('pending', 'held', 'sent', 'preparing', 'ready', 'served', 'voided')
);
ALTER TABLE order_items DROP CONSTRAINT order_items_sent_check;
ALTER TABLE order_items ADD CONSTRAINT order_items_sent_check CHECK (
    status IN ('pending', 'held', 'voided') OR sent_at IS NOT NULL
);
