DROP INDEX IF EXISTS products_category_idx;
DROP TABLE IF EXISTS stock_movements;
ALTER TABLE settings
    DROP CONSTRAINT IF EXISTS settings_kds_late_minutes_check,
    DROP CONSTRAINT IF EXISTS settings_kds_warning_minutes_check,
    DROP COLUMN IF EXISTS kds_late_minutes,
    DROP COLUMN IF EXISTS kds_warning_minutes;
