DROP INDEX payments_staff_idx;
ALTER TABLE payments DROP COLUMN tip;
