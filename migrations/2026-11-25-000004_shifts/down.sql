DROP TABLE z_reports;
DROP TABLE cash_movements;
DROP TABLE shifts;
