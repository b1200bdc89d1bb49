-- Tips are the staff's, not the venue's sales: kept beside the payment's amount (which
-- settles the order's balance) so reports can show them apart and per staff member.
ALTER TABLE payments ADD COLUMN tip bigint NOT NULL DEFAULT 0;
ALTER TABLE payments ADD CONSTRAINT payments_tip_check CHECK (tip >= 0);
CREATE INDEX payments_staff_idx ON payments (staff_id);
