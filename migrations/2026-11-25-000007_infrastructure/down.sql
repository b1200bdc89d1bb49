DROP TABLE backups;
DROP TABLE print_jobs;
DROP TABLE events;
DROP TABLE idempotency_records;
