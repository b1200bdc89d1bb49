ALTER TABLE idempotency_records RESET (toast_tuple_target);
