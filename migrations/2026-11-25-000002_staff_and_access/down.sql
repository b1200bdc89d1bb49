DROP TABLE audit_log;
DROP TABLE account_locks;
DROP TABLE login_attempts;
DROP TABLE terminals;
DROP TABLE staff;
