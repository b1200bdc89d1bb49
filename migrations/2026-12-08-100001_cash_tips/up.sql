-- A cash tip is handed over with the bill: the tendered cash covers amount + tip and the
-- change is what is left of it after both.
ALTER TABLE payments DROP CONSTRAINT payments_tendered_check;
ALTER TABLE payments ADD CONSTRAINT payments_tendered_check
    CHECK (tendered IS NULL OR tendered >= amount + tip);
ALTER TABLE payments DROP CONSTRAINT payments_change_check;
ALTER TABLE payments ADD CONSTRAINT payments_change_check CHECK (
    (tendered IS NULL AND change_given IS NULL) OR change_given = tendered - amount - tip
);
